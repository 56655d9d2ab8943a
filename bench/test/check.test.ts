/**
 * The correctness check and the download client against a real HTTP server that misbehaves on
 * purpose: a proxy answering errors or short bodies must fail its scenario, never score.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { checkResponse, runDownload } from '../scenarios.ts';

let server: Server;
let base = '';

before(async () => {
  server = createServer((req, res) => {
    const path = req.url ?? '/';
    req.resume();
    if (path === '/ok') {
      res.end(Buffer.alloc(1024, 'x'));
    } else if (path === '/bad-gateway') {
      res.statusCode = 502;
      res.end('no worker');
    } else if (path === '/short') {
      res.end(Buffer.alloc(1000, 'x'));
    } else if (path === '/stream') {
      res.setHeader('content-length', String(4 * 1024 * 1024));
      const chunk = Buffer.alloc(64 * 1024, 'z');
      for (let i = 0; i < 64; i++) res.write(chunk);
      res.end();
    } else if (path === '/cut') {
      // Promises 4 MiB, sends 1 MiB, then drops the connection.
      res.setHeader('content-length', String(4 * 1024 * 1024));
      res.write(Buffer.alloc(1024 * 1024, 'z'), () => res.destroy());
    } else {
      res.statusCode = 404;
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

test('a correct answer passes the check', async () => {
  await checkResponse(base, { method: 'GET', path: '/ok', responseBytes: 1024 });
});

test('an error status or a body of the wrong length fails the check', async () => {
  await assert.rejects(checkResponse(base, { method: 'GET', path: '/bad-gateway', responseBytes: 1024 }), /answered 502/);
  await assert.rejects(checkResponse(base, { method: 'GET', path: '/short', responseBytes: 1024 }), /answered 1000 bytes, expected 1024/);
  await assert.rejects(checkResponse(base, { method: 'POST', path: '/missing', body: Buffer.alloc(10), responseBytes: 10 }), /answered 404/);
});

test('a full download is timed and the memory of the given process tree sampled', async () => {
  const r = await runDownload(base, '/stream', 4 * 1024 * 1024, process.pid);
  assert.equal(r.bytes, 4 * 1024 * 1024);
  assert.ok(r.seconds > 0 && r.mibPerSec > 0);
  assert.ok(r.frontRssStartMiB !== null && r.frontRssStartMiB > 0);
  assert.ok(r.frontRssPeakMiB !== null && r.frontRssPeakMiB >= r.frontRssStartMiB);
});

test('a download cut short or answered with an error fails', async () => {
  await assert.rejects(runDownload(base, '/cut', 4 * 1024 * 1024, process.pid), /cut off after|expected 4194304/);
  await assert.rejects(runDownload(base, '/bad-gateway', 1024, process.pid), /answered 502/);
});
