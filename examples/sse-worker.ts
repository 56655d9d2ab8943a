/**
 * Server-sent events worker written with the SDK: `GET /events` streams one `tick` event per second.
 * Each event reaches the client as it is produced (the router streams, it does not buffer), and the
 * ticker stops when the client leaves (the request's AbortSignal). `?count=N` ends after N ticks.
 *
 *   node --import tsx examples/sse-worker.ts
 *   curl -N http://127.0.0.1:8080/events
 *
 * Any other path is echoed: under `npm start` it shares the default pool with the echo worker, and
 * the handler with it (examples/default-pool.ts).
 */
import { createWorker } from '../worker-sdk/src/index.ts';
import { connect, handler, pool } from './default-pool.ts';

const worker = createWorker({ connect, pool, handler });

await worker.ready;
console.log(JSON.stringify({ msg: 'sse worker ready', workerId: worker.id, connect }));
