/**
 * The fastify backend every target ends at (run as its own process by the bench):
 * GET /1kb → 1 KB, POST /echo → the body back, GET /stream?bytes=N → N bytes streamed.
 * Prints one JSON line `{"msg":"backend listening","port":N}` once it accepts connections.
 *
 * Usage: node --import tsx bench/backend-server.ts [port]   (0 or absent = ephemeral)
 */
import { Readable } from 'node:stream';
import Fastify from 'fastify';
import { ECHO_BODY_BYTES, ECHO_PATH, SMALL_PATH, STREAM_PATH, smallBody, streamBytesFromPath, streamChunk } from './payloads.ts';

/** A readable that pushes the same chunk until `total` bytes were produced (no per-chunk allocation). */
function repeatStream(chunk: Buffer, total: number): Readable {
  let left = total;
  return new Readable({
    read() {
      if (left <= 0) {
        this.push(null);
        return;
      }
      const piece = left >= chunk.length ? chunk : chunk.subarray(0, left);
      left -= piece.length;
      this.push(piece);
    },
  });
}

const port = Number(process.argv[2] ?? '0');
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write(`backend: bad port "${process.argv[2]}"\n`);
  process.exit(2);
}

const small = smallBody();
const chunk = streamChunk();
// Echo bodies are small and bounded: buffer them (a real app would too); 1 MB leaves room.
const app = Fastify({ logger: false, bodyLimit: Math.max(1024 * 1024, ECHO_BODY_BYTES * 2) });
app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

app.get(SMALL_PATH, (_req, reply) => {
  reply.header('content-type', 'text/plain').send(small);
});
app.post(ECHO_PATH, (req, reply) => {
  const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
  reply.header('content-type', 'application/octet-stream').send(body);
});
app.get(STREAM_PATH, (req, reply) => {
  const bytes = streamBytesFromPath(req.url);
  if (bytes === undefined) {
    reply.code(400).send('bytes must be an integer 0..4 GiB\n');
    return;
  }
  reply.header('content-type', 'application/octet-stream').header('content-length', String(bytes)).send(repeatStream(chunk, bytes));
});

const shutdown = (): void => {
  app.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);

await app.listen({ host: '127.0.0.1', port });
const address = app.server.address();
const actualPort = typeof address === 'object' && address !== null ? address.port : port;
process.stdout.write(JSON.stringify({ msg: 'backend listening', port: actualPort }) + '\n');
