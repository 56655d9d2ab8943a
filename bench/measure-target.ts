/**
 * One measurement of one started target: a wrk scenario in one round, or the download. A
 * correctness check first, a warm-up the first time the target meets a request kind, then the
 * measured run, with one progress line. A failure is recorded and the caller goes on; nothing here
 * throws. The order of targets, scenarios and rounds is measure-rounds.ts's.
 */
import { join } from 'node:path';
import type { ChildSet } from './children.ts';
import { checkResponse } from './check.ts';
import { openCpuWindow } from './cpu.ts';
import { runDownload } from './download.ts';
import type { DownloadRecord, FailureRecord, WrkRecord } from './results-model.ts';
import { SCENARIO_LABELS, type DownloadScenario, type WrkScenario, type WrkScenarioKind } from './scenarios.ts';
import type { RunningTarget, TargetName } from './targets/types.ts';
import { runWrk } from './wrk.ts';
import { errorCount } from './wrk-parse.ts';

/** What every measurement of the run shares. */
export interface MeasurePlan {
  children: ChildSet;
  wrkPath: string;
  benchDir: string;
  durationSec: number;
  warmupSec: number;
  /** False: only the first request kind gets a warm-up (the quick run's time budget). */
  warmupEveryKind: boolean;
  wrk: readonly WrkScenario[];
  /** How many rounds each wrk scenario runs (progress lines say "round r/N" when above 1). */
  rounds: number;
  log(line: string): void;
}

/** A started target, and the request kinds it was already warmed up for. */
export interface StartedTarget {
  name: TargetName;
  running: RunningTarget;
  warmed: Set<WrkScenarioKind | 'download'>;
}

export interface Measured {
  runs: WrkRecord[];
  downloads: DownloadRecord[];
  failures: FailureRecord[];
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function label(s: WrkScenario): string {
  return `${SCENARIO_LABELS[s.kind]}, c=${s.connections}`;
}

/** "GET 1 KB, c=50", and " (round 2/3)" when the run has several rounds. */
function roundLabel(plan: MeasurePlan, s: WrkScenario, round: number): string {
  return plan.rounds > 1 ? `${label(s)} (round ${round}/${plan.rounds})` : label(s);
}

function wantsWarmup(plan: MeasurePlan, kind: WrkScenarioKind | 'download', warmed: ReadonlySet<WrkScenarioKind | 'download'>): boolean {
  return plan.warmupSec > 0 && !warmed.has(kind) && (plan.warmupEveryKind || warmed.size === 0);
}

async function measureWrk(plan: MeasurePlan, target: StartedTarget, s: WrkScenario, round: number): Promise<WrkRecord> {
  const { running, warmed } = target;
  const url = running.baseUrl + s.path;
  const script = s.script === undefined ? undefined : join(plan.benchDir, s.script);
  await checkResponse(running.baseUrl, s.check);
  if (wantsWarmup(plan, s.kind, warmed)) {
    // Warm at the highest connection count of this kind: JIT, keep-alive pools, worker credit.
    const connections = Math.max(...plan.wrk.filter((x) => x.kind === s.kind).map((x) => x.connections));
    plan.log(`[${target.name}] ${SCENARIO_LABELS[s.kind]}: warm-up ${plan.warmupSec} s at c=${connections}`);
    await runWrk(plan.children, { wrkPath: plan.wrkPath, url, connections, durationSec: plan.warmupSec, ...(script ? { script } : {}) });
  }
  warmed.add(s.kind);
  plan.log(`[${target.name}] ${roundLabel(plan, s, round)}: measuring ${plan.durationSec} s`);
  // CPU of every process over exactly the measured run (not the warm-up, not the check).
  const cpu = await openCpuWindow(running.processes);
  const r = await runWrk(plan.children, { wrkPath: plan.wrkPath, url, connections: s.connections, durationSec: plan.durationSec, ...(script ? { script } : {}) });
  const usage = await cpu.finish(r.requests);
  return {
    target: target.name,
    scenario: s.kind,
    connections: s.connections,
    round,
    requestsPerSec: r.requestsPerSec,
    p50Ms: r.p50Ms,
    p75Ms: r.p75Ms,
    p90Ms: r.p90Ms,
    p99Ms: r.p99Ms,
    requests: r.requests,
    errors: errorCount(r),
    ...(usage === null
      ? {}
      : { cpuUsPerRequest: usage.byRole, cpuUsPerRequestTotal: usage.total, cpuThreadsUsPerRequest: usage.threads }),
  };
}

/** One measured wrk run of one target in one round, appended to `out` (its record or its failure). */
export async function measureWrkRound(plan: MeasurePlan, target: StartedTarget, s: WrkScenario, round: number, out: Measured): Promise<void> {
  const what = `[${target.name}] ${roundLabel(plan, s, round)}`;
  try {
    const rec = await measureWrk(plan, target, s, round);
    out.runs.push(rec);
    plan.log(
      `${what}: ${rec.requestsPerSec.toFixed(0)} req/s, p50 ${rec.p50Ms.toFixed(3)} ms, p99 ${rec.p99Ms.toFixed(3)} ms` +
        (rec.cpuUsPerRequestTotal === undefined ? '' : `, CPU ${rec.cpuUsPerRequestTotal.toFixed(1)} µs/request`) +
        (rec.errors > 0 ? `, ${rec.errors} ERRORS` : ''),
    );
  } catch (err) {
    out.failures.push({ target: target.name, scenario: label(s), round, error: message(err) });
    plan.log(`${what}: FAILED — ${message(err).split('\n')[0]}`);
  }
}

/** The streaming download of one target (once per run), appended to `out`. */
export async function measureDownload(plan: MeasurePlan, target: StartedTarget, d: DownloadScenario, out: Measured): Promise<void> {
  const { running, warmed } = target;
  const what = `download ${(d.bytes / 2 ** 20).toFixed(0)} MiB`;
  try {
    if (wantsWarmup(plan, 'download', warmed)) {
      plan.log(`[${target.name}] ${what}: warm-up ${(d.warmup.bytes / 2 ** 20).toFixed(0)} MiB`);
      await runDownload(running.baseUrl + d.warmup.path, d.warmup.bytes, running.frontPid);
    }
    warmed.add('download');
    plan.log(`[${target.name}] ${what}: streaming`);
    const r = await runDownload(running.baseUrl + d.path, d.bytes, running.frontPid);
    out.downloads.push({ target: target.name, ...r });
    const rss = r.frontRssPeakMiB === null ? 'RSS n/a' : `front RSS ${r.frontRssStartMiB} → peak ${r.frontRssPeakMiB} MiB`;
    plan.log(`[${target.name}] ${what}: ${r.mibPerSec.toFixed(0)} MiB/s in ${r.seconds.toFixed(2)} s, ${rss}`);
  } catch (err) {
    out.failures.push({ target: target.name, scenario: what, error: message(err) });
    plan.log(`[${target.name}] ${what}: FAILED — ${message(err).split('\n')[0]}`);
  }
}
