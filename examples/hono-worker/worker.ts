/**
 * The Hono app of app.ts served by zeroproxy: Hono's `app.fetch` IS a fetch-style handler, so it
 * is passed as it is.
 *
 *   node --import tsx examples/hono-worker/worker.ts                       # tcp://127.0.0.1:5555
 *   ZEROPROXY_CONNECT=dns:zeroproxy-routers:5555 node --import tsx examples/hono-worker/worker.ts
 *
 * (or, with no code at all: `zeroproxy worker --connect … --handler examples/hono-worker/handler.ts`)
 * SIGTERM / Ctrl-C drains: in-flight requests finish, then the worker says BYE and exits 0.
 */
import { createWorker } from '../../worker-sdk/src/index.ts';
import { app } from './app.ts';

const connect = (process.env['ZEROPROXY_CONNECT'] ?? 'tcp://127.0.0.1:5555').split(',');
const worker = createWorker({ connect, pool: process.env['ZEROPROXY_POOL'] ?? 'default', handler: app.fetch });

await worker.ready;
// One JSON line, like the CLI's logs, so scripts and tests can tell it is up.
console.log(JSON.stringify({ msg: 'hono worker ready', workerId: worker.id, connect }));
