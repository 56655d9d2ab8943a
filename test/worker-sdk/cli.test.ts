/**
 * `zeroproxy worker` as a real process: usage errors exit 2 with one stderr line; a --handler worker
 * registers with a (fake, real-socket) router, serves, and on SIGTERM drains, says BYE and exits 0.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { afterEach, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { FakeRouter, readResponse, req } from './fake-router.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = join(root, 'bin', 'zeroproxy.js');
const fixtures = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Run {
  child: ChildProcess;
  stdout: string[];
  stderr: string;
  exit: Promise<number | null>;
}

function run(args: string[]): Run {
  const child = spawn(process.execPath, [bin, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  const r: Run = { child, stdout: [], stderr: '', exit: new Promise((resolve) => child.on('exit', (code) => resolve(code))) };
  let partial = '';
  child.stdout!.on('data', (b: Buffer) => {
    const parts = (partial + b.toString()).split('\n');
    partial = parts.pop()!;
    r.stdout.push(...parts);
    child.stdout!.emit('lines');
  });
  child.stderr!.on('data', (b: Buffer) => (r.stderr += b.toString()));
  cleanups.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return r;
}

async function exitWithin(r: Run, ms: number): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`process did not exit within ${ms} ms`)), ms)));
  try {
    return await Promise.race([r.exit, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The first JSON log line with `msg`, waiting for it (the CLI batches its log writes). */
async function logLine(r: Run, msg: string, ms: number): Promise<Record<string, unknown>> {
  const find = (): Record<string, unknown> | undefined =>
    r.stdout.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l['msg'] === msg);
  const deadline = Date.now() + ms;
  for (let line = find(); ; line = find()) {
    if (line) return line;
    const left = deadline - Date.now();
    const exited = r.child.exitCode !== null || r.child.signalCode !== null;
    assert.ok(left > 0 && !exited, `a "${msg}" log line on stdout within ${ms} ms: ${r.stdout.join('\n')}`);
    await Promise.race([once(r.child.stdout!, 'lines'), r.exit, new Promise((resolve) => setTimeout(resolve, left).unref())]);
  }
}

async function usageError(args: string[], pattern: RegExp): Promise<void> {
  const r = run(args);
  assert.equal(await exitWithin(r, 15000), 2);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one stderr line, got: ${r.stderr}`);
  assert.match(lines[0]!, pattern);
}

test('worker with both --forward and --handler exits 2 with one line', async () => {
  await usageError(['worker', '--connect', 'tcp://127.0.0.1:5999', '--forward', 'http://127.0.0.1:1', '--handler', 'x.ts'], /forward|handler/);
});

test('worker with neither --forward nor --handler exits 2 with one line', async () => {
  await usageError(['worker', '--connect', 'tcp://127.0.0.1:5999'], /--forward.*--handler/);
});

test('worker --handler with a module without a default export function exits 2 with one line', async () => {
  await usageError(['worker', '--connect', 'tcp://127.0.0.1:5999', '--handler', join(fixtures, 'no-default.ts')], /no default export/);
});

test('worker with a bad --capacity exits 2 with one line', async () => {
  await usageError(['worker', '--connect', 'tcp://127.0.0.1:5999', '--forward', 'http://127.0.0.1:1', '--capacity', 'lots'], /capacity|integer/);
});

test('worker --handler registers, serves, and on SIGTERM sends DRAIN then BYE and exits 0', async () => {
  const router = await FakeRouter.bind();
  cleanups.push(() => router.close());
  const r = run(['worker', '--connect', router.endpoint, '--handler', join(fixtures, 'hello-handler.ts'), '--id', 'cli-worker', '--capacity', '3', '--pool', 'cli']);
  const hello = await router.welcome();
  assert.equal(hello.workerId, 'cli-worker');
  assert.equal(hello.capacity, 3);
  assert.equal(hello.pool, 'cli');
  await router.send('cli-worker', req(1, { path: '/there', requestId: 'rid-cli' }));
  const res = await readResponse(router, 1);
  assert.equal(res.status, 200);
  assert.equal(res.body.toString(), 'hello /there rid-cli');
  const registered = await logLine(r, 'worker registered', 5000);
  assert.equal(registered['router'], router.endpoint);
  assert.equal(registered['workerId'], 'cli-worker');
  r.child.kill('SIGTERM');
  await router.next('DRAIN');
  await router.next('BYE');
  assert.equal(await exitWithin(r, 10000), 0);
});
