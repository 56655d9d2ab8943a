/**
 * Connection handling around the preface sniff, in-process (real sockets, no worker needed): a
 * connection that closes before deciding its protocol is closed by the router too (node:http
 * allows half-open sockets, so a forgotten one would keep close() waiting for ever), and HTTP/1.1
 * keeps node's native parser fast path (the parser consumes the socket handle).
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { createFrontServer, type FrontServer } from '../../router/src/http/server-factory.ts';
import { startRouter, type RunningRouter } from '../../router/src/index.ts';
import { makeTempDir, withTimeout } from '../helpers/index.ts';

/** Connects, sends `bytes` (maybe none), half-closes, and resolves when the server closed too. */
async function connectSendAndEnd(url: string, bytes: string): Promise<void> {
  const { hostname, port } = new URL(url);
  const socket = net.connect({ host: hostname, port: Number(port) });
  socket.on('data', () => undefined);
  try {
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.once('close', () => resolve());
        socket.once('connect', () => socket.end(bytes));
      }),
      5000,
      `the router to close a connection that sent ${JSON.stringify(bytes)} and ended`,
    );
  } finally {
    socket.destroy();
  }
}

describe('connections before the protocol is known', () => {
  const tmp = makeTempDir();
  let router: RunningRouter;

  before(async () => {
    router = await startRouter({ httpHost: '127.0.0.1', httpPort: 0, bind: tmp.ipc('c.sock'), logger: pino({ level: 'silent' }), drainTimeoutMs: 1000 });
  });
  after(async () => {
    tmp.remove();
  });

  it('a connection that closes without a byte, or after a preface prefix, is closed by the router', async () => {
    await connectSendAndEnd(router.httpUrl, '');
    await connectSendAndEnd(router.httpUrl, 'PR');
    await connectSendAndEnd(router.httpUrl, 'PRI * HTTP/2.0\r\n');
  });

  it('and the router still closes promptly afterwards (no connection left behind)', async () => {
    await withTimeout(router.close(), 10_000, 'router.close() after connections that closed early');
  });
});

describe('a connection that sent nothing when the router closes', () => {
  const tmp = makeTempDir();
  after(() => tmp.remove());

  it('is closed by router.close(), which does not wait for the header timeout', async () => {
    // A header timeout far beyond the wait below: before the fix close() waited for it.
    const router = await startRouter({ httpHost: '127.0.0.1', httpPort: 0, bind: tmp.ipc('s.sock'), logger: pino({ level: 'silent' }), drainTimeoutMs: 1000, headerTimeoutMs: 600_000 });
    const { hostname, port } = new URL(router.httpUrl);
    const socket = net.connect({ host: hostname, port: Number(port) });
    socket.on('error', () => undefined);
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    try {
      await withTimeout(new Promise<void>((resolve) => socket.once('connect', () => resolve())), 5000, 'connect');
      await withTimeout(router.close(), 10_000, 'router.close() with a silent connection open');
      await withTimeout(closed, 5000, 'the silent connection to be closed by the router');
    } finally {
      socket.destroy();
    }
  });
});

describe('HTTP/1.1 after the sniff', () => {
  let front: FrontServer;
  let port = 0;

  before(async () => {
    front = createFrontServer({ maxHeaderSize: 16384 }, (req, res) => {
      // Node's fast path: the HTTP parser reads straight from the socket handle (no JS 'data').
      const handle = (req.socket as unknown as { _handle?: { _consumed?: boolean } })._handle;
      res.end(`${req.httpVersion} consumed=${String(handle?._consumed)}`);
    });
    await new Promise<void>((resolve) => front.server.listen(0, '127.0.0.1', resolve));
    port = (front.server.address() as net.AddressInfo).port;
  });
  after(() => {
    front.stopAccepting();
    front.closeAll();
  });

  it('keeps node:http parsing straight from the socket handle', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(5000) });
    assert.equal(await res.text(), '1.1 consumed=true');
  });
});
