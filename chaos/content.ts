/**
 * What every chaos response must be, computed from the request alone, so the client can check each
 * body byte for byte (a mismatch is `wrong-body`) without either side buffering a whole body.
 *
 * Bodies are windows into one fixed pseudo-random table, starting at an offset derived from the
 * request's seed: generating a chunk is a copy, and two requests with different seeds get different
 * bytes, so another request's data can never pass for this one's.
 */

/** Odd, not a power of two: windows of different seeds do not line up on round strides. */
const TABLE_SIZE = 1024 * 1024 + 7;
/** Streamed bodies leave in chunks of this size (handler and backend alike). */
export const CHUNK_BYTES = 64 * 1024;

function buildTable(): Buffer {
  const table = Buffer.allocUnsafe(TABLE_SIZE);
  let x = 0x2545f491; // xorshift32: fixed seed, the same table in every process
  for (let i = 0; i < TABLE_SIZE; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    table[i] = x & 0xff;
  }
  return table;
}

/** Built once per process and never written again: read-only data, not mutable state. */
const TABLE = buildTable();

function startOf(seed: number): number {
  return Math.imul(seed >>> 0, 0x9e3779b1) >>> 0;
}

/** Bytes [offset, offset + length) of the body for `seed`. */
export function contentBytes(seed: number, offset: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  let pos = (startOf(seed) + offset) % TABLE_SIZE;
  let written = 0;
  while (written < length) {
    const n = Math.min(length - written, TABLE_SIZE - pos);
    TABLE.copy(out, written, pos, pos + n);
    written += n;
    pos = 0;
  }
  return out;
}

/** The request paths both the SDK handler and the node:http backend serve. */
export const PATHS = {
  /** GET, small body of `bytes` answered in one piece. */
  get: '/chaos/get',
  /** GET, a large body of `bytes` streamed in CHUNK_BYTES pieces. */
  stream: '/chaos/stream',
  /** POST, answers POST_PREFIX(seed) followed by the request body, verbatim. */
  post: '/chaos/post',
  /** POST of any size, read as a stream (pausing `delay` ms after every SINK_PAUSE_EVERY bytes): answers JSON { bytes, sha256 }. */
  sink: '/chaos/sink',
} as const;

/** The largest body a chaos request may ask for (memory-check streams 1 GiB). */
export const MAX_BYTES = 4 * 1024 * 1024 * 1024;
/** A slow sink pauses after every this many bytes. */
export const SINK_PAUSE_EVERY = 8 * 1024 * 1024;

/** The first bytes of a POST answer: ties the echoed body to the request that sent it. */
export function postPrefix(seed: number): Buffer {
  return Buffer.from(`seed:${seed >>> 0}\n`);
}

/** Longest think time a request may ask for (`delay`, ms): keeps requests in flight when workers die. */
export const MAX_DELAY_MS = 10_000;

export interface ParsedChaosRequest {
  kind: 'get' | 'stream' | 'post' | 'sink';
  seed: number;
  bytes: number;
  /** Think time before answering (ms). */
  delayMs: number;
}

/** Reads a chaos request's path; null for anything else (the server answers 404). */
export function parseChaosPath(pathAndQuery: string): ParsedChaosRequest | null {
  const url = new URL(pathAndQuery, 'http://chaos.invalid');
  const seed = Number(url.searchParams.get('seed'));
  const bytes = Number(url.searchParams.get('bytes') ?? 0);
  const delayMs = Number(url.searchParams.get('delay') ?? 0);
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) return null;
  if (!Number.isInteger(bytes) || bytes < 0 || bytes > MAX_BYTES) return null;
  if (!Number.isInteger(delayMs) || delayMs < 0 || delayMs > MAX_DELAY_MS) return null;
  if (url.pathname === PATHS.get) return { kind: 'get', seed, bytes, delayMs };
  if (url.pathname === PATHS.stream) return { kind: 'stream', seed, bytes, delayMs };
  if (url.pathname === PATHS.post) return { kind: 'post', seed, bytes, delayMs };
  if (url.pathname === PATHS.sink) return { kind: 'sink', seed, bytes, delayMs };
  return null;
}

/** One JSON line on stdout per request a server sees: a request id seen twice was retried. */
export function logSeen(requestId: string, server: string): void {
  process.stdout.write(`${JSON.stringify({ msg: 'chaos request', requestId, server })}\n`);
}
