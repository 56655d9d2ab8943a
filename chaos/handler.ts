/**
 * The chaos SDK worker's handler (`zeroproxy worker --handler chaos/handler.ts`): answers the chaos
 * paths (content.ts) with bodies the client can verify, names itself in `x-worker-id`, and logs each
 * request it sees so the harness can count retries (a request id seen by two workers).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { createHash } from 'node:crypto';
import type { FetchHandler } from '../worker-sdk/src/index.ts';
import { CHUNK_BYTES, contentBytes, logSeen, parseChaosPath, postPrefix, SINK_PAUSE_EVERY, type ParsedChaosRequest } from './content.ts';

async function readBody(request: Request): Promise<Buffer> {
  return Buffer.from(await request.arrayBuffer());
}

/** Reads the body as a stream, hashing it; a slow consumer when `delayMs` > 0 (pauses between reads). */
async function sink(request: Request, parsed: ParsedChaosRequest, signal: AbortSignal): Promise<Response> {
  const hash = createHash('sha256');
  let bytes = 0;
  let nextPause = SINK_PAUSE_EVERY;
  if (request.body) {
    for await (const chunk of request.body as unknown as AsyncIterable<Uint8Array>) {
      hash.update(chunk);
      bytes += chunk.byteLength;
      if (parsed.delayMs > 0 && bytes >= nextPause) {
        nextPause += SINK_PAUSE_EVERY;
        await sleep(parsed.delayMs, undefined, { signal });
      }
    }
  }
  return Response.json({ bytes, sha256: hash.digest('hex') });
}

function streamBody(seed: number, total: number, signal: AbortSignal): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream<Uint8Array>({
    // pull: the next chunk is made only when the window lets the previous one go.
    pull(controller) {
      if (signal.aborted || offset >= total) return controller.close();
      const n = Math.min(CHUNK_BYTES, total - offset);
      controller.enqueue(contentBytes(seed, offset, n));
      offset += n;
    },
  });
}

const handler: FetchHandler = async (request, ctx) => {
  const url = new URL(request.url);
  const parsed = parseChaosPath(url.pathname + url.search);
  const headers = { 'content-type': 'application/octet-stream', 'x-worker-id': ctx.workerId };
  if (parsed === null) return new Response('not a chaos path\n', { status: 404, headers });
  logSeen(ctx.requestId, ctx.workerId);
  if (parsed.kind === 'sink') return sink(request, parsed, ctx.signal);
  if (parsed.delayMs > 0) await sleep(parsed.delayMs, undefined, { signal: ctx.signal });
  switch (parsed.kind) {
    case 'get':
      return new Response(contentBytes(parsed.seed, 0, parsed.bytes), { headers });
    case 'stream':
      return new Response(streamBody(parsed.seed, parsed.bytes, ctx.signal), {
        headers: { ...headers, 'content-length': String(parsed.bytes) },
      });
    case 'post': {
      const body = await readBody(request);
      return new Response(Buffer.concat([postPrefix(parsed.seed), body]), { headers });
    }
  }
};

export default handler;
