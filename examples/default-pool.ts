/**
 * What the two SDK example workers (echo-worker.ts, sse-worker.ts) share. Under `npm start` both
 * join the default pool, and the router has no per-path routing to pools yet: every worker of a pool
 * must answer all of the pool's routes. So both serve `GET /events` (the SSE tick stream) and echo
 * every other request.
 *
 *   ZEROPROXY_CONNECT  comma-separated router endpoints (default tcp://127.0.0.1:5555)
 *   ZEROPROXY_POOL     the pool to join (default `default`)
 *   SSE_TICK_MS        milliseconds between ticks on `/events` (default 1000)
 */
import type { FetchHandler } from '../worker-sdk/src/index.ts';
import { echoResponse } from './echo-response.ts';
import { tickEventsResponse } from './tick-events.ts';

export const connect = (process.env['ZEROPROXY_CONNECT'] ?? 'tcp://127.0.0.1:5555').split(',');
export const pool = process.env['ZEROPROXY_POOL'] ?? 'default';
const tickMs = Number(process.env['SSE_TICK_MS'] ?? 1000);

export const handler: FetchHandler = (request, ctx) => {
  if (new URL(request.url).pathname === '/events') return tickEventsResponse(request, ctx.signal, ctx.workerId, tickMs);
  return echoResponse(request, ctx);
};
