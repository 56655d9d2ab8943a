/**
 * Worker sessions against the real router over a real ZeroMQ socket: handshake and WELCOME fields,
 * repeated HELLO, ERROR version, ERROR unknown_peer, heartbeats, garbage that must not crash it.
 */
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { request } from 'undici';
import { PROTOCOL_VERSION } from '../../proto/src/index.ts';
import { FakeWorker } from './fake-worker.ts';
import { startHarness, type Harness } from './harness.ts';

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

test('HELLO gets a WELCOME carrying router id, epoch, version, heartbeat, window and maxFrame', async () => {
  harness = await startHarness({ id: 'router-A', heartbeatMs: 1234, window: 100_000 });
  assert.match(harness.router.bindEndpoint, /^tcp:\/\/127\.0\.0\.1:\d+$/);
  assert.match(harness.router.httpUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
  const w = new FakeWorker(harness.router.bindEndpoint);
  harness.workers.push(w);
  await w.sendHello();
  const welcome = await w.next('WELCOME');
  assert.equal(welcome.nonce, w.nonce);
  assert.equal(welcome.routerId, 'router-A');
  assert.equal(welcome.version, PROTOCOL_VERSION);
  assert.equal(welcome.heartbeatMs, 1234);
  assert.equal(welcome.window, 100_000);
  assert.ok(welcome.maxFrame >= 1024 && welcome.maxFrame <= 1024 * 1024);
  assert.ok(welcome.epoch.length > 0);

  // A repeated HELLO (our WELCOME was "lost") is answered the same way.
  await w.sendHello();
  const again = await w.next('WELCOME');
  assert.deepEqual(again, welcome);
});

test('a HELLO offering no supported version gets ERROR version and no registration', async () => {
  harness = await startHarness();
  const w = new FakeWorker(harness.router.bindEndpoint, { versions: [7, 9] });
  harness.workers.push(w);
  await w.sendHello();
  const error = await w.next('ERROR');
  assert.equal(error.code, 'version');
  // Not registered: anything else it sends is from an unknown peer.
  await w.send({ type: 'CREDIT', credit: 1 });
  const unknown = await w.next('ERROR');
  assert.equal(unknown.code, 'unknown_peer');
  assert.equal(w.take('WELCOME').length, 0);
});

test('anything but HELLO from an unknown peer gets ERROR unknown_peer, rate limited', async () => {
  harness = await startHarness({ heartbeatMs: 60_000 });
  const w = new FakeWorker(harness.router.bindEndpoint);
  harness.workers.push(w);
  // The first send may precede the ZMTP handshake: retry until it leaves.
  for (let i = 0; ; i++) {
    try {
      await w.send({ type: 'HEARTBEAT', epoch: w.epoch });
      break;
    } catch (err) {
      if (i > 100) throw err;
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  const error = await w.next('ERROR');
  assert.equal(error.code, 'unknown_peer');
  // More messages within one heartbeat interval get no more answers; a HELLO still registers.
  await w.send({ type: 'CREDIT', credit: 1 }, { type: 'HEARTBEAT', epoch: w.epoch });
  await w.sendHello();
  await w.next('WELCOME');
  assert.equal(w.take('ERROR').length, 0);
});

test('the router heartbeats an idle worker and forgets one that stays silent', async () => {
  harness = await startHarness({ heartbeatMs: 50, queueTimeoutMs: 5000 });
  const w = await harness.worker({ capacity: 4 });
  const hb = await w.next('HEARTBEAT', 2000);
  assert.ok(hb.epoch.length > 0);
  // Silent for > 3 intervals: forgotten. Its next message gets ERROR unknown_peer.
  await new Promise((r) => setTimeout(r, 400));
  await w.send({ type: 'CREDIT', credit: 1 });
  const error = await w.next('ERROR', 2000);
  assert.equal(error.code, 'unknown_peer');
});

test('garbled frames from a worker are dropped without crashing; the worker keeps serving', async () => {
  harness = await startHarness();
  const w = await harness.worker();
  await w.sendRaw([Buffer.from('not msgpack \xc1\xc1'), Buffer.alloc(0)]);
  await w.sendRaw([Buffer.from([0x93, 0xa2, 0x5a, 0x50])]); // odd frame count
  await w.sendRaw([Buffer.from([0x93, 0xa2, 0x5a, 0x50, 0x01, 0x63]), Buffer.alloc(0)]); // unknown type 99
  await w.sendRaw([Buffer.from([0x92, 0x01, 0x02]), Buffer.from('x')]);
  const pending = request(harness.url('/after-garbage'));
  const req = await w.next('REQ');
  // A garbled pair with a readable stream id resets that stream (RST protocol) and the client gets 502.
  const header = Buffer.from([0x94, 0xa2, 0x5a, 0x50, 0x01, 0x09, req.stream]); // ["ZP", 1, RES, stream]: fields missing
  await w.sendRaw([header, Buffer.alloc(0)]);
  const rst = await w.next('RST');
  assert.equal(rst.stream, req.stream);
  assert.equal(rst.code, 'protocol');
  const res = await pending;
  assert.equal(res.statusCode, 502);
  const body = (await res.body.json()) as { error: string };
  assert.equal(body.error, 'ZP_ERR_BAD_RESPONSE');

  // Still alive and serving.
  const second = request(harness.url('/ok'));
  const req2 = await w.next('REQ');
  await w.send({ type: 'RES', stream: req2.stream, seq: 0, status: 200, headers: [], fin: true, body: Buffer.from('fine') });
  const res2 = await second;
  assert.equal(res2.statusCode, 200);
  assert.equal(await res2.body.text(), 'fine');
});

test('a second HELLO with a new epoch fails the old registration\'s streams and registers afresh', async () => {
  harness = await startHarness({ retries: 0 });
  const w = await harness.worker();
  const pending = request(harness.url('/slow'), { method: 'POST', body: 'x' });
  await w.next('REQ');
  await w.sendHello({ epoch: 'restarted', nonce: w.nonce + 1 });
  await w.next('WELCOME');
  const res = await pending;
  assert.equal(res.statusCode, 502);
  await res.body.dump();
});

test('a HELLO naming a workerId another live session holds, or that cannot be read, gets ERROR protocol', async () => {
  harness = await startHarness();
  const holder = await harness.worker();
  const w = new FakeWorker(harness.router.bindEndpoint);
  harness.workers.push(w);
  // The workerId is what humans see (admin, logs): naming it on another connection displaces nothing.
  await w.sendHello({ workerId: holder.id });
  assert.equal((await w.next('ERROR')).code, 'protocol');
  assert.equal(w.take('WELCOME').length, 0);
  const pending = request(harness.url('/still-the-holder'));
  const req = await holder.next('REQ');
  await holder.send({ type: 'RES', stream: req.stream, seq: 0, status: 200, headers: [], fin: true, body: Buffer.from('holder') });
  assert.equal(await (await pending).body.text(), 'holder', 'the registered session still serves');
  assert.equal(w.take('REQ').length, 0);

  const w2 = new FakeWorker(harness.router.bindEndpoint);
  harness.workers.push(w2);
  await w2.sendHello(); // register first so the raw send below cannot hit the pre-handshake window
  await w2.next('WELCOME');
  // ["ZP", 1, HELLO, "not-a-nonce"]: the nonce field has the wrong type.
  await w2.sendRaw([Buffer.from([0x94, 0xa2, 0x5a, 0x50, 0x01, 0x01, 0xa1, 0x78]), Buffer.alloc(0)]);
  assert.equal((await w2.next('ERROR')).code, 'protocol');
});

test('CREDIT after DRAIN is ignored: the draining worker gets no new request', async () => {
  harness = await startHarness({ queueTimeoutMs: 300 });
  const w = await harness.worker({ capacity: 1 });
  await w.send({ type: 'DRAIN', lastStream: 0 }, { type: 'CREDIT', credit: 5 });
  // A repeated HELLO is answered without changes; its WELCOME proves the two messages were read.
  await w.sendHello();
  await w.next('WELCOME');
  const res = await request(harness.url('/drained'));
  assert.equal(res.statusCode, 503);
  await res.body.dump();
  assert.equal(w.take('REQ').length, 0);
});
