/**
 * Membership storm (issue 11 item 5), real processes on loopback: 2,000 ZeroMQ peers register and
 * then disconnect all at once while HTTP traffic flows through one real worker. Every HTTP request
 * during the storm is answered 200, the router's RSS grows by less than 64 MB plus libzmq's own
 * per-connection floor (see RSS_GROWTH_LIMIT), the registry is back
 * to the real worker within a bounded wait, and a HELLO past --max-workers gets ERROR overloaded.
 * The HTTP p99 during the storm is printed (not asserted: no timing assertions).
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { httpRequest, makeAgent, readRssBytes, REPO_ROOT, startRouter, startWorker, useTestEnvironment, type RouterProcess } from '../helpers/index.ts';

const PEERS = 2000;
const LANES = 4;
/**
 * 64 MB for the router's own state plus what libzmq 4.3.5 itself holds per open connection (its two
 * pipe queues and the stream engine's buffers: ~30 KB each, measured with a bare ROUTER socket and
 * 2,000 peers — a floor no router code can lower while the 2,000 connections are open at once).
 * Before sessions were voided in O(1), the same storm took the router to ~970 MB.
 */
const LIBZMQ_BYTES_PER_CONNECTION = 32 * 1024;
const RSS_GROWTH_LIMIT = 64 * 1024 * 1024 + PEERS * LIBZMQ_BYTES_PER_CONNECTION;
const STORM_SCRIPT = path.join(REPO_ROOT, 'test', 'security', 'storm-peers.ts');

interface Sample {
  status: number | 'error';
  ms: number;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

describe('membership storm: 2,000 peers register and leave together', () => {
  const env = useTestEnvironment();
  const agent = makeAgent(LANES);
  let router: RouterProcess;
  let adminUrl: string;

  before(async () => {
    router = await startRouter(env.group, { bind: 'tcp://127.0.0.1:0', args: ['--max-workers', String(PEERS + 1), '--admin', '127.0.0.1:0'] });
    adminUrl = String(router.proc.findLogs((l) => l.msg === 'router listening')[0]?.['admin']);
    await startWorker(env.group, { connect: router.bindEndpoint, handler: 'echo', id: 'storm-real' });
  });
  after(() => agent.close());

  it('keeps answering HTTP, bounded memory, O(1) per membership event', { timeout: 240_000 }, async () => {
    const pid = router.proc.child.pid!;
    // Warm up so the baseline includes the HTTP path's own memory.
    for (let i = 0; i < 200; i++) assert.equal((await httpRequest(`${router.httpUrl}/warm/${i}`, { dispatcher: agent })).status, 200);
    const baseline = await readRssBytes(pid);
    let peak = baseline;
    let samples: Sample[] = [];
    let running = true;
    const lane = async (n: number): Promise<void> => {
      for (let i = 0; running && i < 1_000_000; i++) {
        try {
          const r = await httpRequest(`${router.httpUrl}/storm/${n}/${i}`, { dispatcher: agent, timeoutMs: 30_000 });
          samples.push({ status: r.status, ms: r.elapsedMs });
        } catch {
          samples.push({ status: 'error', ms: 30_000 });
        }
      }
    };
    // The same load for 3 s without a storm: the p99 this machine gives right now, for comparison.
    const quiet = Promise.all(Array.from({ length: LANES }, (_, n) => lane(n)));
    await new Promise((r) => setTimeout(r, 3000));
    running = false;
    await quiet;
    const quietP99 = percentile(samples.map((s) => s.ms), 99);
    samples = [];
    running = true;
    const rssTimer = setInterval(() => {
      readRssBytes(pid).then((rss) => (peak = Math.max(peak, rss)), () => undefined);
    }, 100);
    const load = Promise.all(Array.from({ length: LANES }, (_, n) => lane(n)));
    try {
      const storm = env.group.spawnTs('storm peers', STORM_SCRIPT, [router.bindEndpoint, String(PEERS)]);
      const registered = await storm.waitForLog((l) => l.msg === 'storm registered', 120_000, 'the storm peers to register');
      assert.equal(registered['welcomed'], PEERS, 'every storm peer was welcomed');
      const atRegistered = await readRssBytes(pid);
      console.log(`# registered: router RSS +${((atRegistered - baseline) / 1048576).toFixed(1)} MB`);
      const extra = await storm.waitForLog((l) => l.msg === 'extra answered', 60_000, 'the answer to a HELLO past --max-workers');
      assert.equal(extra['type'], 'ERROR', 'a HELLO past --max-workers is refused');
      assert.equal(extra['code'], 'overloaded');

      storm.signal('SIGUSR2');
      await storm.waitForLog((l) => l.msg === 'storm closed', 30_000, 'the storm peers to close');
      // The registry is back to the real worker (bounded wait).
      const deadline = Date.now() + 60_000;
      let workers = -1;
      while (Date.now() < deadline) {
        try {
          const r = await httpRequest(`${adminUrl}/workers`, { timeoutMs: 10_000 });
          workers = (JSON.parse(r.body.toString()) as { workers: unknown[] }).workers.length;
          if (workers === 1) break;
        } catch {
          // not answering (yet): keep polling until the deadline
        }
        await new Promise((res) => setTimeout(res, 100));
      }
      assert.equal(workers, 1, 'the registry holds only the real worker again');
    } finally {
      running = false;
      await load;
      clearInterval(rssTimer);
    }
    peak = Math.max(peak, await readRssBytes(pid));
    const failed = samples.filter((s) => s.status !== 200);
    const p99 = percentile(samples.map((s) => s.ms), 99);
    console.log(`# without a storm: p99 ${quietP99.toFixed(1)} ms`);
    console.log(`# storm: ${samples.length} HTTP requests, p50 ${percentile(samples.map((s) => s.ms), 50).toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${Math.max(...samples.map((s) => s.ms)).toFixed(1)} ms; router RSS +${((peak - baseline) / 1048576).toFixed(1)} MB`);
    assert.ok(samples.length > 0, 'HTTP requests ran during the storm');
    assert.deepEqual(failed.slice(0, 5), [], `${failed.length} of ${samples.length} HTTP requests were not answered 200`);
    assert.ok(peak - baseline < RSS_GROWTH_LIMIT, `router RSS grew ${((peak - baseline) / 1048576).toFixed(1)} MB`);
  });
});
