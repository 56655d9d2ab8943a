/**
 * A slow reader must not make the router buffer without bound. A client starts a 1 GiB streaming
 * response, reads 1 MiB, then stops reading. Flow control (WINDOW) must stall the worker: the bytes
 * its handler has produced stop growing at a small bound, and the router's RSS stays flat. When the
 * client reads again, the stream resumes.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { readRssBytes, startRouter, startWorker, useTestEnvironment, withTimeout, type ManagedProcess, type RouterProcess } from '../helpers/index.ts';

const MiB = 1024 * 1024;
const TOTAL = 1024 * MiB;
const READ_BEFORE_PAUSE = 1 * MiB;
/** How far the producer may run ahead of the reader: windows plus kernel socket buffers, with room. */
const MAX_PRODUCED_AHEAD = 32 * MiB;
const MAX_RSS_GROWTH = 64 * MiB;
/** "Stalled" = no progress line for this long. */
const STALL_QUIET_MS = 1000;

describe('slow reader', () => {
  const env = useTestEnvironment();
  let router: RouterProcess;
  let worker: ManagedProcess;
  const sockets: net.Socket[] = [];
  after(() => sockets.forEach((s) => s.destroy()));

  before(async () => {
    router = await startRouter(env.group, { bind: env.tmp.ipc('r.sock'), args: ['--heartbeat', '200', '--window', '262144'] });
    worker = await startWorker(env.group, { connect: router.bindEndpoint, handler: 'routes', id: 'slow-reader-worker' });
  });

  /** Latest byte count the handler reported for this request. */
  const produced = (requestId: string): number =>
    worker.findLogs((l) => l.msg === 'fixture produced' && l['requestId'] === requestId).reduce((max, l) => Math.max(max, Number(l['bytes'])), 0);

  it('a paused client stalls the worker; the router RSS stays bounded', async (t) => {
    const rssBefore = await readRssBytes(router.proc.pid);
    const requestId = `slow-${Date.now()}`;
    const { hostname, port } = new URL(router.httpUrl);
    const socket = net.connect({ host: hostname, port: Number(port) });
    sockets.push(socket);
    let received = 0;
    let pausedOnce = false;
    const paused = new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received >= READ_BEFORE_PAUSE && !pausedOnce) {
          // Pause once; after resume() below the client reads at full speed.
          pausedOnce = true;
          socket.pause();
          resolve();
        }
      });
    });
    socket.write(`GET /endless?bytes=${TOTAL} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nX-Request-Id: ${requestId}\r\n\r\n`);
    await withTimeout(paused, 15_000, 'the first MiB of the stream');

    // Watch the producer until it goes quiet (bounded by a deadline and by the stream size).
    const deadline = Date.now() + 20_000;
    let last = produced(requestId);
    for (let i = 0; i < TOTAL / (256 * 1024) && Date.now() < deadline; i++) {
      const progressed = await worker
        .waitForLog((l) => l.msg === 'fixture produced' && l['requestId'] === requestId && Number(l['bytes']) > last, STALL_QUIET_MS, 'progress')
        .then(() => true, () => false);
      if (!progressed) break;
      last = produced(requestId);
    }
    const stalledAt = produced(requestId);
    assert.ok(Date.now() < deadline, `the worker never stalled: it produced ${stalledAt} bytes for a client that read ${received}`);
    assert.ok(
      stalledAt <= received + MAX_PRODUCED_AHEAD,
      `worker produced ${(stalledAt / MiB).toFixed(1)} MiB while the client read ${(received / MiB).toFixed(1)} MiB`,
    );

    const rssAfter = await readRssBytes(router.proc.pid);
    t.diagnostic(`client read ${(received / MiB).toFixed(1)} MiB, worker stalled at ${(stalledAt / MiB).toFixed(1)} MiB, router RSS ${(rssBefore / MiB).toFixed(1)} → ${(rssAfter / MiB).toFixed(1)} MiB`);
    assert.ok(
      rssAfter - rssBefore <= MAX_RSS_GROWTH,
      `router RSS grew by ${((rssAfter - rssBefore) / MiB).toFixed(1)} MiB (from ${(rssBefore / MiB).toFixed(1)} MiB)`,
    );

    // Reading again resumes the stream: the stall was flow control, not a dead stream.
    socket.resume();
    await worker.waitForLog(
      (l) => l.msg === 'fixture produced' && l['requestId'] === requestId && Number(l['bytes']) >= stalledAt + 4 * MiB,
      15_000,
      'the stream to resume once the client reads',
    );
    socket.destroy();
    await worker.waitForLog((l) => l.msg === 'fixture saw abort' && l['requestId'] === requestId, 10_000, 'the handler to be aborted after the client left');
  });
});
