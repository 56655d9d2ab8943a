/**
 * An "existing" HTTP server that knows nothing of zeroproxy: plain node:http on 127.0.0.1:$APP_PORT
 * (default 3000). examples/bridge/run.sh puts it behind the router, unchanged.
 */
import { createServer } from 'node:http';

const port = Number(process.env['APP_PORT'] ?? 3000);

const server = createServer((req, res) => {
  if (req.url === '/health') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('ok\n');
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json', 'x-app': 'bridge-example' });
    res.end(
      JSON.stringify({
        app: 'plain node:http server',
        method: req.method,
        url: req.url,
        forwardedFor: req.headers['x-forwarded-for'] ?? null,
        requestId: req.headers['x-request-id'] ?? null,
        bodyBytes: Buffer.concat(chunks).length,
      }) + '\n',
    );
  });
});

server.listen(port, '127.0.0.1', () => console.log(JSON.stringify({ msg: 'app listening', url: `http://127.0.0.1:${port}` })));
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => server.close(() => process.exit(0)));
