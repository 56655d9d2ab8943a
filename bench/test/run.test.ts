/**
 * The harness end to end, as `npm run bench` runs it: real wrk, real nginx, real processes.
 * Each run carries a random marker in its environment, which every child inherits, so "no
 * orphans" is checked by looking for that marker in /proc after the bench exited.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { BenchResults, WrkRecord } from '../results.ts';
import { findTools } from '../tools.ts';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const RUN_TIMEOUT_MS = 60_000;
const tools = await findTools();
const haveWrk = tools.wrk.path !== null;
const haveNginx = tools.nginx.path !== null;

interface BenchRun {
  code: number | null;
  stdout: string;
  marker: string;
  outDir: string;
}

/** Process ids whose environment holds the marker (children of a bench run that are still alive). */
async function processesWithMarker(marker: string): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if ((await readFile(`/proc/${entry}/environ`, 'latin1')).includes(marker)) found.push(Number(entry));
    } catch {
      // gone, or not ours to read
    }
  }
  return found;
}

/** Runs the bench; `interruptWhen` sends SIGINT once a stdout line matches it. Bounded. */
async function runBench(args: string[], env: NodeJS.ProcessEnv = {}, interruptWhen?: RegExp): Promise<BenchRun> {
  const outDir = await mkdtemp(join(tmpdir(), 'zp-bench-test-'));
  const marker = `ZP_BENCH_TEST_MARKER=${process.pid}-${Math.random().toString(36).slice(2)}`;
  const [key, value] = marker.split('=') as [string, string];
  const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'bench', 'run.ts'), ...args, '--out', outDir], {
    cwd: repoRoot,
    env: { ...process.env, ...env, [key]: value },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let interrupted = false;
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    if (interruptWhen && !interrupted && interruptWhen.test(stdout)) {
      interrupted = true;
      child.kill('SIGINT');
    }
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  clearTimeout(timer);
  return { code, stdout, marker: value, outDir };
}

/** Linux: each run records CPU per request for exactly the target's roles, plus wrk; elsewhere none. */
function assertCpuRoles(run: WrkRecord, roles: readonly string[], threads: readonly string[] = []): void {
  if (process.platform !== 'linux') return assert.equal(run.cpuUsPerRequest, undefined);
  const cpu = run.cpuUsPerRequest ?? {};
  assert.deepEqual(Object.keys(cpu).sort(), [...roles, 'wrk'].sort(), `${run.target}: ${JSON.stringify(run)}`);
  for (const [role, us] of Object.entries(cpu)) assert.ok(us > 0, `${run.target} / ${role} used some CPU: ${JSON.stringify(cpu)}`);
  const total = roles.reduce((sum, role) => sum + cpu[role]!, 0);
  assert.ok(Math.abs((run.cpuUsPerRequestTotal ?? NaN) - total) < 0.05 * roles.length, 'total = the serving roles');
  assert.deepEqual(Object.keys(run.cpuThreadsUsPerRequest ?? {}).sort(), [...threads].sort());
}

async function readResults(outDir: string): Promise<BenchResults> {
  return JSON.parse(await readFile(join(outDir, 'latest.json'), 'utf8')) as BenchResults;
}

test('quick run of direct and nginx: numbers, table, JSON and SVG, no child left', { skip: !haveWrk || !haveNginx ? 'needs wrk and nginx' : false }, async () => {
  const r = await runBench(['--quick', '--targets', 'direct,nginx', '--scenarios', 'get,download', '--warmup', '0', '--download-mb', '8']);
  try {
    assert.equal(r.code, 0, r.stdout);
    assert.match(r.stdout, /\[direct\] GET 1 KB, c=50: \d+ req\/s, p50 [\d.]+ ms, p99 [\d.]+ ms/);
    assert.match(r.stdout, /\[nginx\] download 8 MiB: \d+ MiB\/s/);
    assert.match(r.stdout, /GET 1 KB, 50 connections\ntarget +req\/s +×nginx +×direct/);
    const results = await readResults(r.outDir);
    assert.deepEqual(results.targets.map((t) => [t.name, t.status]), [['direct', 'ok'], ['nginx', 'ok']]);
    assert.equal(results.runs.length, 2);
    for (const run of results.runs) {
      assert.ok(run.requestsPerSec > 0 && run.p50Ms > 0 && run.p99Ms >= run.p50Ms, JSON.stringify(run));
      assert.equal(run.errors, 0);
      assertCpuRoles(run, run.target === 'nginx' ? ['nginx', 'backend'] : ['backend']);
    }
    if (process.platform === 'linux') {
      const cpuSvg = await readFile(join(r.outDir, 'latest-cpu.svg'), 'utf8');
      assert.equal((cpuSvg.match(/<g data-target=/g) ?? []).length, 2);
      assert.match(r.stdout, /^CPU per request \(µs\), GET 1 KB, c=50\ntarget +nginx +backend +total +×nginx +wrk \(client\)$/m);
    }
    assert.equal(results.downloads.length, 2);
    assert.ok(results.downloads.every((d) => d.bytes === 8 * 2 ** 20 && d.mibPerSec > 0));
    assert.ok(results.machine.cores >= 1);
    assert.match(results.versions.nginx ?? '', /^\d+\.\d+/);
    const svg = await readFile(join(r.outDir, 'latest.svg'), 'utf8');
    assert.equal((svg.match(/<rect [^>]*><title>/g) ?? []).length, 2);
    assert.deepEqual(await processesWithMarker(r.marker), []);
  } finally {
    await rm(r.outDir, { recursive: true, force: true });
  }
});

test('quick run of both zeroproxy targets and a 1→2 worker scaling curve: correct answers, no errors, clean SIGTERM exits, no child left', { skip: !haveWrk ? 'needs wrk' : false }, async () => {
  const r = await runBench(['--quick', '--targets', 'zeroproxy-sdk,zeroproxy-forward', '--scenarios', 'get,post,download,scaling', '--scaling-workers', '1,2', '--warmup', '0', '--download-mb', '8']);
  try {
    assert.equal(r.code, 0, r.stdout);
    const results = await readResults(r.outDir);
    assert.deepEqual(results.targets.map((t) => [t.name, t.status]), [['zeroproxy-sdk', 'ok'], ['zeroproxy-forward', 'ok']]);
    assert.equal(results.runs.length, 4);
    for (const run of results.runs) {
      assert.equal(run.errors, 0, JSON.stringify(run));
      if (run.target === 'zeroproxy-sdk') assertCpuRoles(run, ['router', 'worker'], ['router', 'worker']);
      else assertCpuRoles(run, ['router', 'bridge', 'backend'], ['router', 'bridge']);
    }
    assert.equal(results.downloads.length, 2);
    // The scaling curve: one point per worker count, every request answered (no timing asserted).
    assert.deepEqual(results.scaling?.map((s) => s.workers), [1, 2]);
    for (const s of results.scaling ?? []) {
      assert.equal(s.errors, 0, JSON.stringify(s));
      assert.ok(s.requestsPerSec > 0, JSON.stringify(s));
    }
    assert.match(r.stdout, /^Scaling: zeroproxy router \+ N SDK workers/m);
    // The README block: printed between markers and written next to the JSON.
    const markdown = await readFile(join(r.outDir, 'latest.md'), 'utf8');
    assert.ok(r.stdout.includes(`--- markdown for docs/benchmarks.md (paste as is) ---\n${markdown}--- end of markdown ---`), r.stdout);
    assert.match(markdown, /^\| workers \| req\/s \| ideal \|/m);
    assert.match(markdown, /^\| zeroproxy-forward \| [\d,]+ \| /m);
    assert.match(await readFile(join(r.outDir, 'latest-scaling.svg'), 'utf8'), /^<svg xmlns/);
    // The CLI contract: SIGTERM → drain, BYE, exit 0. The harness warns otherwise.
    assert.doesNotMatch(r.stdout, /did not exit cleanly/);
    assert.deepEqual(await processesWithMarker(r.marker), []);
  } finally {
    await rm(r.outDir, { recursive: true, force: true });
  }
});

test('--rounds 2: targets interleaved and rotated, every round recorded, medians and a summary written', { skip: !haveWrk || !haveNginx ? 'needs wrk and nginx' : false }, async () => {
  const r = await runBench(['--quick', '--targets', 'direct,nginx', '--scenarios', 'get', '--warmup', '0', '--rounds', '2']);
  try {
    assert.equal(r.code, 0, r.stdout);
    const measured = [...r.stdout.matchAll(/\[(\w+)\] GET 1 KB, c=50 \(round (\d)\/2\): \d+ req\/s/g)].map((m) => `${m[1]} ${m[2]}`);
    assert.deepEqual(measured, ['direct 1', 'nginx 1', 'nginx 2', 'direct 2'], r.stdout);
    const results = await readResults(r.outDir);
    assert.equal(results.settings.rounds, 2);
    assert.deepEqual(results.runs.map((x) => `${x.target} ${x.round}`), measured);
    assert.deepEqual(results.summary?.map((s) => [s.target, s.rounds]), [['direct', 2], ['nginx', 2]]);
    assert.equal(results.summary?.[1]?.ratios.direct.requestsPerSec?.rounds, 2);
    assert.match(await readFile(join(r.outDir, 'latest.md'), 'utf8'), /^> 2 interleaved rounds: /m);
    assert.deepEqual(await processesWithMarker(r.marker), []);
  } finally {
    await rm(r.outDir, { recursive: true, force: true });
  }
});

test('missing tools are named, their targets skipped, the rest still measured', async () => {
  const r = await runBench(['--quick', '--targets', 'direct,nginx,haproxy', '--scenarios', 'get,download', '--download-mb', '4'], { BENCH_TOOLS_PATH: '/nonexistent' });
  try {
    assert.equal(r.code, 0, r.stdout);
    assert.match(r.stdout, /missing: wrk, nginx, haproxy — install with: apt-get install -y wrk nginx haproxy/);
    assert.match(r.stdout, /\[nginx\] skipped: nginx not installed/);
    const results = await readResults(r.outDir);
    assert.deepEqual(results.targets.map((t) => t.status), ['ok', 'skipped', 'skipped']);
    assert.equal(results.runs.length, 0);
    assert.equal(results.downloads.length, 1);
    assert.deepEqual(await processesWithMarker(r.marker), []);
  } finally {
    await rm(r.outDir, { recursive: true, force: true });
  }
});

test('Ctrl-C mid-run stops every child and exits 130', { skip: !haveWrk || !haveNginx ? 'needs wrk and nginx' : false }, async () => {
  const r = await runBench(['--targets', 'nginx', '--scenarios', 'get', '--connections', '50', '--duration', '30', '--warmup', '0'], {}, /\[nginx\] GET 1 KB, c=50: measuring/);
  try {
    assert.equal(r.code, 130, r.stdout);
    assert.match(r.stdout, /SIGINT: stopping \d+ child process/);
    assert.deepEqual(await processesWithMarker(r.marker), []);
  } finally {
    await rm(r.outDir, { recursive: true, force: true });
  }
});

test('a bad flag is one line and exit code 2', async () => {
  const r = await runBench(['--targets', 'nginx,squid']);
  await rm(r.outDir, { recursive: true, force: true });
  assert.equal(r.code, 2);
  assert.match(r.stdout, /--targets <list>.*choose from direct, nginx, haproxy, zeroproxy-sdk, zeroproxy-forward/);
  assert.equal(r.stdout.trim().split('\n').length, 1);
});
