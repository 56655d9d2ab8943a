/**
 * The admin pieces that need no process: quantiles from buckets, the metrics object, the /stats
 * recorder, readiness, the `zeroproxy status` table — and a check, both ways, that docs/operations.md's
 * metrics list names exactly the metrics the router registers (as fastify checks its error codes).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { formatDuration, formatWorkerTable, parseWorkersReport, workersUrl } from '../../cli/status-command.ts';
import type { RouterLiveState, WorkerView } from '../../router/src/admin/live-state.ts';
import { LATENCY_BUCKETS_SECONDS, MAX_LABEL_VALUES, OVERFLOW_LABEL, RouterMetrics, type FinishedRequest } from '../../router/src/admin/metrics.ts';
import { bucketDelta, quantileFromBuckets } from '../../router/src/admin/percentiles.ts';
import { registerScrapeMetrics } from '../../router/src/admin/scrape-metrics.ts';
import { StatsRecorder } from '../../router/src/admin/stats.ts';
import { readiness, workersReport } from '../../router/src/admin/workers-report.ts';
import { REPO_ROOT } from '../helpers/index.ts';
import { parseExposition, sumOf } from './prometheus-text.ts';

const silent = pino({ level: 'silent' });

/** A finished request that took `ms` milliseconds (startedAt is set that far in the past). */
function finished(ms: number, status: number, pool = 'default', headersSent = true): FinishedRequest {
  return { pool, res: { statusCode: status, headersSent }, startedAt: performance.now() - ms, bytesIn: 10, bytesOut: 20 };
}

function worker(id: string, over: Partial<WorkerView> = {}): WorkerView {
  return {
    workerId: id,
    pool: 'default',
    capacity: 4,
    credit: 4,
    inFlight: 0,
    draining: false,
    registeredAt: Date.now() - 65_000,
    lastSeenAt: Date.now() - 1_500,
    meta: {},
    epoch: 'e1',
    ...over,
  };
}

function liveState(metrics: RouterMetrics, workers: WorkerView[], accepting = true): RouterLiveState {
  return {
    routerId: 'r1',
    epoch: 'ep',
    metrics,
    workers: () => workers,
    inFlight: () => 3,
    queued: () => 2,
    drops: () => ({ unknown_peer: 5, ZP_ERR_MSGPACK: 1 }),
    accepting: () => accepting,
  };
}

describe('quantiles from buckets', () => {
  const bounds = [1, 2, 4, 8];

  it('interpolates inside the bucket that holds the rank, as histogram_quantile does', () => {
    // 10 observations in (1, 2], 10 in (4, 8].
    const counts = [0, 10, 0, 10, 0];
    assert.equal(quantileFromBuckets(0.5, bounds, counts), 2);
    assert.equal(quantileFromBuckets(0.25, bounds, counts), 1.5);
    assert.equal(quantileFromBuckets(0.75, bounds, counts), 6);
    assert.equal(quantileFromBuckets(1, bounds, counts), 8);
  });

  it('gives null without observations, and the highest bound for the overflow bucket', () => {
    assert.equal(quantileFromBuckets(0.5, bounds, [0, 0, 0, 0, 0]), null);
    assert.equal(quantileFromBuckets(0.99, bounds, [1, 0, 0, 0, 99]), 8);
  });

  it('turns two cumulative snapshots into per-bucket counts of the interval', () => {
    assert.deepEqual(bucketDelta([1, 3, 6, 6, 7], [1, 2, 2, 2, 2]), [0, 1, 3, 0, 1]);
    assert.deepEqual(bucketDelta([1, 1], [5, 5]), [0, 0], 'never negative');
  });
});

describe('RouterMetrics', () => {
  it('counts finished requests by pool and status class, with their duration', async () => {
    const m = new RouterMetrics();
    m.requestFinished(finished(3, 200));
    m.requestFinished(finished(3, 204));
    m.requestFinished(finished(3, 503));
    m.requestFinished(finished(3, 200, 'kv'));
    m.requestFinished(finished(3, 200, 'default', false)); // the client left before a head
    m.queueWait(12);
    m.retried();
    m.requestError('ZP_ERR_QUEUE_TIMEOUT');
    m.rstCounted('out', 'cancel');
    m.sendFailed('EHOSTUNREACH');
    m.workerRegistered();
    m.workerLost('send failed: EAGAIN');
    m.transportBytesIn += 100;
    const e = parseExposition(await m.registry.metrics());
    assert.equal(sumOf(e, 'zeroproxy_requests_total', { pool: 'default', status_class: '2xx' }), 2);
    assert.equal(sumOf(e, 'zeroproxy_requests_total', { pool: 'default', status_class: '5xx' }), 1);
    assert.equal(sumOf(e, 'zeroproxy_requests_total', { pool: 'default', status_class: 'none' }), 1);
    assert.equal(sumOf(e, 'zeroproxy_requests_total', { pool: 'kv', status_class: '2xx' }), 1);
    assert.equal(sumOf(e, 'zeroproxy_request_duration_seconds_count', { pool: 'default' }), 4);
    // 3 ms lands in the (2.5 ms, 5 ms] bucket.
    assert.equal(sumOf(e, 'zeroproxy_request_duration_seconds_bucket', { pool: 'default', le: '0.0025' }), 0);
    assert.equal(sumOf(e, 'zeroproxy_request_duration_seconds_bucket', { pool: 'default', le: '0.005' }), 4);
    assert.equal(sumOf(e, 'zeroproxy_queue_wait_seconds_sum'), 0.012);
    assert.equal(sumOf(e, 'zeroproxy_retries_total'), 1);
    assert.equal(sumOf(e, 'zeroproxy_request_errors_total', { code: 'ZP_ERR_QUEUE_TIMEOUT' }), 1);
    assert.equal(sumOf(e, 'zeroproxy_request_errors_total', { code: 'ZP_ERR_WORKER_LOST' }), 0, 'known codes start at 0');
    assert.equal(sumOf(e, 'zeroproxy_rst_total', { direction: 'out', code: 'cancel' }), 1);
    assert.equal(sumOf(e, 'zeroproxy_rst_total', { direction: 'in', code: 'refused' }), 0, 'known codes start at 0');
    assert.equal(sumOf(e, 'zeroproxy_send_failures_total', { code: 'EHOSTUNREACH' }), 1);
    assert.equal(sumOf(e, 'zeroproxy_worker_registrations_total'), 1);
    assert.equal(sumOf(e, 'zeroproxy_workers_lost_total', { reason: 'send_failed' }), 1);
    assert.equal(sumOf(e, 'zeroproxy_bytes_total', { layer: 'transport', direction: 'in' }), 100);
    assert.equal(sumOf(e, 'zeroproxy_bytes_total', { layer: 'http', direction: 'in' }), 50);
    assert.equal(sumOf(e, 'zeroproxy_bytes_total', { layer: 'http', direction: 'out' }), 100);
  });

  it('caps label values from outside: pools past the cap share one series', async () => {
    const m = new RouterMetrics();
    const pools = MAX_LABEL_VALUES + 50;
    for (let i = 0; i < pools; i++) m.requestFinished(finished(1, 200, `pool-${i}`));
    const e = parseExposition(await m.registry.metrics());
    const labels = new Set(e.samples.filter((s) => s.name === 'zeroproxy_requests_total').map((s) => s.labels['pool']));
    assert.equal(labels.size, MAX_LABEL_VALUES + 1);
    assert.ok(labels.has(OVERFLOW_LABEL));
    assert.equal(sumOf(e, 'zeroproxy_requests_total', { pool: OVERFLOW_LABEL, status_class: '2xx' }), 50);
    assert.equal(sumOf(e, 'zeroproxy_requests_total'), pools, 'nothing is lost');
  });

  it('reads live state only when scraped: workers by state, credit, queue, in-flight, drops', async () => {
    const m = new RouterMetrics();
    const workers = [worker('a', { credit: 3, inFlight: 1 }), worker('b', { draining: true, credit: 7, inFlight: 2 }), worker('c', { pool: 'kv' })];
    registerScrapeMetrics(liveState(m, workers));
    const e = parseExposition(await m.registry.metrics());
    assert.equal(sumOf(e, 'zeroproxy_workers', { pool: 'default', state: 'ready' }), 1);
    assert.equal(sumOf(e, 'zeroproxy_workers', { pool: 'default', state: 'draining' }), 1);
    assert.equal(sumOf(e, 'zeroproxy_workers', { pool: 'kv', state: 'ready' }), 1);
    assert.equal(sumOf(e, 'zeroproxy_worker_credit', { pool: 'default' }), 3, 'a draining worker adds no credit');
    assert.equal(sumOf(e, 'zeroproxy_worker_capacity', { pool: 'default' }), 8);
    assert.equal(sumOf(e, 'zeroproxy_worker_streams', { pool: 'default' }), 3);
    assert.equal(sumOf(e, 'zeroproxy_requests_in_flight'), 3);
    assert.equal(sumOf(e, 'zeroproxy_queue_depth'), 2);
    assert.equal(sumOf(e, 'zeroproxy_protocol_drops_total', { reason: 'unknown_peer' }), 5);
    assert.equal(sumOf(e, 'zeroproxy_router_info', { router_id: 'r1', epoch: 'ep' }), 1);
    workers.pop();
    const again = parseExposition(await m.registry.metrics());
    assert.equal(sumOf(again, 'zeroproxy_workers', { pool: 'kv' }), 0, 'a pool whose workers left disappears');
  });
});

describe('/stats recorder', () => {
  it('gives requests, rate and percentiles per interval and over the last minute', async () => {
    const m = new RouterMetrics();
    const stats = new StatsRecorder(m, silent, 1000, 300_000);
    await stats.sample(); // baseline (the timer is not started: samples are taken by hand)
    for (let i = 0; i < 50; i++) m.requestFinished(finished(3, 200));
    for (let i = 0; i < 50; i++) m.requestFinished(finished(40, 200));
    await stats.sample();
    const h = stats.history();
    assert.equal(h.series.length, 1);
    const p = h.series[0]!;
    assert.equal(p.requests, 100);
    assert.ok(p.rate > 0);
    // Bucket resolution: 3 ms is in (2.5, 5] ms, 40 ms in (25, 50] ms.
    assert.ok(p.p50Ms !== null && p.p50Ms > 2.5 && p.p50Ms <= 5, `p50 ${p.p50Ms}`);
    assert.ok(p.p99Ms !== null && p.p99Ms > 25 && p.p99Ms <= 50, `p99 ${p.p99Ms}`);
    assert.equal(h.lastMinute.requests, 100);
    await stats.sample();
    const quiet = stats.history().series[1]!;
    assert.deepEqual([quiet.requests, quiet.p50Ms, quiet.p99Ms], [0, null, null], 'an idle interval has no percentiles');
  });

  it('keeps a bounded history', async () => {
    const stats = new StatsRecorder(new RouterMetrics(), silent, 1000, 5000);
    for (let i = 0; i < 20; i++) await stats.sample();
    assert.equal(stats.history().series.length, 5);
  });
});

describe('/readyz and /workers documents', () => {
  const m = new RouterMetrics();
  it('ready only while accepting and with a worker that is not draining', () => {
    assert.deepEqual(readiness(liveState(m, [])), { ready: false, reason: 'no worker registered' });
    assert.deepEqual(readiness(liveState(m, [worker('a', { draining: true })])), { ready: false, reason: 'all 1 registered workers are draining' });
    assert.deepEqual(readiness(liveState(m, [worker('a'), worker('b', { draining: true })])), { ready: true, workers: 1 });
    assert.deepEqual(readiness(liveState(m, [worker('a')], false)), { ready: false, reason: 'router is shutting down' });
  });

  it('/workers reports each worker with state, credit, uptime and heartbeat age', () => {
    const workers = [worker('a', { meta: { zone: 'z' } }), worker('b', { draining: true, credit: 5 })];
    // Read the clock after the workers' timestamps were set, or a tick in between makes uptime 64,999 ms.
    const now = Date.now();
    const report = workersReport(liveState(m, workers), now);
    assert.equal(report.routerId, 'r1');
    assert.deepEqual(report.workers[0], {
      id: 'a',
      pool: 'default',
      state: 'ready',
      capacity: 4,
      credit: 4,
      inFlight: 0,
      uptimeMs: report.workers[0]!.uptimeMs,
      lastHeartbeatAgeMs: report.workers[0]!.lastHeartbeatAgeMs,
      meta: { zone: 'z' },
    });
    assert.ok(report.workers[0]!.uptimeMs >= 65_000 && report.workers[0]!.uptimeMs < 70_000);
    assert.ok(report.workers[0]!.lastHeartbeatAgeMs >= 1_500 && report.workers[0]!.lastHeartbeatAgeMs < 5_000);
    assert.equal(report.workers[1]!.state, 'draining');
    assert.equal(report.workers[1]!.credit, 0, 'a draining worker has no usable credit');
  });
});

describe('zeroproxy status formatting', () => {
  it('aligns the table and neutralises control characters from workers', () => {
    const report = parseWorkersReport(
      JSON.parse(
        JSON.stringify({
          routerId: 'r1',
          epoch: 'e',
          time: 1,
          workers: [
            { id: 'api/1/x', pool: 'default', state: 'ready', capacity: 64, credit: 60, inFlight: 4, uptimeMs: 3_723_000, lastHeartbeatAgeMs: 250, meta: { zone: 'a' } },
            { id: 'evil\u001b[2J', pool: 'p', state: 'draining', capacity: 1, credit: 0, inFlight: 1, uptimeMs: 5_000, lastHeartbeatAgeMs: 1_000, meta: {} },
          ],
        }),
      ),
    );
    const lines = formatWorkerTable(report);
    assert.equal(lines[0], 'router "r1": 2 workers (1 ready, 1 draining)');
    assert.equal(lines.length, 4);
    assert.ok(!lines.join('\n').includes('\u001b'), 'no escape character reaches the terminal');
    assert.match(lines[3]!, /^evil\?\[2J/);
    // Columns line up: every row has the POOL column at the same offset as the header.
    const col = lines[1]!.indexOf('POOL');
    assert.equal(lines[2]!.slice(col, col + 7), 'default');
    assert.match(lines[2]!, /\b1h02m\b/);
    assert.match(lines[2]!, /0\.3s ago/);
    assert.deepEqual(formatWorkerTable({ routerId: 'r', epoch: 'e', time: 0, workers: [] }), ['router "r": 0 workers (0 ready, 0 draining)', 'no worker registered']);
  });

  it('rejects what is not a worker report, and builds the /workers URL from host:port or a URL', () => {
    assert.throws(() => parseWorkersReport([]), /not a worker report/);
    assert.throws(() => parseWorkersReport({ routerId: 'r', epoch: 'e', time: 1, workers: [{ id: 1 }] }), /workers\[0\]\.id/);
    assert.equal(workersUrl('127.0.0.1:9090').href, 'http://127.0.0.1:9090/workers');
    assert.equal(workersUrl('http://[::1]:9090/admin/').href, 'http://[::1]:9090/admin/workers');
    assert.throws(() => workersUrl('ftp://x'), /not an http/);
    assert.equal(formatDuration(59_999), '59s');
    assert.equal(formatDuration(90_061_000), '1d1h');
  });
});

describe('docs/operations.md metrics list', () => {
  it('names exactly the zeroproxy_* metrics the router registers, each with its type', async () => {
    const m = new RouterMetrics();
    registerScrapeMetrics(liveState(m, [worker('a')]));
    const registered = new Map(
      m.registry
        .getMetricsAsArray()
        .filter((x) => x.name.startsWith('zeroproxy_'))
        .map((x) => [x.name, (x as unknown as { type: string }).type]),
    );
    const readme = readFileSync(path.join(REPO_ROOT, 'docs', 'operations.md'), 'utf8');
    const start = readme.indexOf('## Admin, metrics and dashboard');
    assert.ok(start >= 0, 'docs/operations.md has an "Admin, metrics and dashboard" section');
    const end = readme.indexOf('\n## ', start + 1);
    const section = readme.slice(start, end < 0 ? undefined : end);
    const documented = new Map<string, string>();
    for (const row of section.matchAll(/^\| `(zeroproxy_[a-z_]+)` \| (counter|gauge|histogram) \|/gm)) documented.set(row[1]!, row[2]!);
    assert.deepEqual([...documented.keys()].sort(), [...registered.keys()].sort(), 'docs list and registry differ');
    for (const [name, type] of registered) assert.equal(documented.get(name), type, `type of ${name}`);
    assert.ok(LATENCY_BUCKETS_SECONDS.length > 10);
  });
});
