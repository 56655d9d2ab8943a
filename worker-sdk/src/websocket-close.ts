/**
 * The WebSocket close payload (RFC 6455 §5.5.1) as carried in a DATA op `close` body: empty (no
 * code), or a 2-byte big-endian code followed by a UTF-8 reason, 125 bytes at most in all.
 */

/** What a close without a code reports (RFC 6455 §7.4.1: "no status received"). */
export const CLOSE_NO_STATUS = 1005;
/** What a socket that ended without a close handshake reports (RST, router lost). */
export const CLOSE_ABNORMAL = 1006;
export const CLOSE_GOING_AWAY = 1001;
export const CLOSE_TOO_BIG = 1009;
export const CLOSE_INTERNAL = 1011;
export const CLOSE_PROTOCOL = 1002;

const MAX_REASON_BYTES = 123;

/** Codes an endpoint may put on the wire (RFC 6455 §7.4; 1004–1006 and 1015 are reserved). */
export function isSendableCloseCode(code: number): boolean {
  return Number.isInteger(code) && ((code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999));
}

/** Builds a close payload; throws RangeError on a code that may not be sent or a reason over 123 bytes. */
export function encodeClose(code: number | undefined, reason = ''): Buffer {
  if (code === undefined) {
    if (reason !== '') throw new RangeError('a close reason needs a close code');
    return Buffer.alloc(0);
  }
  if (!isSendableCloseCode(code)) throw new RangeError(`invalid WebSocket close code ${code}`);
  const text = Buffer.from(reason, 'utf8');
  if (text.length > MAX_REASON_BYTES) throw new RangeError(`close reason is ${text.length} bytes; at most ${MAX_REASON_BYTES}`);
  const out = Buffer.allocUnsafe(2 + text.length);
  out.writeUInt16BE(code, 0);
  text.copy(out, 2);
  return out;
}

/** Reads a close payload; null when it is malformed (one byte, or an unsendable code). */
export function decodeClose(body: Buffer): { code: number; reason: string } | null {
  if (body.length === 0) return { code: CLOSE_NO_STATUS, reason: '' };
  if (body.length < 2 || body.length > 125) return null;
  const code = body.readUInt16BE(0);
  if (!isSendableCloseCode(code)) return null;
  return { code, reason: body.toString('utf8', 2) };
}
