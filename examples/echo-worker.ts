/**
 * Echo worker written with the SDK: answers every request with what it received, as JSON.
 *
 *   node --import tsx examples/echo-worker.ts            # connects to tcp://127.0.0.1:5555
 *   ZEROPROXY_CONNECT=ipc:///tmp/zp.sock node --import tsx examples/echo-worker.ts
 *
 * It shares the default pool with examples/sse-worker.ts under `npm start`, and the router has no
 * per-path routing to pools yet: every worker of a pool must answer the pool's routes, so this one
 * also serves `/events` (the same SSE stream). That handler lives in examples/default-pool.ts.
 *
 * SIGTERM / Ctrl-C drains: in-flight requests finish, then the worker says BYE and exits 0.
 */
import { createWorker } from '../worker-sdk/src/index.ts';
import { connect, handler, pool } from './default-pool.ts';

const worker = createWorker({ connect, pool, handler });

await worker.ready;
// One JSON line, like the CLI's logs, so scripts (examples/start.ts, tests) can tell it is up.
console.log(JSON.stringify({ msg: 'echo worker ready', workerId: worker.id, connect }));
