/**
 * TLS front door (--tls-cert/--tls-key, a self-signed certificate made with openssl in the test):
 * ALPN picks h2 or http/1.1, streaming is byte-exact both ways on each, h2load over TLS, and
 * --no-access-log silences the access log. Also: the CLI refuses half a TLS pair.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import type { ClientHttp2Session } from 'node:http2';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { describeUnlessMissing } from '../helpers/skip.ts';
import { connect as tlsConnect } from 'node:tls';
import { deterministicSha256 } from '../fixtures/deterministic-bytes.ts';
import type { EchoReply } from '../fixtures/echo.ts';
import { runToExit, startRouter, startWorker, useTestEnvironment, withTimeout, type RouterProcess } from '../helpers/index.ts';
import { closeH2, connectH2, h2Request, hasCommand, makeSelfSignedCert, runCommand, sha256, type CertFiles } from './clients.ts';

const HAS_OPENSSL = hasCommand('openssl', 'version');
const HAS_H2LOAD = hasCommand('h2load');

describeUnlessMissing('TLS front door: ALPN h2 and http/1.1', HAS_OPENSSL ? false : 'openssl not installed (needed to make a test certificate)', () => {
  const env = useTestEnvironment();
  let certs: CertFiles;
  let router: RouterProcess;
  let session: ClientHttp2Session;

  before(async () => {
    certs = await makeSelfSignedCert(env.tmp.path);
    router = await startRouter(env.group, { bind: env.tmp.ipc('r.sock'), args: ['--heartbeat', '200', '--tls-cert', certs.cert, '--tls-key', certs.key, '--no-access-log'] });
    await startWorker(env.group, { connect: router.bindEndpoint, handler: 'routes', id: 'tls-worker' });
    session = await connectH2(router.httpUrl, { ca: certs.certPem });
  });
  after(async () => {
    if (session) await closeH2(session);
  });

  it('announces an https:// URL', () => {
    assert.match(router.httpUrl, /^https:\/\/127\.0\.0\.1:\d+$/);
  });

  it('ALPN: a client offering h2 gets h2, one offering only http/1.1 gets http/1.1', async () => {
    const { port } = new URL(router.httpUrl);
    for (const [offer, expected] of [
      [['h2', 'http/1.1'], 'h2'],
      [['http/1.1'], 'http/1.1'],
    ] as const) {
      const socket = tlsConnect({ host: '127.0.0.1', port: Number(port), ca: certs.certPem, servername: 'localhost', ALPNProtocols: [...offer] });
      try {
        await withTimeout(
          new Promise<void>((resolve, reject) => {
            socket.once('secureConnect', () => resolve());
            socket.once('error', reject);
          }),
          10_000,
          'TLS handshake',
        );
        assert.equal(socket.alpnProtocol, expected);
      } finally {
        socket.destroy();
      }
    }
    assert.equal(session.alpnProtocol, 'h2');
  });

  for (const [flag, version] of [
    ['--http1.1', '1.1'],
    ['--http2', '2'],
  ] as const) {
    it(`curl ${flag} over TLS: upload and download are byte-exact`, async () => {
      const upload = randomBytes(1024 * 1024 + 7);
      const file = path.join(env.tmp.path, `tls-upload-${version}.bin`);
      await writeFile(file, upload);
      const out = path.join(env.tmp.path, `tls-out-${version}.bin`);
      const base = ['-sS', flag, '--cacert', certs.cert, '-o', out, '-w', '%{http_version} %{http_code}'];
      const posted = await runCommand('curl', [...base, '--data-binary', `@${file}`, '-H', 'content-type: application/octet-stream', `${router.httpUrl}/echo`], 30_000);
      assert.equal(posted.code, 0, posted.stderr);
      assert.equal(posted.stdout.toString(), `${version} 200`);
      const reply = JSON.parse(await readFile(out, 'utf8')) as EchoReply;
      assert.equal(reply.bodySha256, sha256(upload));
      assert.equal(reply.headers['x-forwarded-proto'], 'https');
      assert.match(reply.headers['forwarded'] ?? '', /proto=https$/);

      const size = 2 * 1024 * 1024 + 11;
      const got = await runCommand('curl', [...base, `${router.httpUrl}/big?bytes=${size}`], 30_000);
      assert.equal(got.code, 0, got.stderr);
      assert.equal(got.stdout.toString(), `${version} 200`);
      const body = await readFile(out);
      assert.equal(body.length, size);
      assert.equal(sha256(body), deterministicSha256(size));
    });
  }

  it('Node http2 client over TLS: streaming both ways is byte-exact', async () => {
    const upload = randomBytes(2 * 1024 * 1024 + 1);
    const posted = await h2Request(session, '/echo', { method: 'POST', body: upload, chunkSize: 64 * 1024 });
    assert.equal(posted.status, 200);
    assert.equal((JSON.parse(posted.body.toString()) as EchoReply).bodySha256, sha256(upload));
    const size = 4 * 1024 * 1024;
    const got = await h2Request(session, `/big?bytes=${size}`);
    assert.equal(got.status, 200);
    assert.equal(sha256(got.body), deterministicSha256(size));
  });

  it('h2load over TLS: all requests succeed on h2', { skip: HAS_H2LOAD ? false : 'h2load not installed (Debian nghttp2-client)' }, async () => {
    const r = await runCommand('h2load', ['-n', '200', '-c', '2', '-m', '10', `${router.httpUrl}/h2load-tls`], 60_000);
    assert.equal(r.code, 0, r.stderr);
    const text = r.stdout.toString();
    assert.match(text, /requests: 200 total, 200 started, 200 done, 200 succeeded, 0 failed/, text);
    assert.match(text, /Application protocol: h2\b/, text);
  });

  it('--no-access-log: requests leave no access line', () => {
    assert.ok(router.proc.logs.some((l) => l.msg === 'router listening'));
    assert.equal(router.proc.findLogs((l) => l.msg === 'access').length, 0);
  });
});

describe('TLS flags', () => {
  const env = useTestEnvironment();

  it('half a TLS pair, an unreadable file or one that is not PEM exits 2 with one line on stderr', async () => {
    const certFile = path.join(env.tmp.path, 'only-cert.pem');
    await writeFile(certFile, 'not really a certificate');
    const half = await runToExit(['router', '--http', '127.0.0.1:0', '--tls-cert', certFile], 30_000);
    assert.equal(half.code, 2);
    assert.match(half.stderr.trim(), /^error: TLS needs both --tls-cert <file> and --tls-key <file>$/);
    const missing = await runToExit(['router', '--http', '127.0.0.1:0', '--tls-cert', path.join(env.tmp.path, 'nope.pem'), '--tls-key', certFile], 30_000);
    assert.equal(missing.code, 2);
    assert.equal(missing.stderr.trim().split('\n').length, 1, missing.stderr);
    assert.match(missing.stderr, /tls-cert/);
    const garbage = await runToExit(['router', '--http', '127.0.0.1:0', '--bind', env.tmp.ipc('g.sock'), '--tls-cert', certFile, '--tls-key', certFile], 30_000);
    assert.equal(garbage.code, 2, 'a file that is not PEM stops the start');
    assert.match(garbage.stderr.trim(), /^zeroproxy: cannot use the TLS certificate\/key: /);
  });
});
