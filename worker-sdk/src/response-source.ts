/**
 * Reading a handler's Response cheaply (the idea of @hono/node-server's `src/response.ts`).
 *
 * A Response made from a string, bytes, URLSearchParams or `Response.json()` keeps what it was made
 * from in undici's internal state (`state.body.source`); reading that instead of the body stream
 * saves a ReadableStream read per request. It is undici's private layout, so it is checked once on a
 * probe Response; when the check fails, or for any other body (streams, Blobs, FormData), the SDK
 * reads the body stream as any consumer would.
 */
import type { HeaderList } from '../../proto/src/index.ts';

interface UndiciBodyState {
  body?: { source?: unknown; length?: unknown } | null;
}

/** Returns the bytes a Response was built from, or null when they must be read from its stream. */
export type SourceReader = (res: Response) => Buffer | null;

const NO_SOURCE: SourceReader = () => null;

function stateSymbol(): symbol | null {
  try {
    const probe = new Response('probe');
    for (const sym of Object.getOwnPropertySymbols(probe)) {
      if (sym.description !== 'state') continue;
      const body = (probe as unknown as Record<symbol, UndiciBodyState | undefined>)[sym]?.body;
      return body?.source === 'probe' ? sym : null;
    }
  } catch {
    // not undici's Response: use the stream
  }
  return null;
}

/** Builds the reader once per worker; falls back to "always the stream" if undici's layout changed. */
export function sourceReader(): SourceReader {
  const sym = stateSymbol();
  if (!sym) return NO_SOURCE;
  return (res) => {
    // Read or locked by the handler: the source no longer says what is left to send.
    if (res.bodyUsed || res.body?.locked !== false) return null;
    const body = (res as unknown as Record<symbol, UndiciBodyState | undefined>)[sym]?.body;
    if (!body) return null;
    const source = body.source;
    let bytes: Buffer | null = null;
    if (typeof source === 'string') bytes = Buffer.from(source);
    else if (source instanceof Uint8Array) {
      // Reading the body stream would transfer (detach) this very buffer while ZeroMQ may still be
      // sending it zero-copy; locking the stream (a reader nobody reads) keeps anyone from doing so.
      res.body?.getReader();
      bytes = Buffer.from(source.buffer, source.byteOffset, source.byteLength);
    }
    // undici records the body's byte length next to its source; a mismatch means a layout we do not know.
    if (bytes && typeof body.length === 'number' && body.length !== bytes.length) return null;
    return bytes;
  };
}

/** Response headers as a flat list: names lower-case, each Set-Cookie on its own (Headers iteration). */
export function responseHeaders(res: Response): HeaderList {
  const out: HeaderList = [];
  res.headers.forEach((value, name) => out.push(name, value));
  return out;
}
