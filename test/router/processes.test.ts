/**
 * `zeroproxy router --processes N` with real processes: two router children behind one HTTP port,
 * one worker connected to both endpoints; fresh connections are spread over both children (each
 * child's access lines carry its pid); a child that is killed is restarted and serves again;
 * SIGTERM to the primary drains everything and every process exits 0; children of a SIGKILLed
 * primary do not outlive it. Plus the endpoint derivation.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { describe, it } from 'node:test';
import { endpointForProcess, endpointsForProcesses, reusePortAvailable } from '../../cli/router-cluster.ts';
import { pollUntil, runToExit, START_TIMEOUT_MS, startWorker, useTestEnvironment, waitForRegistrations, withTimeout, type LogLine, type ManagedProcess } from '../helpers/index.ts';

const EXIT_TIMEOUT_MS = 30_000;

/** One GET on its own TCP connection (agent: false), so cluster round-robin picks a child for it. */
function getOnNewConnection(url: string): Promise<number> {
  const done = new Promise<number>((resolve, reject) => {
    const req = http.get(url, { agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
  return withTimeout(done, 10_000, `GET ${url}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function accessPids(router: ManagedProcess): Set<number> {
  return new Set(router.findLogs((l) => l.msg === 'access' && l['status'] === 200).map((l) => l['pid'] as number));
}

function listeningLine(l: LogLine): boolean {
  return l.msg === 'router cluster listening';
}

describe('endpointForProcess', () => {
  it('derives tcp ports, * ports and ipc paths per child', () => {
    assert.deepEqual(endpointsForProcesses('tcp://127.0.0.1:5555', 3), ['tcp://127.0.0.1:5555', 'tcp://127.0.0.1:5556', 'tcp://127.0.0.1:5557']);
    assert.deepEqual(endpointsForProcesses('tcp://127.0.0.1:*', 2), ['tcp://127.0.0.1:*', 'tcp://127.0.0.1:*']);
    assert.deepEqual(endpointsForProcesses('ipc:///tmp/zp/r.ipc', 2), ['ipc:///tmp/zp/r.ipc-0', 'ipc:///tmp/zp/r.ipc-1']);
    assert.equal(endpointForProcess('tcp://[::1]:7000', 1), 'tcp://[::1]:7001');
  });

  it('uses SO_REUSEPORT only where net has it (Linux, Node 22.12+/23.1+) and for a fixed port', () => {
    assert.equal(reusePortAvailable(8080, 'linux', '24.0.0'), true);
    assert.equal(reusePortAvailable(8080, 'linux', '22.12.0'), true);
    assert.equal(reusePortAvailable(8080, 'linux', '23.1.0'), true);
    assert.equal(reusePortAvailable(8080, 'linux', '22.11.0'), false);
    assert.equal(reusePortAvailable(8080, 'linux', '23.0.0'), false);
    assert.equal(reusePortAvailable(8080, 'linux', '20.20.2'), false);
    assert.equal(reusePortAvailable(0, 'linux', '24.0.0'), false, 'port 0: every child must share one port');
    assert.equal(reusePortAvailable(8080, 'darwin', '24.0.0'), false);
  });

  it('rejects endpoints it cannot spread', () => {
    assert.throws(() => endpointForProcess('tcp://127.0.0.1:65535', 1), /65536/);
    assert.throws(() => endpointForProcess('inproc://x', 0), /tcp:\/\/ or ipc:\/\//);
  });
});

describe('zeroproxy router --processes', () => {
  const { group, tmp } = useTestEnvironment();

  it('a bad --bind for several processes is a one-line error, exit 2', async () => {
    const r = await runToExit(['router', '--http', '127.0.0.1:0', '--bind', 'inproc://x', '--processes', '2'], START_TIMEOUT_MS);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--processes needs a tcp:\/\/ or ipc:\/\/ endpoint/);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  });

  it('two children share the HTTP port, both serve, a killed child is restarted, SIGTERM drains all', async () => {
    const bind = `ipc://${path.join(tmp.path, 'router.ipc')}`;
    const router = group.spawnZeroproxy('router --processes 2', ['router', '--http', '127.0.0.1:0', '--bind', bind, '--processes', '2']);
    const summary = await router.waitForLog(listeningLine, START_TIMEOUT_MS, '"router cluster listening"');
    const binds = summary['binds'] as string[];
    const pids = summary['pids'] as number[];
    const httpUrl = (summary['http'] as string).replace(/\/$/, '');
    assert.deepEqual(binds, [`${bind}-0`, `${bind}-1`]);
    assert.equal(summary['connect'], binds.join(','));
    assert.equal(new Set(pids).size, 2);
    // Each child announced itself too, with its own endpoint and router id (its line may reach the
    // shared stdout after its IPC message reached the primary: wait for both).
    const ownLines = (): LogLine[] => router.findLogs((l) => l.msg === 'router listening');
    await router.waitForLog(() => ownLines().length === 2, START_TIMEOUT_MS, 'two "router listening" lines');
    const own = ownLines();
    assert.deepEqual(own.map((l) => l['bind']).sort(), [...binds].sort());
    assert.deepEqual(own.map((l) => l['routerId']).sort(), ['router-0', 'router-1']);

    const worker = await startWorker(group, { connect: binds, handler: 'echo', id: 'w-both' });
    await waitForRegistrations(worker, 2);

    // Round-robin hands successive connections to alternate children: 8 connections reach both.
    for (let i = 0; i < 8; i++) assert.equal(await getOnNewConnection(`${httpUrl}/hello/${i}`), 200);
    await router.waitForLog(() => accessPids(router).size === 2, 10_000, 'access lines from both children');
    assert.deepEqual([...accessPids(router)].sort(), [...pids].sort());

    // A child that dies is replaced; the worker re-registers with the new one; service continues.
    process.kill(pids[1]!, 'SIGKILL');
    const restarted = await router.waitForLog((l) => l.msg === 'router process restarted', START_TIMEOUT_MS, '"router process restarted"');
    assert.equal(restarted['index'], 1);
    await waitForRegistrations(worker, 3);
    const newPid = restarted['pid'] as number;
    // Fresh connections until the new child has served one (bounded).
    for (let i = 0; i < 20 && !accessPids(router).has(newPid); i++) assert.equal(await getOnNewConnection(`${httpUrl}/again/${i}`), 200);
    assert.ok(accessPids(router).has(newPid), 'the restarted child served requests');

    router.signal('SIGTERM');
    const exit = await router.waitForExit(EXIT_TIMEOUT_MS);
    assert.deepEqual(exit, { code: 0, signal: null }, router.describe());
    assert.ok(router.findLogs((l) => l.msg === 'router cluster stopped' && l['exitCode'] === 0).length === 1);
    for (const pid of [pids[0]!, newPid]) assert.equal(isAlive(pid), false, `child ${pid} still running`);
    assert.equal(router.findLogs((l) => l.msg === 'router stopped').length, 2, router.describe());
  });

  it('children shut down when the primary is SIGKILLed (no orphans holding the port)', async () => {
    const bind = `ipc://${path.join(tmp.path, 'orphans.ipc')}`;
    const router = group.spawnZeroproxy('router --processes 2 (orphans)', ['router', '--http', '127.0.0.1:0', '--bind', bind, '--processes', '2']);
    const summary = await router.waitForLog(listeningLine, START_TIMEOUT_MS, '"router cluster listening"');
    const pids = summary['pids'] as number[];
    assert.ok(pids.every(isAlive));
    router.signal('SIGKILL');
    await router.waitForExit(EXIT_TIMEOUT_MS);
    try {
      await pollUntil(() => (pids.some(isAlive) ? undefined : true), EXIT_TIMEOUT_MS, 'the children to exit');
    } finally {
      for (const pid of pids.filter(isAlive)) process.kill(pid, 'SIGKILL');
    }
  });

  it('a fixed port: both children serve it, balanced by SO_REUSEPORT where this Node has it, else round-robin', async () => {
    // A port that was free a moment ago (the router needs a fixed one for SO_REUSEPORT).
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const bind = `ipc://${path.join(tmp.path, 'fixed.ipc')}`;
    const router = group.spawnZeroproxy('router --processes 2 (fixed port)', ['router', '--http', `127.0.0.1:${port}`, '--bind', bind, '--processes', '2']);
    const summary = await router.waitForLog(listeningLine, START_TIMEOUT_MS, '"router cluster listening"');
    assert.equal(summary['balancing'], reusePortAvailable(port) ? 'reuseport' : 'round-robin');
    const worker = await startWorker(group, { connect: summary['binds'] as string[], handler: 'echo', id: 'w-fixed' });
    await waitForRegistrations(worker, 2);
    // The kernel hashes each new connection to one child: within 40 connections both have served.
    for (let i = 0; i < 40 && accessPids(router).size < 2; i++) assert.equal(await getOnNewConnection(`http://127.0.0.1:${port}/fixed/${i}`), 200);
    await router.waitForLog(() => accessPids(router).size === 2, 10_000, 'access lines from both children');
    router.signal('SIGTERM');
    assert.deepEqual(await router.waitForExit(EXIT_TIMEOUT_MS), { code: 0, signal: null }, router.describe());
  });
});
