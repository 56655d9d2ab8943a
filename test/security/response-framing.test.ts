/**
 * The router frames every response itself (issue 11, items 1–3): a real router process, a raw
 * ZeroMQ worker on loopback that answers each path with a scripted (often hostile) sequence of
 * messages, and raw HTTP/1.1 keep-alive connections (and an HTTP/2 client) that read exactly what
 * the router wrote. Whatever a worker sends beyond its declared length must never become the answer
 * to the next request on the same connection; a body that ends early cuts the connection; a head the
 * router refuses (framing, status, codec limits) is a 502 at once, never a wait for the deadline.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import http2 from 'node:http2';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EMPTY_BODY, encodeInto, type Message, type Req } from '../../proto/src/index.ts';
import { FakeWorker } from '../router/fake-worker.ts';
import { httpRequest, startRouter, useTestEnvironment, withTimeout, type LogLine, type RouterProcess } from '../helpers/index.ts';
import { RawH1Connection } from './raw-h1.ts';

const X70 = Buffer.alloc(70, 'X');
const te = (s: string): Buffer => Buffer.from(s);

type Script = (w: FakeWorker, req: Req, release: Promise<void>) => Promise<void>;

function res(stream: number, seq: number, status: number, headers: string[], fin: boolean, body: Buffer = EMPTY_BODY): Message {
  return { type: 'RES', stream, seq, status, headers, fin, body };
}
function data(stream: number, seq: number, fin: boolean, body: Buffer = EMPTY_BODY): Message {
  return { type: 'DATA', stream, seq, fin, body };
}

/** One answer in one batch. */
const batch =
  (make: (s: number) => Message[]): Script =>
  (w, req) =>
    w.send(...make(req.stream));

const manyHeaders = (n: number): string[] => Array.from({ length: n }, (_, i) => [`x-h${i}`, 'v']).flat();

const SCRIPTS: Record<string, Script> = {
  '/ok': batch((s) => [res(s, 0, 200, ['content-type', 'text/plain'], true, te('ok'))]),
  // Content-Length 2, 70 bytes, all in one turn: nothing was sent yet → 502.
  '/cl-over-batch': batch((s) => [res(s, 0, 200, ['content-length', '2'], false), data(s, 1, true, X70)]),
  // Content-Length 2 and its 2 bytes out, then 70 more: the connection is cut, the 70 never sent.
  '/cl-over-later': async (w, req, release) => {
    await w.send(res(req.stream, 0, 200, ['content-length', '2'], false, te('ab')));
    await release;
    await w.send(data(req.stream, 1, true, X70));
  },
  // Content-Length 100, 10 bytes, then FIN: the connection is cut (never reused for the next answer).
  '/cl-short': async (w, req, release) => {
    await w.send(res(req.stream, 0, 200, ['content-length', '100'], false, Buffer.alloc(10, 'a')));
    await release;
    await w.send(data(req.stream, 1, true));
  },
  '/cl-bad/letters': batch((s) => [res(s, 0, 200, ['content-length', 'abc'], true, te('abc'))]),
  '/cl-bad/negative': batch((s) => [res(s, 0, 200, ['content-length', '-1'], true)]),
  '/cl-bad/sign': batch((s) => [res(s, 0, 200, ['content-length', '+3'], true, te('abc'))]),
  '/cl-bad/list': batch((s) => [res(s, 0, 200, ['content-length', '3, 4'], true, te('abc'))]),
  '/cl-bad/two': batch((s) => [res(s, 0, 200, ['content-length', '3', 'Content-Length', '4'], true, te('abc'))]),
  '/cl-bad/empty': batch((s) => [res(s, 0, 200, ['content-length', ''], true)]),
  '/cl-dup': batch((s) => [res(s, 0, 200, ['content-length', '5', 'content-length', '5'], true, te('hello'))]),
  '/hop': batch((s) => [
    res(
      s,
      0,
      200,
      [
        'transfer-encoding', 'chunked',
        'connection', 'close, x-named',
        'x-named', 'v',
        'keep-alive', 'timeout=1',
        'upgrade', 'h2c',
        'proxy-foo', 'x',
        'proxy-connection', 'close',
        'te', 'trailers',
        'trailer', 'x-t',
        'x-keep', 'yes',
      ],
      true,
      te('hop-ok'),
    ),
  ]),
  '/204': batch((s) => [res(s, 0, 204, ['content-length', '5'], true, te('hello'))]),
  '/304': batch((s) => [res(s, 0, 304, ['content-length', '5', 'etag', '"e"'], true, te('hello'))]),
  '/head-body': batch((s) => [res(s, 0, 200, ['content-length', '5'], true, te('hello'))]),
  '/head-stream': batch((s) => [res(s, 0, 200, [], false), data(s, 1, true, te('hello'))]),
  '/big-head/fields': batch((s) => [res(s, 0, 200, manyHeaders(1000), true, te('never'))]),
  '/big-head/value': batch((s) => [res(s, 0, 200, ['x-big', 'v'.repeat(1024 * 1024)], true, te('never'))]),
  '/status/700': batch((s) => [res(s, 0, 700, [], true, te('x'))]),
  '/status/101': batch((s) => [res(s, 0, 101, [], false)]),
  '/status/299': batch((s) => [res(s, 0, 299, [], true, te('odd'))]),
  '/bad-name': batch((s) => [res(s, 0, 200, ['x-leak', '1', 'bad name', 'v'], true, te('x'))]),
  '/early-hints': batch((s) => [
    res(s, 0, 103, ['link', '</a.css>; rel=preload; as=style', 'x-other', 'dropped'], false),
    res(s, 1, 200, [], true, te('hinted')),
  ]),
  '/continue': batch((s) => [res(s, 0, 100, [], false), res(s, 1, 102, [], false), res(s, 2, 200, [], true, te('final'))]),
  '/ws-op': batch((s) => [res(s, 0, 200, [], false), { type: 'DATA', stream: s, seq: 1, fin: true, body: te('x'), op: 'text' }]),
  '/res-rst': batch((s) => [res(s, 0, 200, ['content-type', 'text/plain'], false), { type: 'RST', stream: s, code: 'internal', message: 'changed my mind' }]),
  '/ws-refuse': batch((s) => [res(s, 0, 403, ['content-length', '2'], false), data(s, 1, true, X70)]),
};

describe('the router frames every response (issue 11 items 1–3)', () => {
  const env = useTestEnvironment();
  let router: RouterProcess;
  let worker: FakeWorker;
  let stop = false;
  let loop: Promise<void> = Promise.resolve();
  /** Stream id of the latest REQ per path, and the release of its script's second half. */
  const streams = new Map<string, number>();
  const releases = new Map<string, () => void>();
  const connections: RawH1Connection[] = [];

  function release(path: string): void {
    releases.get(path)?.();
  }

  before(async () => {
    // --request-timeout 0: a refused response that is not answered at once would hang forever
    // (the test's own bounds catch that) instead of becoming a 504 after 60 s.
    router = await startRouter(env.group, { bind: env.tmp.ipc('r.sock'), args: ['--request-timeout', '0', '--admin', '127.0.0.1:0'] });
    worker = new FakeWorker(router.bindEndpoint, { capacity: 64, window: 1 << 20 });
    await worker.sendHello({}, 30_000);
    await worker.next('WELCOME', 30_000);
    loop = serve();
  });

  after(async () => {
    stop = true;
    for (const r of releases.values()) r();
    await loop.catch(() => undefined);
    for (const c of connections) c.close();
    await worker?.close();
  });

  async function serve(): Promise<void> {
    while (!stop) {
      let req: Req;
      try {
        req = await worker.next('REQ', 200);
      } catch {
        await worker.send({ type: 'HEARTBEAT', epoch: worker.epoch }).catch(() => undefined);
        continue;
      }
      const path = req.path.split('?')[0]!;
      streams.set(path, req.stream);
      const script = SCRIPTS[path] ?? SCRIPTS['/ok']!;
      const gate = new Promise<void>((resolve) => releases.set(path, resolve));
      // Scripts run concurrently (one may wait for its release while others are served).
      void script(worker, req, gate)
        .catch(() => undefined)
        .finally(() => worker.send({ type: 'CREDIT', credit: 1 }).catch(() => undefined));
    }
  }

  async function open(): Promise<RawH1Connection> {
    const c = await RawH1Connection.open(router.httpUrl);
    connections.push(c);
    return c;
  }

  /** The worker got an RST for the stream of `path`. */
  async function workerWasReset(path: string): Promise<void> {
    const id = streams.get(path);
    assert.ok(id !== undefined, `the worker saw ${path}`);
    await worker.next('RST', 10_000, (m) => m.stream === id);
  }

  it('declared 2, sent 70 in one turn: 502, and the next request on the connection gets its own answer', async () => {
    const c = await open();
    c.request('/cl-over-batch');
    const first = await c.response();
    assert.equal(first.statusLine, 'HTTP/1.1 502 Bad Gateway');
    c.request('/ok');
    const second = await c.response();
    assert.equal(second.status, 200);
    assert.equal(second.body.toString(), 'ok');
    assert.ok(!c.allBytes().includes('XXXX'), 'none of the excess bytes reached the client');
    await workerWasReset('/cl-over-batch');
  });

  it('declared 2, sent 2 then 70 more: the connection is cut, the 70 bytes never sent', async () => {
    const c = await open();
    c.request('/cl-over-later');
    const first = await c.response();
    assert.equal(first.status, 200);
    assert.equal(first.body.toString(), 'ab');
    release('/cl-over-later');
    assert.equal(await c.waitClosed(15_000), true, 'the router closed the connection');
    assert.ok(!c.allBytes().includes('XXXX'), 'none of the excess bytes reached the client');
    await workerWasReset('/cl-over-later');
  });

  it('declared 100, sent 10 then FIN: the connection is cut, a pipelined request\'s answer never lands in the body', async () => {
    const c = await open();
    c.write('GET /cl-short HTTP/1.1\r\nHost: t\r\n\r\nGET /ok HTTP/1.1\r\nHost: t\r\n\r\n');
    await c.waitBytes((all) => all.includes('aaaaaaaaaa'), 10_000, 'the first 10 body bytes');
    release('/cl-short');
    assert.equal(await c.waitClosed(15_000), true, 'the router closed the connection');
    const all = c.allBytes().toString('latin1');
    assert.equal(all.split('HTTP/1.1 ').length - 1, 1, `only the first response's head: ${JSON.stringify(all.slice(0, 400))}`);
    assert.ok(all.endsWith('\r\n\r\naaaaaaaaaa'), 'the head and the 10 bytes, nothing after them');
  });

  it('an invalid or conflicting content-length is a 502', async () => {
    const c = await open();
    for (const variant of ['letters', 'negative', 'sign', 'list', 'two', 'empty']) {
      c.request(`/cl-bad/${variant}`);
      const r = await c.response();
      assert.equal(r.statusLine, 'HTTP/1.1 502 Bad Gateway', variant);
    }
  });

  it('identical content-length fields are folded into one', async () => {
    const c = await open();
    c.request('/cl-dup');
    const r = await c.response();
    assert.equal(r.status, 200);
    assert.deepEqual(r.headers.filter(([k]) => k === 'content-length'), [['content-length', '5']]);
    assert.equal(r.body.toString(), 'hello');
  });

  it('hop-by-hop and framing fields from the worker never reach the client', async () => {
    const c = await open();
    c.request('/hop');
    const r = await c.response();
    assert.equal(r.status, 200);
    const names = r.headers.map(([k]) => k);
    for (const banned of ['transfer-encoding', 'x-named', 'upgrade', 'proxy-foo', 'proxy-connection', 'te', 'trailer']) {
      assert.ok(!names.includes(banned), `${banned} was dropped: ${JSON.stringify(r.headers)}`);
    }
    // (node writes its own Connection / Keep-Alive: the worker's values must not be among them.)
    assert.ok(!r.headers.some(([k, v]) => (k === 'connection' && /close|x-named/.test(v)) || (k === 'keep-alive' && v.includes('timeout=1'))), JSON.stringify(r.headers));
    assert.deepEqual(r.headers.find(([k]) => k === 'x-keep'), ['x-keep', 'yes']);
    assert.equal(r.body.toString(), 'hop-ok');
    c.request('/ok');
    assert.equal((await c.response()).body.toString(), 'ok', 'the connection still frames correctly');
  });

  it('204, 304 and HEAD carry no body whatever the worker sends; 204 has no content-length', async () => {
    const c = await open();
    c.request('/204');
    const r204 = await c.response();
    assert.equal(r204.statusLine, 'HTTP/1.1 204 No Content');
    assert.ok(!r204.headers.some(([k]) => k === 'content-length' || k === 'transfer-encoding'), JSON.stringify(r204.headers));
    c.request('/304');
    const r304 = await c.response();
    assert.equal(r304.status, 304);
    c.request('/head-body', 'HEAD');
    const head = await c.response(10_000, true);
    assert.equal(head.status, 200);
    assert.deepEqual(head.headers.find(([k]) => k === 'content-length'), ['content-length', '5']);
    c.request('/head-stream', 'HEAD');
    assert.equal((await c.response(10_000, true)).status, 200);
    c.request('/ok');
    const ok = await c.response();
    assert.equal(ok.body.toString(), 'ok', 'no body bytes of those responses were left on the connection');
    assert.ok(!c.allBytes().includes('hello'));
    await workerWasReset('/head-stream');
  });

  it('a response head over the codec limits is a 502 at once (no deadline is set), and the worker gets an RST', async () => {
    const c = await open();
    for (const path of ['/big-head/fields', '/big-head/value']) {
      c.request(path);
      const r = await c.response(20_000);
      assert.equal(r.statusLine, 'HTTP/1.1 502 Bad Gateway', path);
      await workerWasReset(path);
    }
  });

  it('statuses outside 200–599 and 101 on a plain request are 502; an unknown status gets no made-up reason', async () => {
    const c = await open();
    for (const path of ['/status/700', '/status/101']) {
      c.request(path);
      assert.equal((await c.response()).statusLine, 'HTTP/1.1 502 Bad Gateway', path);
    }
    c.request('/status/299');
    const odd = await c.response();
    assert.equal(odd.statusLine, 'HTTP/1.1 299 ');
    assert.equal(odd.body.toString(), 'odd');
  });

  it('a head node refuses is "502 Bad Gateway" (never "502 OK"), with none of the worker\'s fields', async () => {
    const c = await open();
    c.request('/bad-name');
    const r = await c.response();
    assert.equal(r.statusLine, 'HTTP/1.1 502 Bad Gateway');
    assert.ok(!r.headers.some(([k]) => k === 'x-leak'));
  });

  it('103 Early Hints is relayed (Link only); 100 and 102 are dropped, not a 502', async () => {
    const c = await open();
    c.request('/early-hints');
    const hint = await c.response();
    assert.equal(hint.status, 103);
    assert.deepEqual(hint.headers.find(([k]) => k === 'link'), ['link', '</a.css>; rel=preload; as=style']);
    assert.ok(!hint.headers.some(([k]) => k === 'x-other'));
    const final = await c.response();
    assert.equal(final.status, 200);
    assert.equal(final.body.toString(), 'hinted');
    c.request('/continue');
    const r = await c.response();
    assert.equal(r.status, 200, `got ${r.statusLine}`);
    assert.equal(r.body.toString(), 'final');
  });

  it('DATA with a WebSocket op on a plain HTTP stream is a protocol error: 502', async () => {
    const c = await open();
    c.request('/ws-op');
    assert.equal((await c.response()).statusLine, 'HTTP/1.1 502 Bad Gateway');
    await workerWasReset('/ws-op');
  });

  it('RES then RST in the same turn: nothing reached the client, so it gets 502, not an empty reply', async () => {
    const c = await open();
    c.request('/res-rst');
    const r = await c.response();
    assert.equal(r.statusLine, 'HTTP/1.1 502 Bad Gateway');
  });

  it('a refused WebSocket upgrade is framed by the same code: no excess bytes', async () => {
    const c = await open();
    c.write(
      'GET /ws-refuse HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    const r = await c.response();
    assert.equal(r.statusLine, 'HTTP/1.1 502 Bad Gateway');
    await c.waitClosed(15_000);
    assert.ok(!c.allBytes().includes('XXXX'));
  });

  it('HTTP/2: an over-long body is a 502, a short one resets the stream, a refused head leaks nothing', async () => {
    const session = http2.connect(router.httpUrl);
    session.on('error', () => undefined);
    try {
      const ask = (path: string, onHead?: () => void, method = 'GET'): Promise<{ status: number; headers: http2.IncomingHttpHeaders; body: string; rstCode: number }> =>
        withTimeout(
          new Promise((resolve) => {
            const req = session.request({ ':path': path, ':method': method });
            let status = 0;
            let headers: http2.IncomingHttpHeaders = {};
            const chunks: Buffer[] = [];
            req.on('response', (h) => {
              headers = h;
              status = Number(h[':status']);
              onHead?.();
            });
            req.on('data', (d: Buffer) => chunks.push(d));
            req.on('error', () => undefined);
            req.on('close', () => resolve({ status, headers, body: Buffer.concat(chunks).toString(), rstCode: req.rstCode ?? 0 }));
            req.end();
          }),
          15_000,
          `h2 ${path}`,
        );
      const over = await ask('/cl-over-batch');
      assert.equal(over.status, 502);
      assert.ok(!over.body.includes('XXXX'));
      const short = await ask('/cl-short', () => release('/cl-short'));
      assert.equal(short.status, 200);
      assert.notEqual(short.rstCode, 0, 'the stream was reset, not ended');
      const bad = await ask('/bad-name');
      assert.equal(bad.status, 502);
      assert.equal(bad.headers['x-leak'], undefined, 'none of the refused head\'s fields');
      const rst = await ask('/res-rst');
      assert.equal(rst.status, 502);
      for (const [path, method, status] of [['/204', 'GET', 204], ['/304', 'GET', 304], ['/head-body', 'HEAD', 200]] as const) {
        const r = await ask(path, undefined, method);
        assert.equal(r.status, status, path);
        assert.equal(r.body, '', `${path}: no body`);
        assert.equal(r.rstCode, 0, `${path}: ended cleanly`);
        if (path === '/204') assert.equal(r.headers['content-length'], undefined);
      }
    } finally {
      session.destroy();
    }
  });

  it('refusals are counted by reason in the router\'s warning', async () => {
    const line = await router.proc.waitForLog(
      (l: LogLine) => l.msg === 'stream reset: worker broke the protocol' && typeof l['reason'] === 'string' && typeof l['reasons'] === 'object',
      10_000,
      'a counted protocol violation',
    );
    assert.ok(Object.values(line['reasons'] as Record<string, number>).reduce((a, b) => a + b, 0) >= 1);
    // And in /metrics, by reason.
    const listening = router.proc.findLogs((l: LogLine) => l.msg === 'router listening')[0]!;
    const metrics = (await httpRequest(`${String(listening['admin']).replace(/\/$/, '')}/metrics`, { timeoutMs: 10_000 })).body.toString();
    for (const reason of ['length_mismatch', 'bad_head', 'bad_status', 'undecodable', 'ws_op_on_http', 'informational_dropped']) {
      const m = new RegExp(`^zeroproxy_protocol_drops_total\\{reason="response_${reason}"\\} (\\d+)`, 'm').exec(metrics);
      assert.ok(m !== null && Number(m[1]) >= 1, `response_${reason} counted: ${metrics.split('\n').filter((l) => l.includes('drops_total')).join(' | ')}`);
    }
    assert.equal(router.proc.exitInfo, undefined, 'the router is still running');
  });
});

describe('a registered worker that changes protocol version mid-session (SPEC §8.3)', () => {
  const env = useTestEnvironment();

  it('loses its session at once: the request gets 502 (no deadline is set), the worker gets ERROR version', async () => {
    const router = await startRouter(env.group, { bind: env.tmp.ipc('v.sock'), args: ['--request-timeout', '0', '--heartbeat', '60000'] });
    // (A long heartbeat: the fake worker sends none, and liveness must not be what ends the request.)
    const worker = new FakeWorker(router.bindEndpoint, { capacity: 4 });
    try {
      await worker.sendHello({}, 30_000);
      await worker.next('WELCOME', 30_000);
      // A POST the worker saw: not replayable, so the lost session's request is answered 502 at once.
      const answer = httpRequest(`${router.httpUrl}/v2`, { method: 'POST', body: 'x' });
      const req = await worker.next('REQ', 10_000);
      // A RES whose header says version 2: the fixarray byte, "ZP" (3 bytes), then the version.
      const frames: Buffer[] = [];
      encodeInto(frames, res(req.stream, 0, 200, [], true, te('never')));
      assert.equal(frames[0]![4], 1, 'version byte found');
      frames[0]![4] = 2;
      await worker.sendRaw(frames);
      const r = await withTimeout(answer, 10_000, 'the answer');
      assert.equal(r.status, 502);
      assert.equal((await worker.next('ERROR', 10_000)).code, 'version');
    } finally {
      await worker.close();
    }
  });
});

describe('fan-out: a winning head that node refuses', () => {
  const env = useTestEnvironment();

  it('fails that attempt only: the other attempt answers (no hang), with a right reason phrase', async () => {
    const config = path.join(env.tmp.path, 'fanout.yaml');
    writeFileSync(config, 'routes:\n  - match: { pathPrefix: / }\n    plugins:\n      - plugin: fanout\n        config: { mode: parallel, targets: workers }\n');
    const router = await startRouter(env.group, { bind: env.tmp.ipc('f.sock'), args: ['--request-timeout', '0', '--heartbeat', '60000', '--config', config] });
    const bad = new FakeWorker(router.bindEndpoint, { capacity: 4 });
    const good = new FakeWorker(router.bindEndpoint, { capacity: 4 });
    try {
      for (const w of [bad, good]) {
        await w.sendHello({}, 30_000);
        await w.next('WELCOME', 30_000);
      }
      const answer = httpRequest(`${router.httpUrl}/race`);
      const [badReq, goodReq] = await Promise.all([bad.next('REQ', 10_000), good.next('REQ', 10_000)]);
      // The bad head first: had it won, node's refusal would have left the request without an answer.
      await bad.send(res(badReq.stream, 0, 200, ['x-leak', '1', 'bad name', 'v'], true, te('bad')));
      // A barrier: DATA for a stream nobody has gets one RST; the router reads a peer's messages in order.
      await bad.send(data(999_999, 0, true));
      await bad.next('RST', 10_000, (m) => m.stream === 999_999);
      await good.send(res(goodReq.stream, 0, 200, ['content-type', 'text/plain'], true, te('good')));
      const r = await withTimeout(answer, 10_000, 'the answer');
      assert.equal(r.status, 200);
      assert.equal(r.body.toString(), 'good');
      assert.equal(r.headers['x-leak'], undefined);
    } finally {
      await bad.close();
      await good.close();
    }
  });
});
