/**
 * Seeded randomness for the property tests: a PRNG whose seed is printed on failure, and generators
 * of random *valid* protocol messages of every type (every field within SPEC §4 limits).
 * Set ZP_FUZZ_SEED=<n> to replay a failing run.
 */
import {
  ERROR_CODES,
  Limits,
  MessageCode,
  RST_CODES,
  type HeaderList,
  type Message,
  type MessageType,
} from '../../proto/src/index.ts';

export interface Rng {
  readonly seed: number;
  /** Uniform float in [0, 1). */
  next(): number;
  /** Uniform integer in [min, max] (inclusive). */
  int(min: number, max: number): number;
  pick<T>(items: readonly T[]): T;
  bytes(n: number): Buffer;
}

/** mulberry32: tiny, fast, good enough to spread test inputs. */
export function createRng(seed: number = Number(process.env.ZP_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 32))): Rng {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  const int = (min: number, max: number): number => min + Math.floor(next() * (max - min + 1));
  return {
    seed,
    next,
    int,
    pick: <T>(items: readonly T[]): T => items[int(0, items.length - 1)]!,
    bytes: (n: number): Buffer => {
      // Four bytes per draw: large random bodies would otherwise dominate the suite's run time.
      const b = Buffer.alloc(n);
      let i = 0;
      for (; i + 4 <= n; i += 4) b.writeUInt32LE(Math.floor(next() * 2 ** 32), i);
      for (; i < n; i++) b[i] = int(0, 255);
      return b;
    },
  };
}

// Mixed 1-, 2-, 3- and 4-byte UTF-8 characters, so byte limits (not character counts) are exercised.
const CHARS = ['a', 'Z', '0', '/', '-', '_', ' ', '~', 'é', 'ß', 'Ж', '中', '€', '😀', '\u0000', '\n'];

/** A random string of at most maxBytes UTF-8 bytes and at least minLength characters. */
function str(rng: Rng, maxBytes: number, minLength = 0): string {
  const target = rng.next() < 0.1 ? maxBytes : rng.int(minLength, Math.min(maxBytes, 40));
  let s = '';
  let bytes = 0;
  while (s.length < minLength || bytes < target) {
    const c = rng.next() < 0.7 ? rng.pick(CHARS.slice(0, 8)) : rng.pick(CHARS);
    const n = Buffer.byteLength(c);
    if (bytes + n > maxBytes) {
      if (s.length >= minLength) break;
      continue;
    }
    s += c;
    bytes += n;
  }
  return s;
}

function uint(rng: Rng, min: number, max: number): number {
  const r = rng.next();
  if (r < 0.1) return min;
  if (r < 0.2) return max;
  if (r < 0.5) return rng.int(min, Math.min(max, min + 300));
  return rng.int(min, max);
}

function headers(rng: Rng): HeaderList {
  const n = rng.next() < 0.02 ? Limits.maxHeaderFields : rng.int(0, 12);
  const out: HeaderList = [];
  for (let i = 0; i < n; i++) out.push(str(rng, 20, 1).toLowerCase(), str(rng, 60));
  return out;
}

function body(rng: Rng): Buffer {
  const r = rng.next();
  if (r < 0.3) return Buffer.alloc(0);
  if (r < 0.35) return rng.bytes(rng.int(60_000, 70_000));
  return rng.bytes(rng.int(1, 2048));
}

export const ALL_TYPES = Object.keys(MessageCode) as MessageType[];

/** A random message of `type` whose every field is within the SPEC limits. */
export function randomMessage(rng: Rng, type: MessageType): Message {
  const u32 = Limits.maxUint32;
  switch (type) {
    case 'HELLO': {
      const meta: Record<string, string> = {};
      for (let i = rng.int(0, 6); i > 0; i--) meta[str(rng, 20, 1)] = str(rng, 40);
      return {
        type, nonce: uint(rng, 0, u32), workerId: str(rng, 255, 1), epoch: str(rng, 255, 1),
        versions: Array.from({ length: rng.int(1, 16) }, () => uint(rng, 1, 0xffff)), pool: str(rng, 255, 1),
        capacity: uint(rng, 0, 1_000_000), window: uint(rng, 1, Limits.maxWindow), meta,
      };
    }
    case 'WELCOME':
      return {
        type, nonce: uint(rng, 0, u32), routerId: str(rng, 255, 1), epoch: str(rng, 255, 1), version: uint(rng, 1, 0xffff),
        heartbeatMs: uint(rng, 10, 3_600_000), window: uint(rng, 1, Limits.maxWindow), maxFrame: uint(rng, 1024, Limits.maxBodyBytes),
      };
    case 'CREDIT':
      return { type, credit: rng.next() < 0.5 ? uint(rng, 0, 1_000_000) : -uint(rng, 1, 1_000_000) };
    case 'HEARTBEAT':
      return { type, epoch: str(rng, 255, 1) };
    case 'DRAIN':
      return { type, lastStream: uint(rng, 0, u32) };
    case 'BYE':
      return { type, reason: str(rng, 1024) };
    case 'REQ':
      return {
        type, stream: uint(rng, 1, u32), seq: uint(rng, 0, u32), method: str(rng, 64, 1), scheme: str(rng, 16, 1),
        authority: str(rng, 1024), path: str(rng, 2048, 1), headers: headers(rng), remote: str(rng, 128),
        requestId: str(rng, 200), timeoutMs: uint(rng, 0, u32), fin: rng.next() < 0.5, body: body(rng),
      };
    case 'DATA':
      return { type, stream: uint(rng, 1, u32), seq: uint(rng, 0, u32), fin: rng.next() < 0.5, body: body(rng) };
    case 'RES':
      return {
        type, stream: uint(rng, 1, u32), seq: uint(rng, 0, u32), status: uint(rng, 100, 999), headers: headers(rng),
        fin: rng.next() < 0.5, body: body(rng),
      };
    case 'WINDOW':
      return { type, stream: uint(rng, 1, u32), seq: uint(rng, 0, u32), increment: uint(rng, 1, Limits.maxWindow) };
    case 'RST':
      return { type, stream: uint(rng, 1, u32), code: rng.pick(RST_CODES), message: str(rng, 1024) };
    case 'ERROR':
      return { type, code: rng.pick(ERROR_CODES), message: str(rng, 1024) };
  }
}
