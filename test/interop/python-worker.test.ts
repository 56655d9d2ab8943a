/**
 * Interop: the Python worker (examples/python-worker, written from proto/SPEC.md alone) against the
 * proto vectors and behind the real router — real processes, real ZeroMQ (ipc://), real HTTP.
 * Needs Debian's /usr/bin/python3 with python3-zmq and python3-msgpack (.ci/run installs them);
 * without them the suites are skipped with a message saying so.
 */
import { after, before, test } from 'node:test';
import { describeUnlessMissing } from '../helpers/skip.ts';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Child, type LogLine } from './child.ts';
import { FIXTURE_WORKER, PYTHON, ROOT, WORKER_DIR, pythonMissing } from './python.ts';

const VECTORS = path.join(ROOT, 'proto', 'vectors', 'vectors.json');
const START_TIMEOUT_MS = 20_000;
const REQUEST_TIMEOUT_MS = 20_000;
const SKIP = pythonMissing();

const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');
const msgIs =
  (msg: string) =>
  (line: LogLine): boolean =>
    line.msg === msg;

function runVectors(file: string): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(PYTHON, [path.join(WORKER_DIR, 'test_vectors.py'), file], { encoding: 'utf8', timeout: 60_000 });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

describeUnlessMissing('python codec: every proto vector', SKIP, () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'zp-pyvec-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('test_vectors.py passes all vectors in proto/vectors/vectors.json', () => {
    const total = (JSON.parse(readFileSync(VECTORS, 'utf8')) as { vectors: unknown[] }).vectors.length;
    const run = runVectors(VECTORS);
    assert.equal(run.status, 0, `test_vectors.py failed:\n${run.stdout}\n${run.stderr}`);
    const summary = /(\d+)\/(\d+) vectors passed/.exec(run.stdout);
    assert.ok(summary, `no summary line in:\n${run.stdout}`);
    assert.equal(Number(summary[2]), total, 'every vector in the file was run');
    assert.equal(Number(summary[1]), total, 'every vector passed');
  });

  test('test_vectors.py fails (exit 1, names the vector) when a vector disagrees with the codec', () => {
    // Guard against a checker that cannot fail: alter one canonical vector's expected meaning.
    const doc = JSON.parse(readFileSync(VECTORS, 'utf8')) as {
      vectors: { name: string; canonical?: boolean; results: { message?: Record<string, unknown> }[] }[];
    };
    const victim = doc.vectors.find((v) => v.canonical && v.results[0]?.message?.type === 'CREDIT');
    assert.ok(victim, 'vectors.json has a canonical CREDIT vector');
    const message = victim.results[0]!.message!;
    message.credit = Number(message.credit) + 1;
    const tampered = path.join(dir, 'tampered.json');
    writeFileSync(tampered, JSON.stringify(doc));
    const run = runVectors(tampered);
    assert.equal(run.status, 1, `expected exit 1, got ${run.status}:\n${run.stdout}\n${run.stderr}`);
    assert.match(run.stdout, new RegExp(`FAIL ${victim.name}:`));
  });
});

describeUnlessMissing('python worker behind the real router', SKIP, () => {
  let dir = '';
  let endpoint = '';
  const children: Child[] = [];
  let router: Child;
  let worker: Child;
  let baseUrl = '';

  async function startRouter(): Promise<void> {
    router = new Child('router', process.execPath, [
      path.join(ROOT, 'bin', 'zeroproxy.js'), 'router', '--http', '127.0.0.1:0', '--bind', endpoint, '--heartbeat', '500',
    ], ROOT);
    children.push(router);
    const listening = await router.waitForLog(msgIs('router listening'), START_TIMEOUT_MS, '"router listening"');
    assert.equal(typeof listening.http, 'string', 'router listening line has an http URL');
    baseUrl = String(listening.http);
  }

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'zp-pyw-'));
    endpoint = `ipc://${path.join(dir, 'r.sock')}`;
    await startRouter();
    worker = new Child('python worker', PYTHON, [
      path.join(WORKER_DIR, 'worker.py'), '--connect', endpoint, '--id', `py-interop/${process.pid}`, '--capacity', '8',
    ], ROOT);
    children.push(worker);
    const registered = await worker.waitForLog(msgIs('worker registered'), START_TIMEOUT_MS, '"worker registered"');
    assert.equal(registered.router, endpoint);
  });

  after(async () => {
    await Promise.all(children.map((c) => c.kill()));
    rmSync(dir, { recursive: true, force: true });
  });

  test('GET is answered by the Python worker', async () => {
    const res = await fetch(`${baseUrl}/hello?x=1`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-worker-runtime'), 'python');
    assert.equal(await res.text(), 'hello from python: GET /hello?x=1\n');
  });

  test('POST of 1 MiB is echoed back intact (windows in both directions)', async () => {
    const body = randomBytes(1024 * 1024);
    const res = await fetch(`${baseUrl}/echo`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/octet-stream' },
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    assert.equal(res.status, 200);
    const echoed = new Uint8Array(await res.arrayBuffer());
    assert.equal(echoed.length, body.length);
    assert.equal(sha256(echoed), sha256(body));
  });

  test('concurrent POSTs each get their own body back', async () => {
    const bodies = Array.from({ length: 6 }, (_, i) => randomBytes(200_000 + i * 17_000));
    const results = await Promise.all(
      bodies.map(async (body) => {
        const res = await fetch(`${baseUrl}/echo`, { method: 'POST', body, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
        return { status: res.status, digest: sha256(new Uint8Array(await res.arrayBuffer())) };
      }),
    );
    results.forEach((r, i) => {
      assert.equal(r.status, 200);
      assert.equal(r.digest, sha256(bodies[i]!), `request ${i} got its own body`);
    });
  });

  test('router restart: the worker re-registers with the new router (SPEC §5.5)', async () => {
    const from = worker.logs.length;
    router.signal('SIGKILL');
    await router.waitForExit(10_000);
    await startRouter();
    await worker.waitForLog(msgIs('worker registered'), START_TIMEOUT_MS, 'a second "worker registered"', from);
    const res = await fetch(`${baseUrl}/again`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'hello from python: GET /again\n');
  });

  test('SIGTERM drains: an in-flight streaming POST completes, then the worker exits 0', async () => {
    const half = randomBytes(256 * 1024);
    const rest = randomBytes(256 * 1024);
    const expected = createHash('sha256').update(half).update(rest).digest('hex');
    const req = http.request(`${baseUrl}/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(half.length + rest.length) },
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const response = new Promise<http.IncomingMessage>((resolve, reject) => {
      req.once('response', resolve);
      req.once('error', reject);
    });
    req.write(half);
    // The echo streams its first bytes back before the request body is complete, so the response
    // head proves the stream is in flight on the worker.
    const res = await response;
    assert.equal(res.statusCode, 200);
    const digest = createHash('sha256');
    let received = 0;
    const ended = new Promise<void>((resolve, reject) => {
      res.on('data', (chunk: Buffer) => {
        digest.update(chunk);
        received += chunk.length;
      });
      res.once('end', resolve);
      res.once('error', reject);
      res.once('aborted', () => reject(new Error('response aborted')));
    });
    const from = worker.logs.length;
    worker.signal('SIGTERM');
    await worker.waitForLog(msgIs('worker draining'), 10_000, '"worker draining"', from);
    assert.equal(worker.exitInfo, undefined, 'the worker waits for its in-flight stream');
    req.end(rest);
    await ended;
    assert.equal(received, half.length + rest.length);
    assert.equal(digest.digest('hex'), expected);
    const exit = await worker.waitForExit(15_000);
    assert.deepEqual(exit, { code: 0, signal: null }, worker.describe());
    assert.ok(worker.logs.some(msgIs('worker stopped')), 'worker logged "worker stopped" after BYE');
  });
});

describeUnlessMissing('python worker: failures end requests and give the slot back', SKIP, () => {
  let dir = '';
  const children: Child[] = [];
  let worker: Child;
  let baseUrl = '';

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'zp-pyf-'));
    const endpoint = `ipc://${path.join(dir, 'r.sock')}`;
    // queue-timeout 3000: if a slot were not given back, the follow-up request would get 503 fast.
    const router = new Child('router', process.execPath, [
      path.join(ROOT, 'bin', 'zeroproxy.js'), 'router', '--http', '127.0.0.1:0', '--bind', endpoint, '--queue-timeout', '3000',
    ], ROOT);
    children.push(router);
    baseUrl = String((await router.waitForLog(msgIs('router listening'), START_TIMEOUT_MS, '"router listening"')).http);
    // capacity 1: every later request needs the credit of the one before it.
    worker = new Child('python fixture worker', PYTHON, [
      FIXTURE_WORKER, endpoint, `py-fail/${process.pid}`, '1',
    ], ROOT);
    children.push(worker);
    await worker.waitForLog(msgIs('worker registered'), START_TIMEOUT_MS, '"worker registered"');
  });

  after(async () => {
    await Promise.all(children.map((c) => c.kill()));
    rmSync(dir, { recursive: true, force: true });
  });

  const get = async (p: string): Promise<{ status: number; text: string }> => {
    const res = await fetch(`${baseUrl}${p}`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    return { status: res.status, text: await res.text() };
  };

  test('a handler that raises gives 500; the worker stays up and serves the next request', async () => {
    assert.equal((await get('/boom')).status, 500);
    assert.deepEqual(await get('/after-boom'), { status: 200, text: 'ok /after-boom\n' });
    assert.ok(worker.logs.some(msgIs('handler failed')), 'the failure was logged');
    assert.equal(worker.exitInfo, undefined);
  });

  test('a client that goes away mid-response resets the stream on the worker and frees its slot', async () => {
    const from = worker.logs.length;
    const controller = new AbortController();
    const res = await fetch(`${baseUrl}/forever`, { signal: controller.signal });
    assert.equal(res.status, 200);
    const reader = res.body!.getReader();
    const first = await reader.read();
    assert.ok(first.value && first.value.length > 0, 'the endless response is streaming');
    controller.abort();
    await reader.cancel().catch(() => undefined);
    const reset = await worker.waitForLog(msgIs('stream reset'), 10_000, '"stream reset"', from);
    assert.equal(reset.code, 'cancel');
    assert.deepEqual(await get('/after-reset'), { status: 200, text: 'ok /after-reset\n' });
  });
});
