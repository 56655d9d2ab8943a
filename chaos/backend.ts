/**
 * The node:http backend behind the chaos run's `--forward` bridge workers: the same paths and bodies
 * as handler.ts. Run as its own process (it must outlive every bridge the harness kills); prints
 * `{"msg":"backend listening","url":…}` once ready and exits on SIGTERM.
 */
import http from 'node:http';
import { CHUNK_BYTES, contentBytes, logSeen, parseChaosPath, postPrefix, type ParsedChaosRequest } from './content.ts';

function writeStream(res: http.ServerResponse, seed: number, total: number): void {
  let offset = 0;
  const pump = (): void => {
    while (offset < total) {
      const n = Math.min(CHUNK_BYTES, total - offset);
      const more = res.write(contentBytes(seed, offset, n));
      offset += n;
      if (!more) {
        res.once('drain', pump); // paced by the bridge: never buffer the whole body
        return;
      }
    }
    res.end();
  };
  pump();
}

const server = http.createServer((req, res) => {
  const parsed = parseChaosPath(req.url ?? '/');
  if (parsed === null || parsed.kind === 'sink') {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not a chaos path\n');
    return;
  }
  const requestId = String(req.headers['x-request-id'] ?? '');
  logSeen(requestId, 'backend');
  res.on('error', () => undefined); // a bridge killed mid-response: nothing to do
  if (parsed.delayMs > 0) {
    const timer = setTimeout(() => answer(req, res, parsed), parsed.delayMs);
    res.once('close', () => clearTimeout(timer));
  } else {
    answer(req, res, parsed);
  }
});

function answer(req: http.IncomingMessage, res: http.ServerResponse, parsed: ParsedChaosRequest): void {
  if (res.destroyed) return;
  if (parsed.kind === 'post') {
    const chunks: Buffer[] = [postPrefix(parsed.seed)];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('error', () => res.destroy());
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(Buffer.concat(chunks)));
    return;
  }
  req.resume();
  if (parsed.kind === 'get') {
    res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(contentBytes(parsed.seed, 0, parsed.bytes));
    return;
  }
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(parsed.bytes) });
  writeStream(res, parsed.seed, parsed.bytes);
}

server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  process.stdout.write(`${JSON.stringify({ msg: 'backend listening', url: `http://127.0.0.1:${port}` })}\n`);
});
process.once('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
