/**
 * Sharded key-value worker: each worker keeps the keys the router's shard plugin sends it, in its own
 * memory — so a key is only found on its owner, which is what makes "keys stay put" visible.
 *
 *   PUT /kv/<key>  (body = value)  → 201, stored here
 *   GET /kv/<key>                  → 200 value, or 404 if this worker does not hold it
 *   GET /kv                        → JSON list of the keys this worker holds
 *
 *   ZEROPROXY_CONNECT=tcp://127.0.0.1:5555 KV_ID=kv-1 node --import tsx examples/sharded-kv/worker.ts
 */
import { createWorker } from '../../worker-sdk/src/index.ts';

/** Keys one worker holds at most: a demo store must not grow without bound. */
const MAX_KEYS = 100_000;
const MAX_VALUE_BYTES = 64 * 1024;

const store = new Map<string, string>();
const connect = (process.env['ZEROPROXY_CONNECT'] ?? 'tcp://127.0.0.1:5555').split(',');
const id = process.env['KV_ID'];

const text = (status: number, body: string, workerId: string): Response =>
  new Response(body, { status, headers: { 'content-type': 'text/plain', 'x-worker-id': workerId } });

const worker = createWorker({
  connect,
  pool: process.env['ZEROPROXY_POOL'] ?? 'kv',
  ...(id !== undefined ? { id } : {}),
  async handler(request, ctx) {
    const { pathname } = new URL(request.url);
    if (pathname === '/kv') return Response.json([...store.keys()], { headers: { 'x-worker-id': ctx.workerId } });
    const m = /^\/kv\/([^/]{1,200})$/.exec(pathname);
    if (m === null) return text(404, 'use /kv/<key>\n', ctx.workerId);
    const key = decodeURIComponent(m[1]!);
    if (request.method === 'PUT') {
      const value = await request.text();
      if (value.length > MAX_VALUE_BYTES) return text(413, 'value too large\n', ctx.workerId);
      if (!store.has(key) && store.size >= MAX_KEYS) return text(507, 'store full\n', ctx.workerId);
      store.set(key, value);
      return text(201, 'stored\n', ctx.workerId);
    }
    const value = store.get(key);
    return value === undefined ? text(404, 'not here\n', ctx.workerId) : text(200, value, ctx.workerId);
  },
});

await worker.ready;
console.log(JSON.stringify({ msg: 'kv worker ready', workerId: worker.id }));
