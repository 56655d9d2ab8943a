/**
 * CURVE with real processes: `zeroproxy keygen` writes keypairs; a router with --curve-secret and
 * --allow-workers serves through a worker whose key is allowed, while a worker with an unknown key
 * and a plaintext worker never register and never get a request; the denied key is logged; SIGHUP
 * re-reads the allowlist so a newly allowed worker gets in; bad CURVE flags exit 2 with one line.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { curveKeyPair } from 'zeromq';
import { curvePublicKey } from '../../proto/src/curve-keys.ts';
import {
  headerValue,
  httpRequest,
  isRegistered,
  runToExit,
  spawnWorker,
  startRouter,
  startWorker,
  useTestEnvironment,
  waitForRegistrations,
  type ManagedProcess,
  type RouterProcess,
} from '../helpers/index.ts';

const CLI_TIMEOUT_MS = 30_000;

function keyLine(file: string): string {
  return readFileSync(file, 'utf8').split('\n').find((l) => l.trim() && !l.startsWith('#'))!.trim();
}

describe('zeroproxy keygen', () => {
  const env = useTestEnvironment();

  it('writes <prefix>.key (0600) and <prefix>.pub, never overwrites, and prints a pair without --out', async () => {
    const prefix = path.join(env.tmp.path, 'k1');
    const [run, printed] = await Promise.all([runToExit(['keygen', '--out', prefix], CLI_TIMEOUT_MS), runToExit(['keygen'], CLI_TIMEOUT_MS)]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(statSync(`${prefix}.key`).mode & 0o777, 0o600);
    assert.equal(curvePublicKey(keyLine(`${prefix}.key`)), keyLine(`${prefix}.pub`), 'the .pub belongs to the .key');
    const again = await runToExit(['keygen', '--out', prefix], CLI_TIMEOUT_MS);
    assert.equal(again.code, 2);
    assert.equal(again.stderr.trim().split('\n').length, 1);
    // Without --out it prints a pair.
    assert.equal(printed.code, 0, printed.stderr);
    const pub = /^public-key: (\S{40})$/m.exec(printed.stdout)?.[1];
    const secret = /^secret-key: (\S{40})$/m.exec(printed.stdout)?.[1];
    assert.ok(pub && secret, printed.stdout);
    assert.equal(curvePublicKey(secret), pub);
  });
});

describe('CURVE router with a worker allowlist', () => {
  const env = useTestEnvironment();
  const keys = (name: string): { key: string; pub: string } => ({ key: path.join(env.tmp.path, `${name}.key`), pub: path.join(env.tmp.path, `${name}.pub`) });
  const allowDir = (): string => path.join(env.tmp.path, 'allowed');
  let router: RouterProcess;
  let good: ManagedProcess;
  let stranger: ManagedProcess;
  let plaintext: ManagedProcess;

  before(async () => {
    // In-process keypairs (the keygen command has its own test): a CLI start per key would cost seconds.
    for (const n of ['router', 'good', 'stranger', 'late']) {
      const pair = curveKeyPair();
      writeFileSync(keys(n).key, `# secret\n${pair.secretKey}\n`, { mode: 0o600 });
      writeFileSync(keys(n).pub, `${pair.publicKey}\n`);
    }
    mkdirSync(allowDir());
    copyFileSync(keys('good').pub, path.join(allowDir(), 'good.pub'));
    router = await startRouter(env.group, {
      bind: 'tcp://127.0.0.1:*',
      args: ['--curve-secret', keys('router').key, '--allow-workers', allowDir(), '--heartbeat', '500'],
    });
    const curveArgs = (name: string): string[] => ['--curve-secret', keys(name).key, '--router-key', keys('router').pub];
    good = await startWorker(env.group, { connect: router.bindEndpoint, handler: 'echo', id: 'curve-good', args: curveArgs('good') });
    stranger = spawnWorker(env.group, { connect: router.bindEndpoint, handler: 'echo', id: 'curve-stranger', args: curveArgs('stranger') });
    plaintext = spawnWorker(env.group, { connect: router.bindEndpoint, handler: 'echo', id: 'curve-plaintext' });
  });

  it('an allowed worker serves; an unknown key is denied and logged; neither it nor a plaintext worker gets a request', async () => {
    const strangerKey = keyLine(keys('stranger').pub);
    await router.proc.waitForLog((l) => l.msg === 'worker key denied' && l['publicKey'] === strangerKey, 30_000, 'the stranger key to be denied');
    await plaintext.waitForLog((l) => l.msg === 'worker started', 30_000, 'the plaintext worker to start');
    for (let i = 0; i < 40; i++) {
      const res = await httpRequest(`${router.httpUrl}/curve/${i}`);
      assert.equal(res.status, 200);
      assert.equal(headerValue(res, 'x-worker-id'), 'curve-good');
      assert.equal((JSON.parse(res.body.toString()) as { path: string }).path, `/curve/${i}`);
    }
    assert.equal(stranger.findLogs(isRegistered).length, 0, 'the denied worker never registered');
    assert.equal(plaintext.findLogs(isRegistered).length, 0, 'the plaintext worker never registered');
    const registered = router.proc.findLogs((l) => l.msg === 'worker registered').map((l) => l['workerId']);
    assert.deepEqual(registered, ['curve-good']);
    assert.ok(router.proc.findLogs((l) => l.msg === 'worker key denied' && l['publicKey'] === keyLine(keys('good').pub)).length === 0);
    assert.equal(good.exitInfo, undefined);
    // They have shown what they had to; killing them now keeps the file's clean-up short (a worker
    // that never connected spends its send timeouts on the final DRAIN/BYE).
    stranger.signal('SIGKILL');
    plaintext.signal('SIGKILL');
  });

  it('SIGHUP re-reads the allowlist: a newly allowed worker registers and serves', async () => {
    copyFileSync(keys('late').pub, path.join(allowDir(), 'late.pub'));
    router.proc.signal('SIGHUP');
    await router.proc.waitForLog((l) => l.msg === 'curve allowlist reloaded' && l['keys'] === 2, 10_000, 'the reloaded allowlist');
    const late = spawnWorker(env.group, {
      connect: router.bindEndpoint,
      handler: 'echo',
      id: 'curve-late',
      args: ['--curve-secret', keys('late').key, '--router-key', keyLine(keys('router').pub)], // inline router key
    });
    await waitForRegistrations(late);
    await good.stop();
    const res = await httpRequest(`${router.httpUrl}/after-reload`);
    assert.equal(res.status, 200);
    assert.equal(headerValue(res, 'x-worker-id'), 'curve-late');
  });
});

describe('CURVE flag errors exit 2 with one line', () => {
  const env = useTestEnvironment();
  const cases: [string, (dir: string) => string[]][] = [
    ['router secret without allowlist', (d) => ['router', '--http', '127.0.0.1:0', '--bind', 'tcp://127.0.0.1:*', '--curve-secret', path.join(d, 'r.key')]],
    ['router allowlist missing', (d) => ['router', '--http', '127.0.0.1:0', '--bind', 'tcp://127.0.0.1:*', '--curve-secret', path.join(d, 'r.key'), '--allow-workers', path.join(d, 'nope')]],
    ['router secret file is not a key', (d) => ['router', '--curve-secret', path.join(d, 'r.pub.bad'), '--allow-workers', d]],
    ['worker secret without router key', (d) => ['worker', '--connect', 'tcp://127.0.0.1:1', '--forward', 'http://127.0.0.1:1', '--curve-secret', path.join(d, 'r.key')]],
    ['worker router key malformed', (d) => ['worker', '--connect', 'tcp://127.0.0.1:1', '--forward', 'http://127.0.0.1:1', '--curve-secret', path.join(d, 'r.key'), '--router-key', 'short']],
  ];
  before(async () => {
    writeFileSync(path.join(env.tmp.path, 'r.key'), `${curveKeyPair().secretKey}\n`, { mode: 0o600 });
    writeFileSync(path.join(env.tmp.path, 'r.pub.bad'), 'abc\n'); // a key line of the wrong length
  });
  it('router --help shows the defaults of the security and limit flags', async () => {
    const { ROUTER_DEFAULTS: D } = await import('../../router/src/index.ts');
    const run = await runToExit(['router', '--help'], CLI_TIMEOUT_MS);
    const help = run.stdout.replace(/\s+/g, ' ');
    const flags: [string, number][] = [
      ['--header-timeout', D.headerTimeoutMs],
      ['--body-timeout', D.bodyTimeoutMs],
      ['--retry-budget', D.retryBudgetPercent],
      ['--max-worker-streams', D.maxWorkerStreams],
      ['--max-workers', D.maxWorkers],
      ['--max-hellos', D.maxHellos],
      ['--max-message-size', D.maxMessageSize],
    ];
    for (const [flag, value] of flags) {
      const at = help.indexOf(flag + ' ');
      assert.ok(at >= 0, `${flag} missing from --help`);
      const next = help.indexOf(' --', at + flag.length);
      assert.ok(help.slice(at, next < 0 ? undefined : next).includes(`(default: ${value})`), `${flag} default ${value}`);
    }
    for (const flag of ['--curve-secret', '--allow-workers']) assert.ok(help.includes(flag), `${flag} in --help`);
  });

  it(cases.map(([name]) => name).join('; '), async () => {
    // In parallel: each is a cold CLI start.
    const runs = await Promise.all(cases.map(([, args]) => runToExit(args(env.tmp.path), CLI_TIMEOUT_MS)));
    runs.forEach((run, i) => {
      assert.equal(run.code, 2, `${cases[i]![0]}: ${run.stdout}\n${run.stderr}`);
      assert.equal(run.stderr.trim().split('\n').length, 1, `${cases[i]![0]}: ${run.stderr}`);
    });
  });
});
