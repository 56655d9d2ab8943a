/**
 * Server-sent events worker written with the SDK: `GET /events` streams one `tick` event per second.
 * Each event reaches the client as it is produced (the router streams, it does not buffer), and the
 * ticker stops when the client leaves (the request's AbortSignal). `?count=N` ends after N ticks.
 *
 *   node --import tsx examples/sse-worker.ts
 *   curl -N http://127.0.0.1:8080/events
 *
 * Any other path is echoed: under `npm start` it shares the default pool with the echo worker.
 */
import { createWorker } from '../worker-sdk/src/index.ts';
import { echoResponse } from './echo-response.ts';
import { tickEventsResponse } from './tick-events.ts';

const connect = (process.env['ZEROPROXY_CONNECT'] ?? 'tcp://127.0.0.1:5555').split(',');
const tickMs = Number(process.env['SSE_TICK_MS'] ?? 1000);

const worker = createWorker({
  connect,
  pool: process.env['ZEROPROXY_POOL'] ?? 'default',
  handler(request, ctx) {
    if (new URL(request.url).pathname === '/events') return tickEventsResponse(request, ctx.signal, ctx.workerId, tickMs);
    return echoResponse(request, ctx);
  },
});

await worker.ready;
console.log(JSON.stringify({ msg: 'sse worker ready', workerId: worker.id, connect }));
