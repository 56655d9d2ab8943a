/**
 * `npm run bench`: one run, one machine — the fastify backend direct, behind nginx, behind HAProxy,
 * behind zeroproxy with an SDK worker, and behind zeroproxy with `zeroproxy worker --forward`,
 * all driven by wrk. All selected targets run at once; each wrk scenario measures them in turn,
 * --rounds times (measure.ts). Prints progress, then the tables (report.ts); writes
 * <out>/<date>.{json,md,svg} and the CPU and scaling charts (results.ts).
 *
 * Every child process goes through one ChildSet and is stopped at the end, on Ctrl-C/SIGTERM and on
 * errors. Exit code: 0 when everything selected was measured, 1 when a target or scenario failed
 * (missing tools only skip, they do not fail), 2 for bad flags, 130 when interrupted.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CommanderError } from 'commander';
import { ChildSet, type ManagedChild } from './children.ts';
import { measureAll, type StartedTarget } from './measure.ts';
import { parseBenchOptions, type BenchOptions } from './options.ts';
import { renderMarkdown, renderReport } from './report.ts';
import { writeResults, type BenchResults, type TargetStatus } from './results.ts';
import { runScaling } from './scaling.ts';
import { wrkScenarios } from './scenarios.ts';
import { summarizeRuns } from './stats.ts';
import { ALL_TARGETS, type TargetContext } from './targets/index.ts';
import { START_TIMEOUT_MS } from './targets/types.ts';
import { findTools, machineInfo, missingTools, versions, type Tools } from './tools.ts';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const benchDir = join(repoRoot, 'bench');
const startedAt = performance.now();

/** Progress line with the elapsed time, so slow steps (start-up, shutdown) are visible. */
function log(line: string): void {
  const seconds = ((performance.now() - startedAt) / 1000).toFixed(1).padStart(5);
  process.stdout.write(`[${seconds}s] ${line}\n`);
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Caveats printed with every result: shared cores always, a busy machine when it was. */
function notes(cores: number, load: number): string[] {
  const shared =
    `${cores} cores: wrk, the proxy, the backend (and for zeroproxy the worker process) all share them, ` +
    'so absolute numbers are low and proxies that use less CPU per request look better — compare ratios, on one machine, in one run.';
  // Load left over from other work is noise in every number; say so rather than hide it.
  const busy = `the machine was busy when the run started (load average ${load} on ${cores} cores): expect noisy numbers.`;
  return load > cores * 0.25 ? [shared, busy] : [shared];
}

/** The fastify backend every target ends at (backend-server.ts), as its own process; resolves once it listens. */
async function startBackend(children: ChildSet): Promise<{ url: string; child: ManagedChild }> {
  const child = children.start({ name: 'fastify backend', command: process.execPath, args: ['--import', 'tsx', join(benchDir, 'backend-server.ts'), '0'], cwd: repoRoot });
  const rec = await child.waitForLog('backend listening', START_TIMEOUT_MS);
  return { url: `http://127.0.0.1:${String(rec['port'])}`, child };
}

/**
 * Starts every selected target that can run, in report order, appending each to `running` as soon
 * as it is up (so the caller stops it whatever happens next) and its status to `statuses`.
 */
async function startTargets(options: BenchOptions, ctx: TargetContext, backend: ManagedChild, statuses: TargetStatus[], running: StartedTarget[]): Promise<void> {
  for (const target of ALL_TARGETS.filter((t) => options.targets.includes(t.name))) {
    const status: TargetStatus = { name: target.name, description: target.description, status: 'ok' };
    statuses.push(status);
    const missing = target.needs.filter((n) => ctx.tools[n].path === null);
    if (missing.length > 0) {
      Object.assign(status, { status: 'skipped', reason: `${missing.join(', ')} not installed` });
      log(`[${target.name}] skipped: ${status.reason}`);
      continue;
    }
    if (!backend.running) throw new Error(`the fastify backend died; last output:\n${backend.tail()}`);
    log(`[${target.name}] starting: ${target.description}`);
    try {
      running.push({ name: target.name, running: await target.start(ctx), warmed: new Set() });
    } catch (err) {
      Object.assign(status, { status: 'failed', reason: message(err) });
      log(`[${target.name}] FAILED to start — ${status.reason}`);
    }
  }
}

async function runBench(options: BenchOptions, tools: Tools, children: ChildSet, tempDir: string): Promise<BenchResults> {
  const machine = machineInfo();
  const { durationSec, warmupSec, connections, downloadBytes, workerCapacity, rounds } = options;
  const results: BenchResults = {
    date: new Date().toISOString(),
    quick: options.quick,
    settings: { durationSec, warmupSec, connections, downloadBytes, workerCapacity, wrkThreads: 1, rounds },
    machine,
    versions: await versions(tools, join(repoRoot, 'package.json')),
    notes: notes(machine.cores, machine.loadAverage),
    targets: [],
    runs: [],
    summary: [],
    downloads: [],
    scaling: [],
    failures: [],
  };
  if (tools.wrk.path === null) results.notes.push('wrk is missing: no req/s or latency numbers in this run.');
  log(`machine: ${machine.cpuModel}, ${machine.cores} cores`);
  for (const note of results.notes) log(`note: ${note}`);

  // Without wrk the wrk scenarios are skipped (reported as missing), not failed.
  const wrk = tools.wrk.path === null ? [] : wrkScenarios(options);
  // Only the scaling curve selected: it brings its own router and workers, no target to start.
  const perTarget = options.scenarios.some((s) => s !== 'scaling');
  const running: StartedTarget[] = [];
  if (perTarget) {
    log('starting the fastify backend');
    const backend = await startBackend(children);
    log(`backend at ${backend.url}`);
    const { pid } = backend.child;
    const ctx: TargetContext = { children, tools, backendUrl: backend.url, backendPid: pid, backendRole: { role: 'backend', pid }, tempDir, repoRoot, workerCapacity, log };
    // Every selected target is started first and stays up until its last measurement: the rounds
    // interleave them. Idle targets use no CPU and listen on ports of their own.
    try {
      await startTargets(options, ctx, backend.child, results.targets, running);
      if (rounds > 1 && wrk.length > 0) log(`${rounds} rounds per scenario, targets interleaved: ${running.map((t) => t.name).join(', ')}`);
      const plan = { children, wrkPath: tools.wrk.path ?? '', benchDir, durationSec, warmupSec, warmupEveryKind: options.warmupEveryKind, wrk, rounds, log };
      const measured = await measureAll({ ...plan, downloadBytes: options.scenarios.includes('download') ? downloadBytes : null }, running);
      Object.assign(results, measured);
    } finally {
      // Last started, first stopped; the scaling curve then has the machine to itself.
      for (const t of [...running].reverse()) {
        log(`[${t.name}] stopping`);
        await t.running.stop();
      }
    }
  }
  if (options.scenarios.includes('scaling') && tools.wrk.path !== null) {
    log(`[scaling] router + ${options.scalingWorkers.join(', ')} SDK workers (handler waits 5 ms)`);
    try {
      const plan = { children, repoRoot, tempDir, wrkPath: tools.wrk.path, workerCounts: options.scalingWorkers, durationSec, log };
      results.scaling = await runScaling({ ...plan, warmupSec: Math.min(warmupSec, 2) });
    } catch (err) {
      results.failures.push({ target: 'zeroproxy-sdk', scenario: 'scaling', error: message(err) });
      log(`[scaling] FAILED — ${message(err).split('\n')[0]}`);
    }
  }
  results.summary = summarizeRuns(results);
  return results;
}

async function main(): Promise<number> {
  let options: BenchOptions;
  try {
    options = parseBenchOptions(process.argv.slice(2), join(benchDir, 'results'));
  } catch (err) {
    if (err instanceof CommanderError) return err.code === 'commander.helpDisplayed' ? 0 : 2;
    throw err;
  }
  const tools = await findTools();
  const missing = missingTools(tools);
  if (missing.length > 0) {
    log(`missing: ${missing.join(', ')} — install with: apt-get install -y ${missing.join(' ')}`);
    for (const m of missing) log(m === 'wrk' ? 'without wrk only the streaming download is measured' : `without ${m} the ${m} target is skipped`);
  }

  const children = new ChildSet((line) => log(`warning: ${line}`));
  const tempDir = await mkdtemp(join(tmpdir(), 'zp-bench-'));
  let stopping = false;
  const cleanup = async (): Promise<void> => {
    await children.shutdown();
    await rm(tempDir, { recursive: true, force: true });
  };
  // Last resort: whatever way this process exits, no child outlives it.
  process.on('exit', () => children.killAllNow());
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      children.killAllNow();
      process.exit(130);
    }
    stopping = true;
    log(`${signal}: stopping ${children.count} child process(es)…`);
    void cleanup().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let results: BenchResults;
  try {
    results = await runBench(options, tools, children, tempDir);
  } finally {
    await cleanup();
  }
  // Interrupted: the signal handler owns the exit; a half run is not a result worth writing.
  if (stopping) return 130;
  process.stdout.write('\n' + renderReport(results) + '\n');
  process.stdout.write('\n--- markdown for docs/benchmarks.md (paste as is) ---\n' + renderMarkdown(results) + '--- end of markdown ---\n');
  const files = await writeResults(options.outDir, results);
  process.stdout.write('\n' + files.map((f) => `wrote ${f}\n`).join(''));
  const failed = results.targets.some((t) => t.status === 'failed') || results.failures.length > 0;
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
