/**
 * `npm run bench`: one run, one machine — the fastify backend direct, behind nginx, behind HAProxy,
 * behind zeroproxy with an SDK worker, and behind zeroproxy with `zeroproxy worker --forward`,
 * all driven by wrk. All selected targets run at once; each wrk scenario measures them in turn,
 * --rounds times (measure-rounds.ts). Prints progress, then a table of medians and per-round
 * ratios (round-stats.ts); writes bench/results/<date>.{json,svg,md}.
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
import { startBackend } from './backend.ts';
import { ChildSet, type ManagedChild } from './children.ts';
import { machineInfo, versions } from './machine.ts';
import { measureRounds } from './measure-rounds.ts';
import type { StartedTarget } from './measure-target.ts';
import { parseBenchOptions, type BenchOptions } from './options.ts';
import { renderMarkdown } from './markdown.ts';
import { renderReport } from './report.ts';
import { runScaling } from './scaling.ts';
import { writeResults } from './results-file.ts';
import { summarizeRuns } from './round-stats.ts';
import type { BenchResults, TargetStatus } from './results-model.ts';
import { downloadScenario, wrkScenarios } from './scenarios.ts';
import { ALL_TARGETS, type TargetContext } from './targets/index.ts';
import { START_TIMEOUT_MS } from './targets/types.ts';
import { findTools, missingTools, TOOL_PACKAGES, type Tools } from './tools.ts';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const benchDir = join(repoRoot, 'bench');

const startedAt = performance.now();

/** Progress line with the elapsed time, so slow steps (start-up, shutdown) are visible. */
function log(line: string): void {
  const seconds = ((performance.now() - startedAt) / 1000).toFixed(1).padStart(5);
  process.stdout.write(`[${seconds}s] ${line}\n`);
}

function sharedCoreNote(cores: number): string {
  return (
    `${cores} cores: wrk, the proxy, the backend (and for zeroproxy the worker process) all share them, ` +
    'so absolute numbers are low and proxies that use less CPU per request look better — compare ratios, on one machine, in one run.'
  );
}

/** Load left over from other work is noise in every number; say so rather than hide it. */
function busyNote(load: number, cores: number): string[] {
  return load > cores * 0.25 ? [`the machine was busy when the run started (load average ${load} on ${cores} cores): expect noisy numbers.`] : [];
}

/**
 * Starts every selected target that can run, in report order, appending each to `running` as soon
 * as it is up (so the caller stops it whatever happens next) and its status to `statuses`.
 * Only the scaling curve selected: it brings its own router and workers, no target to start.
 */
async function startTargets(
  options: BenchOptions,
  tools: Tools,
  ctx: TargetContext,
  backend: ManagedChild,
  statuses: TargetStatus[],
  running: StartedTarget[],
): Promise<void> {
  const perTarget = options.scenarios.some((s) => s !== 'scaling');
  for (const target of ALL_TARGETS.filter((t) => perTarget && options.targets.includes(t.name))) {
    const status: TargetStatus = { name: target.name, description: target.description, status: 'ok' };
    statuses.push(status);
    const missing = target.needs.filter((n) => tools[n].path === null);
    if (missing.length > 0) {
      status.status = 'skipped';
      status.reason = `${missing.join(', ')} not installed`;
      log(`[${target.name}] skipped: ${status.reason}`);
      continue;
    }
    if (!backend.running) throw new Error(`the fastify backend died; last output:\n${backend.tail()}`);
    log(`[${target.name}] starting: ${target.description}`);
    try {
      running.push({ name: target.name, running: await target.start(ctx), warmed: new Set() });
    } catch (err) {
      status.status = 'failed';
      status.reason = err instanceof Error ? err.message : String(err);
      log(`[${target.name}] FAILED to start — ${status.reason}`);
    }
  }
}

async function runBench(options: BenchOptions, tools: Tools, children: ChildSet, tempDir: string): Promise<BenchResults> {
  const started = new Date().toISOString();
  const machine = await machineInfo();
  const results: BenchResults = {
    date: started,
    quick: options.quick,
    settings: {
      durationSec: options.durationSec,
      warmupSec: options.warmupSec,
      connections: options.connections,
      downloadBytes: options.downloadBytes,
      workerCapacity: options.workerCapacity,
      wrkThreads: 1,
      rounds: options.rounds,
    },
    machine,
    versions: await versions(tools, join(repoRoot, 'package.json')),
    notes: [sharedCoreNote(machine.cores), ...busyNote(machine.loadAverage, machine.cores)],
    targets: [],
    runs: [],
    downloads: [],
    failures: [],
  };
  if (tools.wrk.path === null) results.notes.push('wrk is missing: no req/s or latency numbers in this run.');
  log(`machine: ${machine.cpuModel}, ${machine.cores} cores`);
  for (const note of results.notes) log(`note: ${note}`);

  // Without wrk the wrk scenarios are skipped (reported as missing), not failed.
  const wrkPath = tools.wrk.path ?? '';
  const wrk = tools.wrk.path === null ? [] : wrkScenarios(options);
  const download = downloadScenario(options);
  log('starting the fastify backend');
  const backend = await startBackend(children, repoRoot, START_TIMEOUT_MS);
  log(`backend at ${backend.url}`);
  const ctx: TargetContext = {
    children,
    tools,
    backendUrl: backend.url,
    backendPid: backend.child.pid,
    backendRole: { role: 'backend', pid: backend.child.pid },
    tempDir,
    repoRoot,
    workerCapacity: options.workerCapacity,
    log,
  };

  // Every selected target is started first and stays up until its last measurement: the rounds
  // interleave them (measure-rounds.ts). Idle targets use no CPU and listen on ports of their own.
  const running: StartedTarget[] = [];
  try {
    await startTargets(options, tools, ctx, backend.child, results.targets, running);
    if (options.rounds > 1 && wrk.length > 0) log(`${options.rounds} rounds per scenario, targets interleaved: ${running.map((t) => t.name).join(', ')}`);
    const measured = await measureRounds(
      {
        children,
        wrkPath,
        benchDir,
        durationSec: options.durationSec,
        warmupSec: options.warmupSec,
        warmupEveryKind: options.warmupEveryKind,
        wrk,
        rounds: options.rounds,
        log,
      },
      running,
      download,
    );
    results.runs.push(...measured.runs);
    results.downloads.push(...measured.downloads);
    results.failures.push(...measured.failures);
  } finally {
    // Last started, first stopped; the scaling curve then has the machine to itself.
    for (const t of [...running].reverse()) {
      log(`[${t.name}] stopping`);
      await t.running.stop();
    }
  }
  if (options.scenarios.includes('scaling') && tools.wrk.path !== null) {
    log(`[scaling] router + ${options.scalingWorkers.join(', ')} SDK workers (handler waits 5 ms)`);
    try {
      results.scaling = await runScaling({
        children,
        repoRoot,
        tempDir,
        wrkPath: tools.wrk.path,
        workerCounts: options.scalingWorkers,
        durationSec: options.durationSec,
        warmupSec: Math.min(options.warmupSec, 2),
        log,
      });
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      results.failures.push({ target: 'zeroproxy-sdk', scenario: 'scaling', error });
      log(`[scaling] FAILED — ${error.split('\n')[0]}`);
    }
  }
  results.summary = summarizeRuns(results);
  return results;
}

function reportMissing(tools: Tools): void {
  const missing = missingTools(tools);
  if (missing.length === 0) return;
  log(`missing: ${missing.join(', ')} — install with: apt-get install -y ${missing.map((m) => TOOL_PACKAGES[m]).join(' ')}`);
  if (missing.includes('wrk')) log('without wrk only the streaming download is measured');
  for (const m of missing.filter((x) => x !== 'wrk')) log(`without ${m} the ${m} target is skipped`);
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
  reportMissing(tools);

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
    cleanup().finally(() => process.exit(130));
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
  process.stdout.write(`\nwrote ${files.json}\nwrote ${files.svg}\nwrote ${files.markdown}\n`);
  if (files.cpuSvg !== undefined) process.stdout.write(`wrote ${files.cpuSvg}\n`);
  if (files.scalingSvg !== undefined) process.stdout.write(`wrote ${files.scalingSvg}\n`);
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
