/**
 * The SDK worker the bench puts behind the router: answers exactly what the fastify backend answers
 * (payloads.ts) through the SDK's low-level `onStream` API — plain objects, no WHATWG
 * Request/Response, the fastest path the SDK offers.
 *
 * Usage: node --import tsx bench/sdk-worker.ts --connect <endpoint[,endpoint…]> [--capacity N] [--delay-ms MS]
 * `--delay-ms` makes GET /1kb wait that long (a timer, no CPU) before answering: the scaling
 * scenario's stand-in for a backend doing I/O, so throughput is capacity × workers / delay.
 * Logs pino JSON on stdout like `zeroproxy worker` ("worker registered" on WELCOME).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { createWorker, type Stream } from '../worker-sdk/src/index.ts';
import { ECHO_BODY_BYTES, ECHO_PATH, SMALL_PATH, STREAM_PATH, smallBody, streamBytesFromPath, streamChunk } from './payloads.ts';

const { values } = parseArgs({
  options: {
    connect: { type: 'string' },
    capacity: { type: 'string', default: '256' },
    'delay-ms': { type: 'string', default: '0' },
  },
});
const capacity = Number(values.capacity);
const delayMs = Number(values['delay-ms']);
if (values.connect === undefined || !Number.isInteger(capacity) || capacity < 1 || !Number.isInteger(delayMs) || delayMs < 0 || delayMs > 60_000) {
  process.stderr.write('usage: sdk-worker.ts --connect <endpoint> [--capacity N] [--delay-ms 0..60000]\n');
  process.exit(2);
}

const small = smallBody();
const chunk = streamChunk();
const smallHeaders = ['content-type', 'text/plain', 'content-length', String(small.length)];
/** Echo bodies are bounded like the backend's bodyLimit, so a bad client cannot grow memory. */
const ECHO_LIMIT = Math.max(1024 * 1024, ECHO_BODY_BYTES * 2);

async function echo(stream: Stream): Promise<void> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const part of stream.body) {
    size += part.length;
    if (size > ECHO_LIMIT) {
      stream.respond(413, { 'content-type': 'text/plain' });
      await stream.end('body too large\n');
      return;
    }
    parts.push(part);
  }
  const body = Buffer.concat(parts, size);
  stream.respond(200, ['content-type', 'application/octet-stream', 'content-length', String(size)]);
  await stream.end(body);
}

async function download(stream: Stream): Promise<void> {
  const bytes = streamBytesFromPath(stream.path);
  if (bytes === undefined) {
    stream.respond(400, { 'content-type': 'text/plain' });
    await stream.end('bytes must be an integer 0..4 GiB\n');
    return;
  }
  stream.respond(200, ['content-type', 'application/octet-stream', 'content-length', String(bytes)]);
  let left = bytes;
  // write() waits for the router's window: back-pressure, not buffering.
  while (left > chunk.length && !stream.closed) {
    await stream.write(chunk);
    left -= chunk.length;
  }
  if (!stream.closed) await stream.end(chunk.subarray(0, left));
}

async function onStream(stream: Stream): Promise<void> {
  const path = stream.path.split('?', 1)[0];
  if (stream.method === 'GET' && path === SMALL_PATH) {
    if (delayMs > 0) await sleep(delayMs);
    if (stream.closed) return;
    stream.respond(200, smallHeaders);
    await stream.end(small);
  } else if (stream.method === 'POST' && path === ECHO_PATH) {
    await echo(stream);
  } else if (stream.method === 'GET' && path === STREAM_PATH) {
    await download(stream);
  } else {
    stream.respond(404, { 'content-type': 'text/plain' });
    await stream.end('not found\n');
  }
}

// handleSignals (default): SIGTERM → drain, BYE, exit 0 — the bench stops it that way.
createWorker({ connect: values.connect.split(','), onStream, capacity, drainTimeoutMs: 2000 });
