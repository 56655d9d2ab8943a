/**
 * The Python worker's WebSocket streams at the protocol level (SPEC §7.7): the test plays the router
 * on a real ZeroMQ ROUTER socket with the reference codec and checks, message by message, the 101,
 * DATA with op both ways, fragmentation, windows, closing per direction, errors and drain.
 */
import { after, before, test } from 'node:test';
import { describeUnlessMissing } from '../helpers/skip.ts';
import assert from 'node:assert/strict';
import { type Data, type Message, type WsOp } from '../../proto/src/index.ts';
import { Child } from './child.ts';
import { FIXTURE_WORKER, PYTHON, ROOT, pythonMissing } from './python.ts';
import { Inbox, WAIT_MS, isType, startScriptedRouter, type ScriptedRouter } from './scripted-router.ts';

const SKIP = pythonMissing();
const RESPONSE_WINDOW = 65_536;
const MAX_FRAME = 16_384;
const REQUEST_WINDOW = 262_144; // the worker's default HELLO.window

const closeBody = (code: number, reason = ''): Buffer => Buffer.concat([Buffer.from([code >> 8, code & 0xff]), Buffer.from(reason)]);
const closeCode = (body: Buffer): number | undefined => (body.length >= 2 ? body.readUInt16BE(0) : undefined);

describeUnlessMissing('python worker WebSocket streams against a scripted router (protocol level)', SKIP, () => {
  let router: ScriptedRouter;
  let worker: Child;
  const inbox = new Inbox();
  const workerId = `py-ws/${process.pid}`;
  /** The router's next seq per stream (REQ was 0). */
  const seqOut = new Map<number, number>();
  /** Body bytes the worker sent per stream after its RES, and the window granted to it. */
  const sentBytes = new Map<number, number>();
  const granted = new Map<number, number>();
  /** Bytes the worker granted the router with WINDOW, per stream. */
  const grantedToRouter = new Map<number, number>();

  const send = (...messages: Message[]): Promise<void> => router.send(...messages);
  const open = async (stream: number, path: string, headers: string[] = []): Promise<void> => {
    seqOut.set(stream, 1);
    granted.set(stream, RESPONSE_WINDOW);
    await send({
      type: 'REQ', stream, seq: 0, method: 'GET', scheme: 'ws', authority: 'test', path,
      headers: ['origin', 'http://test', ...headers], remote: '127.0.0.1', requestId: `ws-${stream}`, timeoutMs: 60_000,
      fin: true, body: Buffer.alloc(0),
    });
  };
  const data = (stream: number, op: WsOp, body: Buffer | string, fin = true): Data => {
    const seq = seqOut.get(stream)!;
    seqOut.set(stream, seq + 1);
    return { type: 'DATA', stream, seq, fin, op, body: Buffer.from(body) };
  };
  const windowFor = (stream: number, increment: number): Message => {
    const seq = seqOut.get(stream)!;
    seqOut.set(stream, seq + 1);
    granted.set(stream, granted.get(stream)! + increment);
    return { type: 'WINDOW', stream, seq, increment };
  };
  const wsData = (stream: number, op?: WsOp, extra: (m: Data) => boolean = () => true) =>
    isType('DATA', (m) => m.stream === stream && (op === undefined || m.op === op) && extra(m));
  /** The worker's DATA on a stream from index `from`, in order. */
  const dataOn = (stream: number, from: number): Data[] =>
    inbox.received.slice(from).filter((m): m is Data => m.type === 'DATA' && m.stream === stream);
  const creditsSince = (from: number): number =>
    inbox.received.slice(from).reduce((sum, m) => (m.type === 'CREDIT' ? sum + m.credit : sum), 0);

  before(async () => {
    router = await startScriptedRouter(workerId, inbox, (m) => {
      if (m.type === 'DATA') sentBytes.set(m.stream, (sentBytes.get(m.stream) ?? 0) + m.body.length);
      if (m.type === 'WINDOW') grantedToRouter.set(m.stream, (grantedToRouter.get(m.stream) ?? 0) + m.increment);
    });
    const endpoint = router.endpoint;
    worker = new Child('python fixture worker', PYTHON, [FIXTURE_WORKER, endpoint, workerId, '2'], ROOT);
    const hello = await inbox.next(isType('HELLO'), 'HELLO');
    await send({
      type: 'WELCOME', nonce: hello.nonce, routerId: 'scripted', epoch: 'scripted-epoch', version: 1,
      heartbeatMs: 60_000, window: RESPONSE_WINDOW, maxFrame: MAX_FRAME,
    });
    await worker.waitForLog((l) => l.msg === 'worker registered', WAIT_MS, '"worker registered"');
  });

  after(async () => {
    await worker?.kill();
    await router?.close();
  });

  test('a ws REQ on a path without WebSocket gets 501, an HTTP answer, and ends the stream', async () => {
    const from = inbox.received.length;
    await open(1, '/ws/nowhere');
    const res = await inbox.next(isType('RES', (m) => m.stream === 1), 'RES for stream 1', from);
    assert.equal(res.status, 501);
    assert.equal(res.fin, true);
    await inbox.next(isType('CREDIT', () => creditsSince(from) === 1), 'CREDIT for stream 1', from);
  });

  test('accept: RES 101 fin=false, empty body, the chosen subprotocol is one the client offered', async () => {
    const from = inbox.received.length;
    await open(3, '/ws/echo', ['sec-websocket-protocol', 'chat, v2']);
    const res = await inbox.next(isType('RES', (m) => m.stream === 3), 'RES for stream 3', from);
    assert.equal(res.status, 101);
    assert.equal(res.fin, false);
    assert.equal(res.body.length, 0);
    assert.equal(res.seq, 0);
    const protocol = res.headers[res.headers.indexOf('sec-websocket-protocol') + 1];
    assert.equal(protocol, 'chat');
  });

  test('text and binary messages are echoed with their op, fin=true, next seq', async () => {
    const from = inbox.received.length;
    await send(data(3, 'text', 'héllo ✓'));
    const text = await inbox.next(wsData(3, 'text'), 'the text echo', from);
    assert.equal(text.body.toString(), 'héllo ✓');
    assert.equal(text.fin, true);
    assert.equal(text.seq, 1, 'RES 101 was seq 0');
    await send(data(3, 'binary', Buffer.from([0, 0xff, 1])));
    const binary = await inbox.next(wsData(3, 'binary'), 'the binary echo', from);
    assert.deepEqual([...binary.body], [0, 0xff, 1]);
    assert.equal(binary.seq, 2);
    assert.deepEqual(inbox.decodeErrors, []);
  });

  test('a fragmented message is reassembled; an echo above maxFrame is fragmented with the same op', async () => {
    const from = inbox.received.length;
    const big = Buffer.alloc(40_000, 7);
    big.write('start', 0);
    // Three fragments from the router, with a ping between two of them (control frames may interleave).
    await send(data(3, 'binary', big.subarray(0, 10_000), false), data(3, 'ping', 'p', true));
    await send(data(3, 'binary', big.subarray(10_000, 30_000), false), data(3, 'binary', big.subarray(30_000), true));
    await inbox.next(wsData(3, 'binary', (m) => m.fin), 'the last fragment of the echo', from);
    const frags = dataOn(3, from);
    assert.ok(frags.length >= 3, `40,000 bytes in frames of ≤ ${MAX_FRAME}: ${frags.length} fragments`);
    assert.ok(frags.every((m) => m.op === 'binary' && m.body.length <= MAX_FRAME), 'same op, each ≤ maxFrame');
    assert.ok(frags.slice(0, -1).every((m) => !m.fin), 'fin only on the last fragment');
    assert.ok(Buffer.concat(frags.map((m) => m.body)).equals(big), 'the same bytes, in order');
  });

  test('windows: the worker sends no more than granted and resumes on WINDOW; it grants back what it read', async () => {
    const from = inbox.received.length;
    const before = sentBytes.get(3)!;
    // 25,000 + 40,000 (above) + 6 + 3 bytes sent so far; this 40,000-byte echo cannot fit in what is left.
    await send(data(3, 'binary', Buffer.alloc(40_000, 9)));
    await inbox.next(wsData(3, 'binary', () => sentBytes.get(3) === RESPONSE_WINDOW), 'the echo up to the window', from);
    assert.ok(sentBytes.get(3)! - before < 40_000, 'the echo stopped at the window');
    await send(windowFor(3, 32_768));
    await inbox.next(wsData(3, 'binary', (m) => m.fin), 'the rest of the echo after WINDOW', from);
    // A barrier: a text echo after the binary one, so anything sent past the window would be here.
    await send(data(3, 'text', 'barrier'));
    await inbox.next(wsData(3, 'text', (m) => m.body.toString() === 'barrier'), 'the barrier echo', from);
    assert.ok(sentBytes.get(3)! <= granted.get(3)!, `sent ${sentBytes.get(3)} ≤ granted ${granted.get(3)}`);
    // The router has sent 80,000+ body bytes: the worker granted them back (≥ a quarter window at a time).
    assert.ok((grantedToRouter.get(3) ?? 0) >= REQUEST_WINDOW / 4, `worker granted ${grantedToRouter.get(3)} bytes back`);
  });

  test('the router’s close is answered with a close echoing the code; then the stream ends (CREDIT)', async () => {
    const from = inbox.received.length;
    await send(windowFor(3, 65_536)); // room for the close payload whatever the echoes used
    await send(data(3, 'close', closeBody(1000, 'bye')));
    const close = await inbox.next(wsData(3, 'close'), 'the worker close', from);
    assert.equal(close.fin, true);
    assert.equal(closeCode(close.body), 1000);
    await inbox.next(isType('CREDIT', () => creditsSince(from) === 1), 'CREDIT for stream 3', from);
    // A late DATA for the ended stream gets one RST cancel (SPEC §7.5).
    await send(data(3, 'text', 'late'));
    const rst = await inbox.next(isType('RST', (m) => m.stream === 3), 'RST for the late DATA', from);
    assert.equal(rst.code, 'cancel');
  });

  test('a worker that closes first: its close 4000 arrives after its message; the stream ends on the router’s close', async () => {
    const from = inbox.received.length;
    await open(5, '/ws/bye');
    const close = await inbox.next(wsData(5, 'close'), 'the worker close on stream 5', from);
    assert.equal(closeCode(close.body), 4000);
    assert.equal(close.body.subarray(2).toString(), 'done');
    const ops = dataOn(5, from).map((m) => `${m.op}:${m.body.subarray(m.op === 'close' ? 2 : 0).toString()}`);
    assert.deepEqual(ops, ['text:bye', 'close:done']);
    // The stream is half closed: it ends (and its credit comes back) only with the router's close.
    await send(data(5, 'close', closeBody(4000)));
    await inbox.next(isType('CREDIT', () => creditsSince(from) === 1), 'CREDIT for stream 5', from);
    assert.equal(dataOn(5, from).length, 2, 'nothing after the worker close');
  });

  test('a handler that fails after the 101 closes with 1011 (the client gets a close frame)', async () => {
    const from = inbox.received.length;
    await open(7, '/ws/boom');
    const close = await inbox.next(wsData(7, 'close'), 'close 1011 on stream 7', from);
    assert.equal(closeCode(close.body), 1011);
    await send(data(7, 'close', closeBody(1011)));
    await inbox.next(isType('CREDIT', () => creditsSince(from) === 1), 'CREDIT for stream 7', from);
    await worker.waitForLog((l) => l.msg === 'handler failed' && l.stream === 7, WAIT_MS, '"handler failed" logged');
  });

  test('protocol errors reset the stream: DATA without op, a text message that is not UTF-8', async () => {
    const from = inbox.received.length;
    await open(9, '/ws/echo');
    await open(11, '/ws/echo');
    await inbox.next(isType('RES', (m) => m.stream === 11 && m.status === 101), '101 on stream 11', from);
    await inbox.next(isType('RES', (m) => m.stream === 9 && m.status === 101), '101 on stream 9', from);
    const noOp = data(9, 'text', 'x');
    delete noOp.op;
    await send(noOp, data(11, 'text', Buffer.from([0xc3, 0x28])));
    for (const stream of [9, 11]) {
      const rst = await inbox.next(isType('RST', (m) => m.stream === stream), `RST for stream ${stream}`, from);
      assert.equal(rst.code, 'protocol');
    }
    await inbox.next(isType('CREDIT', () => creditsSince(from) === 2), 'CREDIT for streams 9 and 11', from);
  });

  test('an RST from the router ends an open WebSocket at once', async () => {
    const from = inbox.received.length;
    await open(13, '/ws/echo');
    await inbox.next(isType('RES', (m) => m.stream === 13), '101 on stream 13', from);
    await send({ type: 'RST', stream: 13, code: 'cancel', message: 'client went away' });
    await inbox.next(isType('CREDIT', () => creditsSince(from) === 1), 'CREDIT for stream 13', from);
  });

  test('a worker close the router never answers ends with RST cancel (the close handshake is bounded)', async () => {
    const from = inbox.received.length;
    await open(17, '/ws/bye');
    await inbox.next(wsData(17, 'close'), 'the worker close on stream 17', from);
    const rst = await inbox.next(isType('RST', (m) => m.stream === 17), 'RST after the close timeout', from);
    assert.equal(rst.code, 'cancel');
    await inbox.next(isType('CREDIT', () => creditsSince(from) === 1), 'CREDIT for stream 17', from);
  });

  test('SIGTERM: DRAIN, open WebSockets closed with 1001 "worker draining" at once, BYE after the router’s close', async () => {
    const from = inbox.received.length;
    await open(15, '/ws/echo');
    await inbox.next(isType('RES', (m) => m.stream === 15), '101 on stream 15', from);
    worker.signal('SIGTERM');
    await inbox.next(isType('DRAIN'), 'DRAIN', from);
    const close = await inbox.next(wsData(15, 'close'), 'close 1001 on stream 15', from);
    assert.equal(closeCode(close.body), 1001);
    assert.equal(close.body.subarray(2).toString(), 'worker draining');
    await send(data(15, 'close', closeBody(1001)));
    await inbox.next(isType('BYE'), 'BYE', from);
    assert.deepEqual(await worker.waitForExit(WAIT_MS), { code: 0, signal: null });
    assert.deepEqual(inbox.decodeErrors, [], 'everything the worker sent decodes');
  });
});
