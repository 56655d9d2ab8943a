/**
 * The cleartext front door serves HTTP/1.1 and h2c (prior knowledge) on one port, the same way:
 * streaming both ways byte-exact (curl, Node's http2 client), limits (413/431), client abort → RST
 * to the worker, proxy and trace headers, h2-forbidden response headers dropped, h2load, and one
 * access-log line per request.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ClientHttp2Session } from 'node:http2';
import { deterministicSha256 } from '../fixtures/deterministic-bytes.ts';
import type { EchoReply } from '../fixtures/echo.ts';
import { startRouter, startWorker, useTestEnvironment, withTimeout, type ManagedProcess, type RouterProcess } from '../helpers/index.ts';
import { closeH2, connectH2, h2Request, hasCommand, runCommand, sha256 } from './clients.ts';

const MAX_BODY = 4 * 1024 * 1024;
const MAX_HEADER = 8 * 1024;
const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const CURL_TIMEOUT_MS = 30_000;

const HAS_H2LOAD = hasCommand('h2load');

describe('cleartext front door: HTTP/1.1 and h2c on one port', () => {
  const env = useTestEnvironment();
  let router: RouterProcess;
  let worker: ManagedProcess;
  let session: ClientHttp2Session;

  before(async () => {
    router = await startRouter(env.group, {
      bind: env.tmp.ipc('r.sock'),
      args: ['--heartbeat', '200', '--max-body-size', String(MAX_BODY), '--max-header-size', String(MAX_HEADER)],
    });
    worker = await startWorker(env.group, { connect: router.bindEndpoint, handler: 'routes', id: 'fd-worker' });
    session = await connectH2(router.httpUrl);
  });
  after(async () => {
    if (session) await closeH2(session);
  });

  /** curl with a body file; returns the response body and "%{http_version} %{http_code}". */
  async function curl(flag: string, urlPath: string, extra: string[] = []): Promise<{ body: Buffer; version: string; status: number }> {
    const out = path.join(env.tmp.path, `curl-${Math.random().toString(36).slice(2)}.out`);
    const r = await runCommand('curl', ['-sS', flag, '-o', out, '-w', '%{http_version} %{http_code}', ...extra, `${router.httpUrl}${urlPath}`], CURL_TIMEOUT_MS);
    assert.equal(r.code, 0, `curl ${flag} failed: ${r.stderr}`);
    const [version, status] = r.stdout.toString().trim().split(' ');
    const { readFile } = await import('node:fs/promises');
    return { body: await readFile(out), version: version!, status: Number(status) };
  }

  for (const [flag, version] of [
    ['--http1.1', '1.1'],
    ['--http2-prior-knowledge', '2'],
  ] as const) {
    it(`curl ${flag}: POST upload and GET download are byte-exact`, async () => {
      const upload = randomBytes(1024 * 1024 + 123);
      const file = path.join(env.tmp.path, `upload-${version}.bin`);
      writeFileSync(file, upload);
      const posted = await curl(flag, '/echo', ['--data-binary', `@${file}`, '-H', 'content-type: application/octet-stream']);
      assert.equal(posted.version, version, 'curl spoke the protocol asked for');
      assert.equal(posted.status, 200);
      const reply = JSON.parse(posted.body.toString()) as EchoReply;
      assert.equal(reply.method, 'POST');
      assert.equal(reply.bodyLength, upload.length);
      assert.equal(reply.bodySha256, sha256(upload), 'the worker got the exact bytes');

      const size = 3 * 1024 * 1024 + 17;
      const got = await curl(flag, `/big?bytes=${size}`);
      assert.equal(got.version, version);
      assert.equal(got.status, 200);
      assert.equal(got.body.length, size);
      assert.equal(sha256(got.body), deterministicSha256(size), 'the client got the exact bytes');
    });
  }

  it('Node http2 client: uploads with back-pressure and downloads stream byte-exact', async () => {
    const upload = randomBytes(3 * 1024 * 1024 + 5);
    const posted = await h2Request(session, '/echo', { method: 'POST', body: upload, chunkSize: 100_000 });
    assert.equal(posted.status, 200);
    const reply = JSON.parse(posted.body.toString()) as EchoReply;
    assert.equal(reply.bodyLength, upload.length);
    assert.equal(reply.bodySha256, sha256(upload));

    const size = 5 * 1024 * 1024 + 3;
    const got = await h2Request(session, `/big?bytes=${size}`);
    assert.equal(got.status, 200);
    assert.equal(got.body.length, size);
    assert.equal(sha256(got.body), deterministicSha256(size));
  });

  it('Node http2 client: concurrent streams on one session each get their own response', async () => {
    const results = await Promise.all(
      Array.from({ length: 24 }, async (_, i) => {
        const body = Buffer.from(`stream body ${i} `.repeat(i * 100 + 1));
        const res = await h2Request(session, `/echo/${i}`, { method: 'POST', body, headers: { 'x-request-id': `h2-many-${i}` } });
        return { i, body, res };
      }),
    );
    for (const { i, body, res } of results) {
      assert.equal(res.status, 200);
      const reply = JSON.parse(res.body.toString()) as EchoReply;
      assert.equal(reply.path, `/echo/${i}`);
      assert.equal(reply.requestId, `h2-many-${i}`);
      assert.equal(res.headers['x-request-id'], `h2-many-${i}`);
      assert.equal(reply.bodySha256, sha256(body));
    }
  });

  it('h2: pseudo-headers become method, path and Host; proxy headers are added', async () => {
    const res = await h2Request(session, '/echo/pseudo?q=1', {
      method: 'PUT',
      body: Buffer.from('x'),
      headers: { forwarded: 'for=192.0.2.60;proto=https', 'x-forwarded-for': '192.0.2.60', cookie: ['a=1', 'b=2'] },
    });
    assert.equal(res.status, 200);
    const reply = JSON.parse(res.body.toString()) as EchoReply;
    const authority = new URL(router.httpUrl).host;
    assert.equal(reply.method, 'PUT');
    assert.equal(reply.path, '/echo/pseudo?q=1');
    assert.equal(reply.headers['host'], authority, ':authority reaches the worker as Host');
    assert.equal(reply.headers['x-forwarded-host'], authority);
    assert.equal(reply.headers['x-forwarded-proto'], 'http');
    assert.equal(reply.headers['x-forwarded-for'], '192.0.2.60, 127.0.0.1');
    assert.equal(reply.headers['forwarded'], `for=192.0.2.60;proto=https, for=127.0.0.1;host="${authority}";proto=http`, 'Forwarded is appended (RFC 7239)');
    assert.equal(reply.headers['cookie'], 'a=1; b=2', 'split h2 cookies are joined with "; " (RFC 9113 §8.2.3)');
    for (const name of Object.keys(reply.headers)) assert.ok(!name.startsWith(':'), `pseudo-header ${name} leaked to the worker`);
  });

  for (const protocol of ['h1', 'h2'] as const) {
    it(`${protocol}: a valid traceparent/tracestate crosses to the worker and back untouched; invalid ones are dropped`, async () => {
      const tracestate = 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7';
      const back = `00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01`;
      const query = `?set=${encodeURIComponent(`traceparent:${back}`)}&set=${encodeURIComponent('tracestate:vendor=x')}`;
      const headers = { traceparent: TRACEPARENT, tracestate };
      let status: number;
      let reply: EchoReply;
      let responseTrace: unknown;
      let responseState: unknown;
      if (protocol === 'h2') {
        const res = await h2Request(session, `/echo${query}`, { headers });
        status = res.status;
        reply = JSON.parse(res.body.toString()) as EchoReply;
        responseTrace = res.headers['traceparent'];
        responseState = res.headers['tracestate'];
      } else {
        const { httpRequest } = await import('../helpers/index.ts');
        const res = await httpRequest(`${router.httpUrl}/echo${query}`, { headers });
        status = res.status;
        reply = JSON.parse(res.body.toString()) as EchoReply;
        responseTrace = res.headers['traceparent'];
        responseState = res.headers['tracestate'];
      }
      assert.equal(status, 200);
      assert.equal(reply.headers['traceparent'], TRACEPARENT);
      assert.equal(reply.headers['tracestate'], tracestate);
      assert.equal(responseTrace, back, "the worker's traceparent reaches the client");
      assert.equal(responseState, 'vendor=x');

      // Upper-case hex and an all-zero trace id are invalid (W3C Trace Context §3.2.2): dropped with tracestate.
      for (const bad of [TRACEPARENT.toUpperCase(), `00-${'0'.repeat(32)}-00f067aa0ba902b7-01`, 'garbage']) {
        const res = await h2Request(session, `/echo?set=${encodeURIComponent(`traceparent:${bad}`)}`, { headers: { traceparent: bad, tracestate } });
        const seen = JSON.parse(res.body.toString()) as EchoReply;
        assert.equal(seen.headers['traceparent'], undefined, `invalid traceparent ${bad} was forwarded`);
        assert.equal(seen.headers['tracestate'], undefined, 'tracestate goes with an invalid traceparent');
        assert.equal(res.headers['traceparent'], undefined, 'an invalid traceparent from the worker is dropped too');
      }
    });
  }

  it('h2: hop-by-hop and h2-forbidden response headers from the worker are never sent', async () => {
    const sets = ['keep-alive:timeout=5', 'upgrade:websocket', 'proxy-connection:keep-alive', 'x-kept:yes'];
    const res = await h2Request(session, `/echo?${sets.map((s) => `set=${encodeURIComponent(s)}`).join('&')}`);
    assert.equal(res.status, 200, 'node would refuse to send these on h2 (502): the router strips them');
    for (const name of ['keep-alive', 'upgrade', 'proxy-connection', 'connection', 'transfer-encoding']) assert.equal(res.headers[name], undefined, name);
    assert.equal(res.headers['x-kept'], 'yes');
  });

  it('h2: a body over --max-body-size gets 413, declared or streamed, and the session keeps serving', async () => {
    const big = Buffer.alloc(MAX_BODY + 1, 0x61);
    const declared = await h2Request(session, '/upload', { method: 'POST', body: big, headers: { 'content-length': String(big.length) } });
    assert.equal(declared.status, 413);
    const streamed = await h2Request(session, '/upload', { method: 'POST', body: big });
    assert.equal(streamed.status, 413);
    const fits = await h2Request(session, '/upload', { method: 'POST', body: Buffer.alloc(1000, 0x62) });
    assert.equal(fits.status, 200);
  });

  it('h2: a header list over --max-header-size gets 431, and the session keeps serving', async () => {
    const res = await h2Request(session, '/big-head', { headers: { 'x-filler': 'f'.repeat(MAX_HEADER + 100) } });
    assert.equal(res.status, 431);
    const ok = await h2Request(session, '/after-431');
    assert.equal(ok.status, 200);
  });

  it('h2: a client that resets its stream makes the router reset the worker stream (cancel)', async () => {
    const requestId = `h2-abort-${Date.now()}`;
    const stream = session.request({ ':method': 'GET', ':path': '/abort', 'x-request-id': requestId });
    const first = await withTimeout(
      new Promise<Buffer>((resolve, reject) => {
        stream.once('data', resolve);
        stream.once('error', reject);
      }),
      10_000,
      'the first tick over h2',
    );
    assert.match(first.toString(), /^tick 1/);
    stream.close(0x8 /* CANCEL */);
    const reset = await worker.waitForLog((l) => l.msg === 'stream reset' && l['requestId'] === requestId, 10_000, '"stream reset" for the cancelled h2 stream');
    assert.equal(reset['code'], 'cancel');
    await worker.waitForLog((l) => l.msg === 'fixture saw abort' && l['requestId'] === requestId, 10_000, "the handler's signal to abort");
    const ok = await h2Request(session, '/after-abort');
    assert.equal(ok.status, 200);
  });

  it('h2: a client that stops reading stalls the worker (flow control through write()/drain)', async () => {
    const MiB = 1024 * 1024;
    const requestId = `h2-slow-${Date.now()}`;
    const produced = (): number =>
      worker.findLogs((l) => l.msg === 'fixture produced' && l['requestId'] === requestId).reduce((max, l) => Math.max(max, Number(l['bytes'])), 0);
    const stream = session.request({ ':method': 'GET', ':path': `/endless?bytes=${1024 * MiB}`, 'x-request-id': requestId });
    let received = 0;
    try {
      await withTimeout(
        new Promise<void>((resolve, reject) => {
          stream.once('error', reject);
          stream.on('data', (chunk: Buffer) => {
            received += chunk.length;
            if (received >= MiB && !stream.isPaused()) {
              stream.pause(); // no more reads → no WINDOW_UPDATE from this client
              resolve();
            }
          });
        }),
        15_000,
        'the first MiB over h2',
      );
      // Watch the producer until it goes quiet for 1 s (bounded by a deadline).
      const deadline = Date.now() + 20_000;
      let last = produced();
      for (let i = 0; i < 4096 && Date.now() < deadline; i++) {
        const progressed = await worker
          .waitForLog((l) => l.msg === 'fixture produced' && l['requestId'] === requestId && Number(l['bytes']) > last, 1000, 'progress')
          .then(() => true, () => false);
        if (!progressed) break;
        last = produced();
      }
      const stalledAt = produced();
      assert.ok(Date.now() < deadline, `the worker never stalled: ${stalledAt} bytes produced for a client that read ${received}`);
      assert.ok(stalledAt <= received + 32 * MiB, `worker produced ${(stalledAt / MiB).toFixed(1)} MiB while the h2 client read ${(received / MiB).toFixed(1)} MiB`);
    } finally {
      stream.close(0x8 /* CANCEL */);
    }
    await worker.waitForLog((l) => l.msg === 'fixture saw abort' && l['requestId'] === requestId, 10_000, 'the endless stream to be cancelled');
  });

  it('h2load: many multiplexed requests (h2c) and HTTP/1.1 requests all succeed', { skip: HAS_H2LOAD ? false : 'h2load not installed (Debian nghttp2-client)' }, async () => {
    const h2 = await runCommand('h2load', ['-n', '400', '-c', '4', '-m', '10', `${router.httpUrl}/h2load`], 60_000);
    assert.equal(h2.code, 0, h2.stderr);
    const text = h2.stdout.toString();
    assert.match(text, /requests: 400 total, 400 started, 400 done, 400 succeeded, 0 failed/, text);
    assert.match(text, /status codes: 400 2xx/, text);
    assert.match(text, /Application protocol: h2c/, text);
    const h1 = await runCommand('h2load', ['--h1', '-n', '100', '-c', '2', `${router.httpUrl}/h2load-h1`], 60_000);
    assert.equal(h1.code, 0, h1.stderr);
    assert.match(h1.stdout.toString(), /requests: 100 total, 100 started, 100 done, 100 succeeded, 0 failed/, h1.stdout.toString());
    assert.match(h1.stdout.toString(), /Application protocol: http\/1\.1/);
  });

  it('one access-log line per request: id, method, path, status, bytes, duration, worker, attempts, protocol', async () => {
    const requestId = `access-${Date.now()}`;
    const body = Buffer.alloc(5000, 0x63);
    const res = await h2Request(session, '/echo/logged', { method: 'POST', body, headers: { 'x-request-id': requestId } });
    assert.equal(res.status, 200);
    const line = await router.proc.waitForLog((l) => l.msg === 'access' && l['requestId'] === requestId, 10_000, 'the access line');
    assert.equal(line['method'], 'POST');
    assert.equal(line['path'], '/echo/logged');
    assert.equal(line['status'], 200);
    assert.equal(line['bytesIn'], body.length);
    assert.equal(line['bytesOut'], res.body.length);
    assert.equal(line['workerId'], 'fd-worker');
    assert.equal(line['attempts'], 1);
    assert.equal(line['protocol'], 'HTTP/2.0');
    assert.equal(line['level'], 30, 'info');
    assert.ok(typeof line['durationMs'] === 'number' && line['durationMs'] >= 0);

    const h1Id = `access-h1-${Date.now()}`;
    const { httpRequest } = await import('../helpers/index.ts');
    await httpRequest(`${router.httpUrl}/status/404`, { headers: { 'x-request-id': h1Id } });
    const h1Line = await router.proc.waitForLog((l) => l.msg === 'access' && l['requestId'] === h1Id, 10_000, 'the HTTP/1.1 access line');
    assert.equal(h1Line['protocol'], 'HTTP/1.1');
    assert.equal(h1Line['status'], 404);
    assert.equal(h1Line['method'], 'GET');
  });
});

describe('h2 and router shutdown', () => {
  const env = useTestEnvironment();

  it('SIGTERM: an in-flight h2 stream finishes (GOAWAY, not a reset), then the router exits 0', async () => {
    const router = await startRouter(env.group, { bind: env.tmp.ipc('s.sock'), args: ['--heartbeat', '200'] });
    const worker = await startWorker(env.group, { connect: router.bindEndpoint, handler: 'routes', id: 'fd-drain-worker' });
    const session = await connectH2(router.httpUrl);
    try {
      const requestId = `h2-drain-${Date.now()}`;
      const pending = h2Request(session, '/slow-echo?delay=1500', { headers: { 'x-request-id': requestId } });
      await worker.waitForLog((l) => l.msg === 'fixture request started' && l['requestId'] === requestId, 10_000, 'the slow request to reach the worker');
      router.proc.signal('SIGTERM');
      const res = await pending;
      assert.equal(res.status, 200);
      assert.equal((JSON.parse(res.body.toString()) as EchoReply).requestId, requestId);
      const exit = await router.proc.waitForExit(15_000);
      assert.equal(exit.code, 0);
    } finally {
      session.destroy();
    }
  });
});
