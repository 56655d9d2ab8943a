/**
 * The Python worker at the protocol level: the test plays the router on a real ZeroMQ ROUTER socket
 * (using the reference codec from proto/src) and checks, message by message, what the worker does
 * with garbage, seq gaps, windows, capacity, ERROR unknown_peer and SIGTERM (SPEC §5–§8).
 */
import { after, before, test } from 'node:test';
import { describeUnlessMissing } from '../helpers/skip.ts';
import assert from 'node:assert/strict';
import { type Hello, type Message } from '../../proto/src/index.ts';
import { Child } from './child.ts';
import { FIXTURE_WORKER, PYTHON, ROOT, pythonMissing } from './python.ts';
import { Inbox, WAIT_MS, isType, startScriptedRouter, type ScriptedRouter } from './scripted-router.ts';

const SKIP = pythonMissing();
const RESPONSE_WINDOW = 65_536;

describeUnlessMissing('python worker against a scripted router (protocol level)', SKIP, () => {
  let router: ScriptedRouter;
  let worker: Child;
  const inbox = new Inbox();
  const workerId = `py-proto/${process.pid}`;
  let hello: Hello;

  const send = (...messages: Message[]): Promise<void> => router.send(...messages);
  const sendRaw = (...frames: Buffer[]): Promise<void> => router.sendRaw(...frames);
  const welcome = (nonce: number): Message => ({
    type: 'WELCOME', nonce, routerId: 'scripted', epoch: 'scripted-epoch', version: 1,
    heartbeatMs: 60_000, window: RESPONSE_WINDOW, maxFrame: 16_384,
  });
  const req = (stream: number, path: string, fin: boolean, body = Buffer.alloc(0)): Message => ({
    type: 'REQ', stream, seq: 0, method: fin ? 'GET' : 'POST', scheme: 'http', authority: 'test', path,
    headers: ['x-test', '1'], remote: '127.0.0.1', requestId: `rid-${stream}`, timeoutMs: 0, fin, body,
  });
  /** Response-body bytes the worker sent per stream (RES inline + DATA), to check the window. */
  const sentBytes = new Map<number, number>();
  const granted = new Map<number, number>();

  before(async () => {
    router = await startScriptedRouter(workerId, inbox, (m) => {
      if (m.type === 'RES' || m.type === 'DATA') sentBytes.set(m.stream, (sentBytes.get(m.stream) ?? 0) + m.body.length);
    });
    const endpoint = router.endpoint;
    worker = new Child('python fixture worker', PYTHON, [FIXTURE_WORKER, endpoint, workerId, '2'], ROOT);
    hello = await inbox.next(isType('HELLO'), 'HELLO');
  });

  after(async () => {
    await worker?.kill();
    await router?.close();
  });

  test('HELLO carries what SPEC §4 asks for; WELCOME registers the worker', async () => {
    assert.equal(hello.workerId, workerId, 'HELLO.workerId is the name the worker was given (its routing id is random)');
    assert.deepEqual(hello.versions, [1]);
    assert.equal(hello.pool, 'default');
    assert.equal(hello.capacity, 2);
    assert.equal(hello.window, 262_144);
    assert.ok(hello.epoch.length > 0);
    await send(welcome(hello.nonce));
    const registered = await worker.waitForLog((l) => l.msg === 'worker registered', WAIT_MS, '"worker registered"');
    assert.equal(registered.workerId, workerId);
  });

  test('bad pairs in a batch are dropped; the good REQ next to them is answered', async () => {
    const from = inbox.received.length;
    await sendRaw(
      Buffer.from('c1', 'hex'), Buffer.alloc(0), // not msgpack
      Buffer.from('94a258580104a165', 'hex'), Buffer.alloc(0), // bad signature
    );
    await send(req(1, '/first', true));
    const res = await inbox.next(isType('RES', (m) => m.stream === 1), 'RES for stream 1', from);
    assert.equal(res.status, 200);
    assert.equal(res.seq, 0);
    assert.equal(res.body.toString(), 'ok /first\n');
    assert.equal(res.fin, true);
    await inbox.next(isType('CREDIT'), 'CREDIT after stream 1', from);
    assert.deepEqual(inbox.decodeErrors, [], 'everything the worker sent decodes');
  });

  test('a seq gap on a request body resets the stream with RST protocol', async () => {
    const from = inbox.received.length;
    await send(req(3, '/echo', false, Buffer.from('abc')));
    await send({ type: 'DATA', stream: 3, seq: 2, fin: true, body: Buffer.from('def') }); // seq 1 was skipped
    const rst = await inbox.next(isType('RST', (m) => m.stream === 3), 'RST for stream 3', from);
    assert.equal(rst.code, 'protocol');
    // The reset stream's slot comes back once its handler has let go of it.
    const credit = await inbox.next(isType('CREDIT'), 'CREDIT after the reset of stream 3', from);
    assert.equal(credit.credit, 1);
  });

  test('windows bound the response, capacity refuses the extra REQ, RST frees the slots', async () => {
    const from = inbox.received.length;
    await send(req(5, '/forever', true), req(7, '/forever', true), req(9, '/first', true));
    const refused = await inbox.next(isType('RST', (m) => m.stream === 9), 'RST refused for stream 9', from);
    assert.equal(refused.code, 'refused', 'a REQ beyond capacity 2 is refused');
    // The worker sends exactly the window, in frames ≤ maxFrame, and then waits for WINDOW.
    for (const stream of [5, 7]) {
      await inbox.next(isType('DATA', () => sentBytes.get(stream) === RESPONSE_WINDOW), `${RESPONSE_WINDOW} bytes on stream ${stream}`, from);
    }
    await send({ type: 'WINDOW', stream: 5, seq: 1, increment: 16_384 });
    granted.set(5, RESPONSE_WINDOW + 16_384);
    await inbox.next(isType('DATA', (m) => m.stream === 5 && sentBytes.get(5) === granted.get(5)), 'the granted bytes on stream 5', from);
    for (const m of inbox.received.slice(from)) {
      if (m.type === 'RES' || m.type === 'DATA') assert.ok(m.body.length <= 16_384, 'body frames ≤ WELCOME.maxFrame');
    }
    await send({ type: 'RST', stream: 5, code: 'cancel', message: 'client went away' });
    await send({ type: 'RST', stream: 7, code: 'cancel', message: 'client went away' });
    await worker.waitForLog((l) => l.msg === 'stream reset' && l.stream === 7, WAIT_MS, '"stream reset" for 7');
    const credits = (): number =>
      inbox.received.slice(from).reduce((sum, m) => (m.type === 'CREDIT' ? sum + m.credit : sum), 0);
    await inbox.next(isType('CREDIT', () => credits() === 3), 'CREDIT for streams 5, 7 and 9', from);
    // A barrier: by the time stream 11 is answered, anything sent past a window would be here too.
    await send(req(11, '/after', true));
    await inbox.next(isType('RES', (m) => m.stream === 11), 'RES for stream 11', from);
    assert.equal(sentBytes.get(5), granted.get(5), 'stream 5 never exceeded its window');
    assert.equal(sentBytes.get(7), RESPONSE_WINDOW, 'stream 7 never exceeded its window');
  });

  test('DATA for an unknown stream gets one RST cancel', async () => {
    const from = inbox.received.length;
    await send({ type: 'DATA', stream: 999, seq: 1, fin: true, body: Buffer.from('late') });
    const rst = await inbox.next(isType('RST', (m) => m.stream === 999), 'RST for stream 999', from);
    assert.equal(rst.code, 'cancel');
  });

  test('ERROR unknown_peer makes the worker HELLO again with a new nonce (SPEC §5.4)', async () => {
    const from = inbox.received.length;
    await send({ type: 'ERROR', code: 'unknown_peer', message: 'who are you' });
    const again = await inbox.next(isType('HELLO'), 'a new HELLO', from);
    assert.notEqual(again.nonce, hello.nonce, 'a new HELLO loop draws a new nonce');
    assert.equal(again.epoch, hello.epoch, 'same process, same epoch');
    const logged = worker.logs.length;
    await send(welcome(again.nonce));
    await worker.waitForLog((l) => l.msg === 'worker registered', WAIT_MS, '"worker registered" again', logged);
    const probe = inbox.received.length;
    await send(req(13, '/back', true));
    const res = await inbox.next(isType('RES', (m) => m.stream === 13), 'RES for stream 13', probe);
    assert.equal(res.body.toString(), 'ok /back\n');
  });

  test('SIGTERM: DRAIN naming the last accepted stream, then BYE, then exit 0', async () => {
    const from = inbox.received.length;
    worker.signal('SIGTERM');
    const drain = await inbox.next(isType('DRAIN'), 'DRAIN', from);
    assert.equal(drain.lastStream, 13);
    await inbox.next(isType('BYE'), 'BYE', from);
    assert.deepEqual(await worker.waitForExit(WAIT_MS), { code: 0, signal: null });
  });
});
