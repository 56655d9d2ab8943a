/**
 * CURVE keys (ZeroMQ RFC 26) as zeromq.js takes them: 40-character Z85 strings (RFC 32).
 * Protocol-level code shared by the worker SDK, the router and `zeroproxy keygen` (so neither imports
 * the other): encode/decode Z85, derive a public
 * key from a secret one (so a key file only needs the secret), and read key files.
 *
 * Why derive: libzmq's zmq_curve_public() is not exposed by zeromq.js, but a CURVE public key is
 * X25519(secret, base point), which node:crypto computes from a PKCS#8 wrapping of the raw secret.
 */
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';

/** Z85 alphabet (RFC 32). */
const Z85_CHARS = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#';
const Z85_VALUES: readonly number[] = (() => {
  const values = new Array<number>(128).fill(-1);
  for (let i = 0; i < Z85_CHARS.length; i++) values[Z85_CHARS.charCodeAt(i)] = i;
  return values;
})();

/** A CURVE key is 32 bytes = 40 Z85 characters. */
export const CURVE_KEY_BYTES = 32;
export const CURVE_KEY_Z85_LENGTH = 40;

/** DER prefix of a PKCS#8 X25519 private key; the 32 raw key bytes follow. */
const PKCS8_X25519_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

/** A key that is not 40 Z85 characters (or a key file without one). */
export class CurveKeyError extends Error {
  readonly code = 'ZP_ERR_CURVE_KEY';
  constructor(message: string) {
    super(message);
    this.name = 'CurveKeyError';
  }
}

export interface CurveKeyPair {
  publicKey: string;
  secretKey: string;
}

export function z85Encode(bytes: Uint8Array): string {
  if (bytes.length % 4 !== 0) throw new CurveKeyError('Z85 input length must be a multiple of 4');
  let out = '';
  for (let i = 0; i < bytes.length; i += 4) {
    let value = ((bytes[i]! << 24) | (bytes[i + 1]! << 16) | (bytes[i + 2]! << 8) | bytes[i + 3]!) >>> 0;
    const chunk = new Array<string>(5);
    for (let k = 4; k >= 0; k--) {
      chunk[k] = Z85_CHARS[value % 85]!;
      value = Math.floor(value / 85);
    }
    out += chunk.join('');
  }
  return out;
}

export function z85Decode(text: string): Buffer {
  if (text.length % 5 !== 0) throw new CurveKeyError('Z85 text length must be a multiple of 5');
  const out = Buffer.alloc((text.length / 5) * 4);
  for (let i = 0, o = 0; i < text.length; i += 5, o += 4) {
    let value = 0;
    for (let k = 0; k < 5; k++) {
      const code = text.charCodeAt(i + k);
      const digit = code < 128 ? Z85_VALUES[code]! : -1;
      if (digit < 0) throw new CurveKeyError(`invalid Z85 character ${JSON.stringify(text[i + k])}`);
      value = value * 85 + digit;
    }
    if (value > 0xffffffff) throw new CurveKeyError('Z85 group out of range');
    out.writeUInt32BE(value, o);
  }
  return out;
}

/** Checks that `key` is a 40-character Z85 CURVE key and returns it (trimmed). */
export function parseCurveKey(key: string, what = 'key'): string {
  const trimmed = key.trim();
  if (trimmed.length !== CURVE_KEY_Z85_LENGTH) throw new CurveKeyError(`${what} must be ${CURVE_KEY_Z85_LENGTH} Z85 characters, got ${trimmed.length}`);
  z85Decode(trimmed); // throws on a bad character
  return trimmed;
}

/** The public key belonging to a Z85 secret key. */
export function curvePublicKey(secretKey: string): string {
  const raw = z85Decode(parseCurveKey(secretKey, 'secret key'));
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_X25519_PREFIX, raw]), format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  return z85Encode(spki.subarray(spki.length - CURVE_KEY_BYTES));
}

/**
 * The key in a key file: the first line that is not empty and not a `#` comment. Key files written
 * by `zeroproxy keygen` hold one key and a comment.
 */
export function readKeyFile(path: string, what = 'key file'): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new CurveKeyError(`cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const line = keyLines(text)[0];
  if (line === undefined) throw new CurveKeyError(`${what} ${path} holds no key`);
  return parseCurveKey(line, `${what} ${path}`);
}

/** The key lines of a text (empty lines and `#` comments skipped, whitespace trimmed). */
export function keyLines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0 && !l.startsWith('#'));
}

/** A keypair from a secret key file (the public half derived). */
export function readSecretKeyPair(path: string): CurveKeyPair {
  const secretKey = readKeyFile(path, 'secret key file');
  return { secretKey, publicKey: curvePublicKey(secretKey) };
}

/**
 * `value` is the path of a file holding a key, or a Z85 key itself. An existing file wins: a path
 * can be 40 characters of the Z85 alphabet too.
 */
export function keyOrKeyFile(value: string, what: string): string {
  if (existsSync(value)) return readKeyFile(value, what);
  if (value.trim().length === CURVE_KEY_Z85_LENGTH) return parseCurveKey(value, what);
  return readKeyFile(value, what); // fails with "cannot read …", the likelier mistake
}
