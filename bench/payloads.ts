/**
 * What every system under test serves, in one place so the fastify backend and the SDK worker
 * answer byte-for-byte the same thing (and the correctness checks know what to expect).
 */

/** GET: a constant 1 KB body. */
export const SMALL_PATH = '/1kb';
export const SMALL_BODY_BYTES = 1024;
/** POST: the body is echoed back. */
export const ECHO_PATH = '/echo';
export const ECHO_BODY_BYTES = 64 * 1024;
/** GET: a streamed body of `?bytes=N` bytes (default and ceiling below). */
export const STREAM_PATH = '/stream';
export const STREAM_DEFAULT_BYTES = 100 * 1024 * 1024;
export const STREAM_MAX_BYTES = 4 * 1024 * 1024 * 1024;
/** Chunk size the streaming download is produced in. */
export const STREAM_CHUNK_BYTES = 64 * 1024;

export function smallBody(): Buffer {
  return Buffer.alloc(SMALL_BODY_BYTES, 'x');
}

/** One chunk reused for every write: it is never mutated, so sharing it is safe. */
export function streamChunk(): Buffer {
  return Buffer.alloc(STREAM_CHUNK_BYTES, 'z');
}

/** Parses `?bytes=N` from a path; the default when absent; undefined when invalid or too large. */
export function streamBytesFromPath(pathWithQuery: string): number | undefined {
  const query = pathWithQuery.includes('?') ? pathWithQuery.slice(pathWithQuery.indexOf('?') + 1) : '';
  const raw = new URLSearchParams(query).get('bytes');
  if (raw === null) return STREAM_DEFAULT_BYTES;
  if (!/^\d{1,12}$/.test(raw)) return undefined;
  const bytes = Number(raw);
  return bytes <= STREAM_MAX_BYTES ? bytes : undefined;
}
