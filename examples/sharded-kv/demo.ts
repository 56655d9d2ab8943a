/**
 * Keys stay put while workers join and leave: starts a router with config.yaml and three kv
 * workers, writes 30 keys, then stops one worker and starts another, and shows which keys moved.
 *
 *   node --import tsx examples/sharded-kv/demo.ts
 *
 * Only the departed worker's keys move (and are gone with its memory); the newcomer takes about a
 * quarter of the keys from the others. Prints one JSON summary line ("demo done") at the end.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startRouter } from '../../router/src/index.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const tmp = mkdtempSync(path.join(os.tmpdir(), 'zp-kv-'));
const bind = `ipc://${path.join(tmp, 'kv.sock')}`;
const router = await startRouter({ httpHost: '127.0.0.1', httpPort: 0, bind, configFile: path.join(here, 'config.yaml'), logLevel: 'warn', id: 'kv-router' });
const children = new Map<string, ChildProcess>();

/** Starts a worker process and resolves when it says it is ready (bounded). */
function startWorker(id: string): Promise<void> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(here, 'worker.ts')], {
    env: { ...process.env, ZEROPROXY_CONNECT: bind, KV_ID: id },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.set(id, child);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${id} did not start in 30 s`)), 30_000);
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      if (chunk.includes('kv worker ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}

/** How long a stopped worker may take to drain before SIGKILL. */
const STOP_GRACE_MS = 10_000;

async function stopWorker(id: string): Promise<void> {
  const child = children.get(id)!;
  children.delete(id);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM'); // drains and says BYE: the router drops it at once
  // A worker that does not drain in time is killed: the demo never waits forever.
  const killer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
  await exited;
  clearTimeout(killer);
}

async function call(method: string, key: string, body?: string): Promise<{ status: number; worker: string }> {
  const res = await fetch(`${router.httpUrl}/kv/${key}`, { method, body, signal: AbortSignal.timeout(10_000) });
  await res.arrayBuffer();
  return { status: res.status, worker: res.headers.get('x-handled-by') ?? '' };
}

const keys = Array.from({ length: 30 }, (_, i) => `key-${i}`);
const owners = async (): Promise<Map<string, string>> => {
  const out = new Map<string, string>();
  for (const k of keys) out.set(k, (await call('GET', k)).worker);
  return out;
};

try {
  await Promise.all(['kv-1', 'kv-2', 'kv-3'].map(startWorker));
  for (const k of keys) await call('PUT', k, `value of ${k}`);
  const before = await owners();
  console.log('owners with kv-1, kv-2, kv-3:', Object.fromEntries(before));

  await stopWorker('kv-2');
  const afterLeave = await owners();
  const movedOnLeave = keys.filter((k) => afterLeave.get(k) !== before.get(k));
  console.log(`kv-2 left: ${movedOnLeave.length} keys moved, all of them kv-2's:`, movedOnLeave.every((k) => before.get(k) === 'kv-2'));

  await startWorker('kv-4');
  const afterJoin = await owners();
  const movedOnJoin = keys.filter((k) => afterJoin.get(k) !== afterLeave.get(k));
  console.log(`kv-4 joined: ${movedOnJoin.length} of ${keys.length} keys moved, all to kv-4:`, movedOnJoin.every((k) => afterJoin.get(k) === 'kv-4'));
  const stillThere = (await Promise.all(keys.map((k) => call('GET', k)))).filter((r) => r.status === 200).length;
  console.log(
    JSON.stringify({
      msg: 'demo done',
      keys: keys.length,
      movedOnLeave: movedOnLeave.length,
      onlyDepartedKeysMoved: movedOnLeave.every((k) => before.get(k) === 'kv-2'),
      movedOnJoin: movedOnJoin.length,
      onlyToNewcomer: movedOnJoin.every((k) => afterJoin.get(k) === 'kv-4'),
      found: stillThere,
    }),
  );
} finally {
  for (const id of [...children.keys()]) await stopWorker(id);
  await router.close();
  rmSync(tmp, { recursive: true, force: true });
}
