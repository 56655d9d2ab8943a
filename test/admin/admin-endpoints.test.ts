/**
 * The admin endpoint of a real router process, with real worker processes and real HTTP traffic:
 * /healthz, /readyz flipping when a worker registers, /workers listing workers and reflecting a
 * drain, /metrics (parsed as Prometheus text) moving with traffic, and `zeroproxy status`.
 *
 * One router serves the whole file (start-up is the slow part); the tests run in order and each
 * says what state it starts from.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import type { Readiness, WorkersReport } from '../../router/src/admin/index.ts';
import {
  httpRequest,
  pollUntil,
  runToExit,
  startWorker,
  useTestEnvironment,
  type LogLine,
  type ManagedProcess,
} from '../helpers/index.ts';
import { getJson, scrape, startAdminRouter, type AdminRouterProcess } from './admin-helpers.ts';
import { hasSample, sumOf, type Exposition } from './prometheus-text.ts';

const POLL_MS = 20_000;

/** Opens a raw HTTP/1.1 request and keeps the connection until the test destroys it (a client going away). */
function openRawRequest(httpUrl: string, path: string, requestId: string): net.Socket {
  const { hostname, port } = new URL(httpUrl);
  const socket = net.connect({ host: hostname, port: Number(port) });
  socket.on('error', () => undefined); // destroyed on purpose
  socket.write(`GET ${path} HTTP/1.1\r\nHost: ${hostname}\r\nX-Request-Id: ${requestId}\r\n\r\n`);
  return socket;
}

function counterDelta(after: Exposition, before: Exposition, name: string, labels: Record<string, string> = {}): number {
  return sumOf(after, name, labels) - sumOf(before, name, labels);
}

describe('admin endpoint', () => {
  const env = useTestEnvironment();
  let router: AdminRouterProcess;
  let workerA: ManagedProcess;
  const workers: Record<string, ManagedProcess> = {};
  let queued: ReturnType<typeof httpRequest>;

  it('before any worker: /healthz 200, /readyz 503 with a reason, a waiting request shows as queued', async () => {
    router = await startAdminRouter(env.group, {
      bind: env.tmp.ipc('admin.sock'),
      args: ['--heartbeat', '200', '--queue-timeout', '60000', '--max-body-size', '1024'],
    });
    const health = await getJson<{ status: string }>(`${router.adminUrl}/healthz`);
    assert.equal(health.status, 200);
    assert.deepEqual(health.body, { status: 'ok' });

    const ready = await getJson<Readiness>(`${router.adminUrl}/readyz`);
    assert.equal(ready.status, 503);
    assert.deepEqual(ready.body, { ready: false, reason: 'no worker registered' });

    // Start order does not matter: this request waits for the first worker.
    queued = httpRequest(`${router.httpUrl}/queued-before-workers`, { timeoutMs: 90_000 });
    const m = await pollUntil(
      async () => {
        const e = await scrape(router.adminUrl);
        return sumOf(e, 'zeroproxy_queue_depth') === 1 ? e : undefined;
      },
      POLL_MS,
      'zeroproxy_queue_depth 1',
    );
    assert.equal(sumOf(m, 'zeroproxy_requests_in_flight'), 1);
    assert.equal(sumOf(m, 'zeroproxy_workers'), 0);
    assert.equal(m.types.get('zeroproxy_requests_total'), 'counter');
    assert.equal(m.types.get('zeroproxy_request_duration_seconds'), 'histogram');
    assert.equal(m.types.get('zeroproxy_queue_depth'), 'gauge');
  });

  it('a worker registers: /readyz flips to 200, /workers lists it, the queued request is served and its wait recorded', async () => {
    workerA = await startWorker(env.group, {
      connect: router.bindEndpoint,
      handler: 'routes',
      id: 'admin-a',
      args: ['--capacity', '8', '--meta', 'zone=test-1'],
    });
    workers['admin-a'] = workerA;
    const ready = await pollUntil(
      async () => {
        const r = await getJson<Readiness>(`${router.adminUrl}/readyz`);
        return r.status === 200 ? r : undefined;
      },
      POLL_MS,
      '/readyz 200',
    );
    assert.deepEqual(ready.body, { ready: true, workers: 1 });

    const res = await queued;
    assert.equal(res.status, 200, 'the request queued before any worker was served');

    // Credit comes back with the worker's CREDIT message, just after the response: wait for it.
    const report = await pollUntil(
      async () => {
        const r = await getJson<WorkersReport>(`${router.adminUrl}/workers`);
        return r.body.workers[0]?.credit === 8 ? r.body : undefined;
      },
      POLL_MS,
      'admin-a back at credit 8',
    );
    assert.equal(report.workers.length, 1);
    const w = report.workers[0]!;
    assert.equal(w.id, 'admin-a');
    assert.equal(w.pool, 'default');
    assert.equal(w.state, 'ready');
    assert.equal(w.capacity, 8);
    assert.equal(w.inFlight, 0);
    assert.equal(w.meta['zone'], 'test-1');
    assert.ok(w.uptimeMs >= 0 && w.uptimeMs < 600_000, `uptime ${w.uptimeMs}`);
    // --heartbeat 200: a live worker was heard from well within the liveness bound (3 intervals)…
    // on a loaded machine allow much more, but a stuck clock or a wrong field would be far off.
    assert.ok(w.lastHeartbeatAgeMs >= 0 && w.lastHeartbeatAgeMs < 10_000, `last heartbeat ${w.lastHeartbeatAgeMs} ms ago`);
    assert.equal(typeof report.routerId, 'string');

    const m = await scrape(router.adminUrl);
    assert.equal(sumOf(m, 'zeroproxy_queue_wait_seconds_count'), 1, 'one request waited in the queue');
    assert.ok(sumOf(m, 'zeroproxy_queue_wait_seconds_sum') > 0);
    assert.equal(sumOf(m, 'zeroproxy_queue_depth'), 0);
    assert.equal(sumOf(m, 'zeroproxy_workers', { pool: 'default', state: 'ready' }), 1);
    assert.equal(sumOf(m, 'zeroproxy_workers', { pool: 'default', state: 'draining' }), 0);
    assert.equal(sumOf(m, 'zeroproxy_worker_credit', { pool: 'default' }), 8);
    assert.equal(sumOf(m, 'zeroproxy_worker_capacity', { pool: 'default' }), 8);
    assert.equal(sumOf(m, 'zeroproxy_worker_registrations_total'), 1);
  });

  it('metrics move with traffic: requests by status class, latency histogram, errors by code, bytes', async () => {
    const before = await scrape(router.adminUrl);
    const oks = await Promise.all(Array.from({ length: 10 }, (_, i) => httpRequest(`${router.httpUrl}/ok-${i}`)));
    const fives = await Promise.all([httpRequest(`${router.httpUrl}/status/503`), httpRequest(`${router.httpUrl}/status/503`)]);
    const notFound = await httpRequest(`${router.httpUrl}/status/404`);
    const tooLarge = await httpRequest(`${router.httpUrl}/upload`, { method: 'POST', body: Buffer.alloc(2048, 1) });
    const posted = await httpRequest(`${router.httpUrl}/echo-body`, { method: 'POST', body: Buffer.alloc(500, 2) });
    for (const r of [...oks, posted]) assert.equal(r.status, 200);
    for (const r of fives) assert.equal(r.status, 503);
    assert.equal(notFound.status, 404);
    assert.equal(tooLarge.status, 413);

    // Requests are counted as they end, before the client has the last byte: no wait needed.
    const after = await scrape(router.adminUrl);
    const d = (name: string, labels: Record<string, string> = {}): number => counterDelta(after, before, name, labels);
    assert.equal(d('zeroproxy_requests_total', { pool: 'default', status_class: '2xx' }), 11);
    assert.equal(d('zeroproxy_requests_total', { pool: 'default', status_class: '5xx' }), 2);
    assert.equal(d('zeroproxy_requests_total', { pool: 'default', status_class: '4xx' }), 2);
    assert.equal(d('zeroproxy_request_duration_seconds_count', { pool: 'default' }), 15);
    assert.ok(d('zeroproxy_request_duration_seconds_sum', { pool: 'default' }) > 0);
    assert.equal(d('zeroproxy_request_errors_total', { code: 'ZP_ERR_BODY_TOO_LARGE' }), 1);
    assert.equal(d('zeroproxy_request_errors_total', { code: 'ZP_ERR_QUEUE_TIMEOUT' }), 0);
    assert.ok(d('zeroproxy_bytes_total', { layer: 'transport', direction: 'in' }) > 0);
    assert.ok(d('zeroproxy_bytes_total', { layer: 'transport', direction: 'out' }) > 0);
    assert.ok(d('zeroproxy_bytes_total', { layer: 'http', direction: 'in' }) >= 500, 'the 500-byte body was counted');
    const bodies = [...oks, ...fives, notFound, tooLarge, posted].reduce((n, r) => n + r.body.length, 0);
    assert.equal(d('zeroproxy_bytes_total', { layer: 'http', direction: 'out' }), bodies, 'response body bytes written to clients');

    // The histogram is well formed: cumulative buckets, +Inf equal to the count.
    const buckets = after.samples.filter((s) => s.name === 'zeroproxy_request_duration_seconds_bucket' && s.labels['pool'] === 'default');
    assert.ok(buckets.length >= 10);
    for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i]!.value >= buckets[i - 1]!.value, 'buckets are cumulative');
    assert.equal(buckets[buckets.length - 1]!.labels['le'], '+Inf');
    assert.equal(buckets[buckets.length - 1]!.value, sumOf(after, 'zeroproxy_request_duration_seconds_count', { pool: 'default' }));
    // Standard process metrics come along.
    assert.ok(hasSample(after, 'process_resident_memory_bytes'));
  });

  it('a client that goes away is counted: RST cancel to the worker, status class none', async () => {
    const before = await scrape(router.adminUrl);
    const requestId = `admin-gone-${Date.now()}`;
    const socket = openRawRequest(router.httpUrl, '/slow-echo?delay=30000', requestId);
    try {
      await workerA.waitForLog((l) => l.msg === 'fixture request started' && l['requestId'] === requestId, POLL_MS, 'the slow request to start');
    } finally {
      socket.destroy();
    }
    const after = await pollUntil(
      async () => {
        const e = await scrape(router.adminUrl);
        return counterDelta(e, before, 'zeroproxy_requests_total', { status_class: 'none' }) >= 1 ? e : undefined;
      },
      POLL_MS,
      'the abandoned request to be counted',
    );
    assert.equal(counterDelta(after, before, 'zeroproxy_requests_total', { pool: 'default', status_class: 'none' }), 1);
    assert.equal(counterDelta(after, before, 'zeroproxy_rst_total', { direction: 'out', code: 'cancel' }), 1);
  });

  it('/workers and the worker metrics reflect a drain; the worker is gone after its BYE', async () => {
    workers['admin-b'] = await startWorker(env.group, { connect: router.bindEndpoint, handler: 'routes', id: 'admin-b' });
    // Hold a response open on one of the two workers, then drain that one.
    const key = `drain-${Date.now()}`;
    const socket = openRawRequest(router.httpUrl, `/slow/stream?key=${key}`, `admin-${key}`);
    let holderId = '';
    try {
      const isHeld = (l: LogLine): boolean => l.msg === 'fixture first chunk sent' && l['key'] === key;
      holderId = await Promise.any(
        Object.entries(workers).map(([id, w]) => w.waitForLog(isHeld, POLL_MS, 'the held response to start').then(() => id)),
      );
      const otherId = holderId === 'admin-a' ? 'admin-b' : 'admin-a';
      const holder = workers[holderId]!;
      holder.signal('SIGTERM');

      const report = await pollUntil(
        async () => {
          const r = await getJson<WorkersReport>(`${router.adminUrl}/workers`);
          return r.body.workers.find((w) => w.id === holderId)?.state === 'draining' ? r.body : undefined;
        },
        POLL_MS,
        `${holderId} to show as draining`,
      );
      const drained = report.workers.find((w) => w.id === holderId)!;
      assert.equal(drained.credit, 0, 'a draining worker takes no new request');
      assert.equal(drained.inFlight, 1, 'its held response is still in flight');
      assert.equal(report.workers.find((w) => w.id === otherId)?.state, 'ready');

      const m = await scrape(router.adminUrl);
      assert.equal(sumOf(m, 'zeroproxy_workers', { state: 'draining' }), 1);
      assert.equal(sumOf(m, 'zeroproxy_workers', { state: 'ready' }), 1);
      const ready = await getJson<Readiness>(`${router.adminUrl}/readyz`);
      assert.equal(ready.status, 200, 'one worker is still ready');
    } finally {
      socket.destroy(); // the held stream ends (RST cancel), so the drain completes
    }

    const goneId = holderId;
    assert.deepEqual(await workers[goneId]!.waitForExit(POLL_MS), { code: 0, signal: null });
    delete workers[goneId];
    const report = await pollUntil(
      async () => {
        const r = await getJson<WorkersReport>(`${router.adminUrl}/workers`);
        return r.body.workers.some((w) => w.id === goneId) ? undefined : r.body;
      },
      POLL_MS,
      `${goneId} to leave /workers`,
    );
    assert.deepEqual(
      report.workers.map((w) => w.id),
      Object.keys(workers),
    );
    const m = await scrape(router.adminUrl);
    assert.ok(sumOf(m, 'zeroproxy_workers_lost_total', { reason: 'bye' }) >= 1, 'the BYE is counted');
    assert.equal(sumOf(m, 'zeroproxy_workers', { state: 'draining' }), 0);
  });

  it('zeroproxy status prints the worker table; exit 1 with one line when unreachable', async () => {
    const closedPort = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = s.address() as net.AddressInfo;
        s.close(() => resolve(port));
      });
    });
    const [table, unreachable] = await Promise.all([
      // host:port without a scheme is accepted too
      runToExit(['status', '--admin', router.adminUrl.replace(/^http:\/\//, '')], 45_000),
      runToExit(['status', '--admin', `http://127.0.0.1:${closedPort}`], 45_000),
    ]);
    const [remaining] = Object.keys(workers);
    assert.ok(remaining);

    assert.equal(table.code, 0, table.stderr);
    const lines = table.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^router "router": 1 worker \(1 ready, 0 draining\)$/);
    assert.match(lines[1]!, /^ID\s+POOL\s+STATE\s+CAPACITY\s+CREDIT\s+IN-FLIGHT\s+UPTIME\s+LAST-HEARTBEAT\s+META$/);
    assert.equal(lines.length, 3);
    assert.match(lines[2]!, new RegExp(`^${remaining}\\s+default\\s+ready\\s+\\d+\\s+\\d+\\s+0\\s+\\S+\\s+[\\d.]+s ago`));

    assert.equal(unreachable.code, 1);
    assert.equal(unreachable.stdout, '');
    const errLines = unreachable.stderr.split('\n').filter((l) => l.trim() !== '');
    assert.equal(errLines.length, 1, unreachable.stderr);
    assert.match(errLines[0]!, /^zeroproxy status: cannot reach http:\/\/127\.0\.0\.1:\d+\/workers: ECONNREFUSED$/);
  });
});
