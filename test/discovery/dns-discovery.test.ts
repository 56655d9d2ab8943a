/**
 * DNS discovery in the SDK: `connect: 'dns:<name>:<port>'` with an injected resolver whose answer
 * the test changes, against two real router processes listening on the same port — one on
 * 127.0.0.1, one on ::1 — so each address the "DNS" gives is a distinct, real router.
 * Checks: a new address gets a link (registers, serves), a vanished one is drained (its in-flight
 * request finishes, nothing new is sent, BYE), a resolver failure keeps the routers, and an address
 * that comes back is connected again.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { createServer } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { createWorker, type Worker } from '../../worker-sdk/src/index.ts';
import { endpointForAddress, parseConnectList, parseDnsTarget, DiscoveryTargetError } from '../../worker-sdk/src/discovery.ts';
import { systemResolver } from '../../worker-sdk/src/discovery-resolver.ts';
import { httpRequest, startRouter, useTestEnvironment, withTimeout, type LogLine } from '../helpers/index.ts';

const { group } = useTestEnvironment();
const WAIT_MS = 30_000;

test('dns: targets parse, and malformed ones get a typed error', () => {
  assert.deepEqual(parseDnsTarget('dns:routers.default.svc:5555'), { spec: 'dns:routers.default.svc:5555', name: 'routers.default.svc', port: 5555 });
  for (const bad of ['dns:', 'dns:host', 'dns::5555', 'dns:host:0', 'dns:host:70000', 'dns:bad host:1', 'dns:host:12a', 'tcp://x:1']) {
    assert.throws(() => parseDnsTarget(bad), DiscoveryTargetError, bad);
  }
  const list = parseConnectList(['dns:a:5555', 'tcp://127.0.0.1:6000', 'dns:a:5555']);
  assert.deepEqual(list.endpoints, ['tcp://127.0.0.1:6000']);
  assert.deepEqual(list.dnsTargets.map((t) => t.spec), ['dns:a:5555']);
  assert.equal(endpointForAddress('10.0.0.7', 5555), 'tcp://10.0.0.7:5555');
  assert.equal(endpointForAddress('::1', 5555), 'tcp://[::1]:5555');
  assert.equal(endpointForAddress('not-an-ip', 5555), undefined);
});

test('the system resolver answers localhost from /etc/hosts', async () => {
  const addresses = await systemResolver('localhost');
  assert.ok(addresses.includes('127.0.0.1') || addresses.includes('::1'), `localhost → ${addresses.join(', ')}`);
});

/** A pino logger whose lines the test can wait for. */
function capturingLogger(): { logger: pino.Logger; lines: LogLine[]; waitFor(pred: (l: LogLine) => boolean, what: string): Promise<LogLine> } {
  const lines: LogLine[] = [];
  const events = new EventEmitter();
  events.setMaxListeners(0);
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const text of chunk.toString('utf8').split('\n')) {
        if (!text.trim()) continue;
        const line = JSON.parse(text) as LogLine;
        lines.push(line);
        events.emit('line', line);
      }
      done();
    },
  });
  const logger = pino({ level: 'info' }, sink);
  const waitFor = (pred: (l: LogLine) => boolean, what: string): Promise<LogLine> => {
    const seen = lines.find(pred);
    if (seen) return Promise.resolve(seen);
    let onLine: ((l: LogLine) => void) | undefined;
    const p = new Promise<LogLine>((resolve) => {
      onLine = (l) => {
        if (pred(l)) resolve(l);
      };
      events.on('line', onLine);
    });
    return withTimeout(p, WAIT_MS, `worker log: ${what}\n${lines.slice(-10).map((l) => JSON.stringify(l)).join('\n')}`).finally(() => events.off('line', onLine!));
  };
  return { logger, lines, waitFor };
}

/** True when this host has an IPv6 loopback to listen on. */
async function hasIpv6Loopback(): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(0, '::1', () => server.close(() => resolve(true)));
  });
}

test('re-resolution adds new routers, drains and drops vanished ones, survives resolver failures', async (t) => {
  const a = await startRouter(group, { bind: 'tcp://127.0.0.1:*', name: 'router 127.0.0.1', args: ['--queue-timeout', '300'] });
  const port = Number(/:(\d+)$/.exec(a.bindEndpoint)![1]);
  if (!(await hasIpv6Loopback())) {
    t.skip('no IPv6 loopback here: the two-router re-resolution needs a router on tcp://[::1]');
    return;
  }
  // Same port, other address: what a second router pod behind the same headless Service looks like.
  const b = await startRouter(group, { bind: `tcp://[::1]:${port}`, name: 'router ::1', args: ['--queue-timeout', '300'] });
  const endpointA = `tcp://127.0.0.1:${port}`;
  const endpointB = `tcp://[::1]:${port}`;

  let answer: string[] | Error = ['127.0.0.1'];
  const asked: string[] = [];
  let releaseSlow!: () => void;
  const slowReleased = new Promise<void>((resolve) => (releaseSlow = resolve));
  let slowEntered!: () => void;
  const slowStarted = new Promise<void>((resolve) => (slowEntered = resolve));
  const log = capturingLogger();
  const worker: Worker = createWorker({
    connect: `dns:routers.test:${port}`,
    resolve: async (name) => {
      asked.push(name);
      if (answer instanceof Error) throw answer;
      return answer;
    },
    resolveIntervalMs: 50,
    handleSignals: false,
    drainTimeoutMs: 20_000,
    logger: log.logger,
    async handler(request, ctx) {
      if (new URL(request.url).pathname === '/slow') {
        slowEntered();
        await slowReleased;
      }
      return Response.json({ workerId: ctx.workerId });
    },
  });
  after(() => worker.close());

  const registeredWith = (endpoint: string, nth = 1) => async () => {
    await log.waitFor(() => log.lines.filter((l) => l.msg === 'worker registered' && l['router'] === endpoint).length >= nth, `registered with ${endpoint} (#${nth})`);
  };

  // 1. One address: one router.
  await withTimeout(worker.ready, WAIT_MS, 'first WELCOME');
  assert.equal(asked[0], 'routers.test');
  assert.equal((await httpRequest(`${a.httpUrl}/`)).status, 200);

  // 2. A second address appears: a link to it, and it serves.
  answer = ['127.0.0.1', '::1'];
  await log.waitFor((l) => l.msg === 'router added' && l['router'] === endpointB, 'router added ::1');
  await registeredWith(endpointB)();
  const viaB = await httpRequest(`${b.httpUrl}/`);
  assert.equal(viaB.status, 200);
  assert.equal(JSON.parse(viaB.body.toString()).workerId, worker.id);

  // 3. 127.0.0.1 vanishes while a request is in flight through it: drained, the request finishes.
  const slow = httpRequest(`${a.httpUrl}/slow`, { timeoutMs: WAIT_MS });
  await withTimeout(slowStarted, WAIT_MS, 'the slow request to reach the handler');
  answer = ['::1'];
  const removed = await log.waitFor((l) => l.msg === 'router removed' && l['router'] === endpointA, 'router removed 127.0.0.1');
  assert.equal(removed['inFlight'], 1);
  await a.proc.waitForLog((l) => l.msg === 'worker draining' && l['workerId'] === worker.id, WAIT_MS, 'router A sees DRAIN');
  // Nothing new goes to a drained link: router A has no worker left for a new request.
  assert.equal((await httpRequest(`${a.httpUrl}/after-removal`)).status, 503);
  assert.equal((await httpRequest(`${b.httpUrl}/still-served`)).status, 200);
  releaseSlow();
  const slowDone = await slow;
  assert.equal(slowDone.status, 200, 'the in-flight request finished after its router left DNS');
  await a.proc.waitForLog((l) => l.msg === 'worker lost' && l['workerId'] === worker.id && String(l['reason']).includes('router left DNS'), WAIT_MS, 'router A gets BYE');

  // 4. The resolver fails: the routers it gave before are kept.
  answer = new Error('SERVFAIL (test)');
  await log.waitFor((l) => l.msg === 'DNS resolution failed, keeping the routers it gave before', 'resolution failure logged');
  assert.equal((await httpRequest(`${b.httpUrl}/`)).status, 200);

  // 5. 127.0.0.1 comes back: connected again (same routing id on the socket), serves again.
  answer = ['::1', '127.0.0.1'];
  await registeredWith(endpointA, 2)();
  assert.equal((await httpRequest(`${a.httpUrl}/`)).status, 200);

  // 5b. Gone and back within one retirement: the re-join follows the disconnect at once, on a
  // fresh socket-local peer name (libzmq aborts on a connect that reuses a lingering routing id).
  answer = ['::1'];
  await log.waitFor(() => log.lines.filter((l) => l.msg === 'router removed' && l['router'] === endpointA).length >= 2, 'second removal of 127.0.0.1');
  answer = ['::1', '127.0.0.1'];
  await registeredWith(endpointA, 3)();
  assert.equal((await httpRequest(`${a.httpUrl}/`)).status, 200);

  // 6. The name disappears: both routers are dropped with BYE.
  answer = [];
  await b.proc.waitForLog((l) => l.msg === 'worker lost' && l['workerId'] === worker.id, WAIT_MS, 'router B gets BYE');
  await a.proc.waitForLog(() => a.proc.findLogs((x) => x.msg === 'worker lost' && x['workerId'] === worker.id).length >= 3, WAIT_MS, 'router A gets a third BYE');
  assert.equal(log.lines.filter((l) => l.msg === 'router removed').length, 4);
});
