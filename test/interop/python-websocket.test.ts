/**
 * Interop: WebSocket through the real router to the Python worker (examples/python-worker, written
 * from proto/SPEC.md §7.7 alone) with a real `ws` client — real processes, real ZeroMQ (ipc://).
 */
import { after, before, test } from 'node:test';
import { describeUnlessMissing } from '../helpers/skip.ts';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { WebSocket, type RawData } from 'ws';
import { Child, type LogLine } from './child.ts';
import { PYTHON, ROOT, WORKER_DIR, pythonMissing } from './python.ts';

const START_TIMEOUT_MS = 20_000;
const WAIT_MS = 20_000;
const SKIP = pythonMissing();

const msgIs =
  (msg: string) =>
  (line: LogLine): boolean =>
    line.msg === msg;

/** Resolves with the first event of `names` the socket emits, rejecting after WAIT_MS. */
async function first<T extends unknown[]>(ws: WebSocket, name: string, what: string): Promise<T> {
  return (await once(ws, name, { signal: AbortSignal.timeout(WAIT_MS) }).catch((err: unknown) => {
    throw new Error(`no ${what} within ${WAIT_MS} ms (${String(err)})`);
  })) as T;
}

/** The next message (data, isBinary). */
const nextMessage = (ws: WebSocket): Promise<[RawData, boolean]> => first(ws, 'message', 'message');
/** The close the client sees (code, reason). */
async function closed(ws: WebSocket): Promise<{ code: number; reason: string }> {
  if (ws.readyState === WebSocket.CLOSED) throw new Error('already closed before the wait began');
  const [code, reason] = await first<[number, Buffer]>(ws, 'close', 'close');
  return { code, reason: reason.toString() };
}

describeUnlessMissing('python worker WebSocket behind the real router', SKIP, () => {
  let dir = '';
  let endpoint = '';
  let wsBase = '';
  const children: Child[] = [];
  const clients: WebSocket[] = [];
  let worker: Child;

  async function startWorker(name: string): Promise<Child> {
    const child = new Child(name, PYTHON, [
      path.join(WORKER_DIR, 'worker.py'), '--connect', endpoint, '--id', `py-ws-${name}/${process.pid}`, '--capacity', '8',
    ], ROOT);
    children.push(child);
    await child.waitForLog(msgIs('worker registered'), START_TIMEOUT_MS, `"worker registered" (${name})`);
    return child;
  }

  async function connect(pathname: string, protocols?: string[]): Promise<WebSocket> {
    const ws = new WebSocket(`${wsBase}${pathname}`, protocols);
    clients.push(ws);
    await first(ws, 'open', `open of ${pathname}`);
    return ws;
  }

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'zp-pyws-'));
    endpoint = `ipc://${path.join(dir, 'r.sock')}`;
    const router = new Child('router', process.execPath, [
      path.join(ROOT, 'bin', 'zeroproxy.js'), 'router', '--http', '127.0.0.1:0', '--bind', endpoint, '--heartbeat', '500',
    ], ROOT);
    children.push(router);
    const listening = await router.waitForLog(msgIs('router listening'), START_TIMEOUT_MS, '"router listening"');
    wsBase = String(listening.http).replace(/^http/, 'ws');
    worker = await startWorker('a');
  });

  after(async () => {
    for (const ws of clients) ws.terminate();
    await Promise.all(children.map((c) => c.kill()));
    rmSync(dir, { recursive: true, force: true });
  });

  test('text and binary messages are echoed; the worker picks a subprotocol the client offered', async () => {
    const ws = await connect('/ws/echo', ['chat', 'v2']);
    assert.equal(ws.protocol, 'chat');
    ws.send('héllo ✓');
    const [text, textIsBinary] = await nextMessage(ws);
    assert.equal(textIsBinary, false);
    assert.equal(text.toString(), 'héllo ✓');
    ws.send(Buffer.from([0, 1, 0xff]));
    const [binary, binaryIsBinary] = await nextMessage(ws);
    assert.equal(binaryIsBinary, true);
    assert.deepEqual([...(binary as Buffer)], [0, 1, 0xff]);
    // The router answers the client's close itself (SPEC §7.7) and forwards it to the worker, which
    // answers with its own (checked message by message in python-websocket-protocol.test.ts).
    ws.close(1000, 'bye');
    assert.equal((await closed(ws)).code, 1000);
  });

  test('a 700 KB message crosses both ways intact (fragmented over DATA, within the windows)', async () => {
    const ws = await connect('/ws/echo');
    const big = randomBytes(700_000);
    ws.send(big);
    const [echo, isBinary] = await nextMessage(ws);
    assert.equal(isBinary, true);
    assert.ok(Buffer.compare(echo as Buffer, big) === 0, 'the same bytes');
    ws.close();
    await closed(ws);
  });

  test('a WebSocket on a path the worker does not serve is refused with its 501', async () => {
    const ws = new WebSocket(`${wsBase}/ws/nowhere`);
    clients.push(ws);
    const [, res] = await first<[unknown, IncomingMessage]>(ws, 'unexpected-response', 'the refusal');
    assert.equal(res.statusCode, 501);
    res.resume();
    ws.once('error', () => undefined); // terminating during the handshake reports "closed before established"
    ws.terminate();
  });

  test('the worker dies after the 101: the client gets close 1011, not a hang', async () => {
    const ws = await connect('/ws/echo');
    ws.send('ping me');
    await nextMessage(ws);
    const gone = closed(ws);
    worker.signal('SIGKILL');
    const { code } = await gone;
    assert.equal(code, 1011);
  });

  test('worker drain (SIGTERM) closes open WebSockets with 1001 at once', async () => {
    worker = await startWorker('b');
    const ws = await connect('/ws/echo');
    ws.send('hello');
    await nextMessage(ws);
    const gone = closed(ws);
    worker.signal('SIGTERM');
    assert.deepEqual(await gone, { code: 1001, reason: 'worker draining' });
    assert.deepEqual(await worker.waitForExit(WAIT_MS), { code: 0, signal: null });
  });
});
