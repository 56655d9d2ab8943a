/**
 * WebSocket echo worker: a fetch-style handler module for the CLI.
 *
 *   zeroproxy router --http 8080 --bind tcp://127.0.0.1:5555
 *   zeroproxy worker --connect tcp://127.0.0.1:5555 --handler examples/websocket-echo.ts
 *   npx wscat -c ws://127.0.0.1:8080/echo -s echo     # or any WebSocket client
 *
 * Every text message comes back as "echo: <text>", binary messages come back unchanged, and the
 * subprotocol "echo" is chosen when the client offers it. A plain HTTP request gets a short hint.
 * The router terminates the client's WebSocket; this worker sees whole messages. On SIGTERM the
 * worker closes its sockets with 1001 ("worker draining") so clients reconnect to another worker.
 */
import { isWebSocketRequest, upgradeWebSocket, type FetchContext } from '../worker-sdk/src/index.ts';

export default function handler(request: Request, ctx: FetchContext): Response {
  if (!isWebSocketRequest(request)) {
    return new Response('connect with a WebSocket client, e.g. ws://<router>/echo\n', { headers: { 'content-type': 'text/plain; charset=utf-8' } });
  }
  const offered = (request.headers.get('sec-websocket-protocol') ?? '').split(',').map((p) => p.trim());
  const { socket, response } = upgradeWebSocket(request, offered.includes('echo') ? { protocol: 'echo' } : {});
  socket.on('open', () => void socket.send(`hello from ${ctx.workerId}`).catch(() => {}));
  socket.on('message', (data: Buffer, isBinary: boolean) => {
    // A send that fails because the socket closed meanwhile needs no handling: 'close' reports it.
    socket.send(isBinary ? data : `echo: ${data.toString('utf8')}`, { binary: isBinary }).catch(() => {});
  });
  return response;
}
