/**
 * Measuring targets that are all running at once. For each wrk scenario, for each round, every
 * target once — so the runs a ratio compares (a target against nginx or direct in the same round)
 * are seconds apart, not minutes, and a change of the host's speed between phases hits both. Each
 * round starts one target further on, so no target is always measured first or last. The downloads
 * follow, once per target.
 *
 * One measurement: a correctness check, a warm-up the first time the target meets a request kind,
 * then the measured run bracketed by CPU snapshots, and one progress line. A failed measurement is
 * recorded and the next one runs: nothing here throws.
 */
import { join } from 'node:path';
import type { ChildSet } from './children.ts';
import { openCpuWindow } from './cpu.ts';
import type { DownloadRecord, FailureRecord, WrkRecord } from './results.ts';
import { checkResponse, runDownload, SCENARIO_LABELS, streamPath, type WrkScenario, type WrkScenarioKind } from './scenarios.ts';
import type { RunningTarget, TargetName } from './targets/types.ts';
import { runWrk } from './wrk.ts';

/** Warm-up downloads are at most this large: enough for cold code paths, not a second measurement. */
const DOWNLOAD_WARMUP_MAX_BYTES = 16 * 1024 * 1024;

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
  rounds: number;
  /** Bytes of the streaming download, or null when it is not selected. */
  downloadBytes: number | null;
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

/** `items` rotated left by round − 1 (round 1: as given; round 2: from the second; …). */
export function roundOrder<T>(items: readonly T[], round: number): T[] {
  if (items.length === 0) return [];
  const start = (round - 1) % items.length;
  return [...items.slice(start), ...items.slice(0, start)];
}

export async function measureAll(plan: MeasurePlan, targets: readonly StartedTarget[]): Promise<Measured> {
  const out: Measured = { runs: [], downloads: [], failures: [] };
  for (const scenario of plan.wrk) {
    for (let round = 1; round <= plan.rounds; round++) {
      for (const target of roundOrder(targets, round)) await measureWrk(plan, target, scenario, round, out);
    }
  }
  if (plan.downloadBytes !== null) for (const target of targets) await measureDownload(plan, target, plan.downloadBytes, out);
  return out;
}

function wantsWarmup(plan: MeasurePlan, target: StartedTarget, kind: WrkScenarioKind | 'download'): boolean {
  const first = !target.warmed.has(kind) && (plan.warmupEveryKind || target.warmed.size === 0);
  target.warmed.add(kind);
  return plan.warmupSec > 0 && first;
}

/** Runs `measure`; on failure records it (with its round) and logs its first line. */
async function attempt(plan: MeasurePlan, out: Measured, failure: Omit<FailureRecord, 'error'>, what: string, measure: () => Promise<void>): Promise<void> {
  try {
    await measure();
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    out.failures.push({ ...failure, error });
    plan.log(`${what}: FAILED — ${error.split('\n')[0]}`);
  }
}

function measureWrk(plan: MeasurePlan, target: StartedTarget, s: WrkScenario, round: number, out: Measured): Promise<void> {
  const label = `${SCENARIO_LABELS[s.kind]}, c=${s.connections}`;
  const what = `[${target.name}] ${label}${plan.rounds > 1 ? ` (round ${round}/${plan.rounds})` : ''}`;
  return attempt(plan, out, { target: target.name, scenario: label, round }, what, async () => {
    const { baseUrl, processes } = target.running;
    const wrk = { wrkPath: plan.wrkPath, url: baseUrl + s.check.path, ...(s.script ? { script: join(plan.benchDir, s.script) } : {}) };
    await checkResponse(baseUrl, s.check);
    if (wantsWarmup(plan, target, s.kind)) {
      // Warm at the highest connection count of this kind: JIT, keep-alive pools, worker credit.
      const connections = Math.max(...plan.wrk.filter((x) => x.kind === s.kind).map((x) => x.connections));
      plan.log(`[${target.name}] ${SCENARIO_LABELS[s.kind]}: warm-up ${plan.warmupSec} s at c=${connections}`);
      await runWrk(plan.children, { ...wrk, connections, durationSec: plan.warmupSec });
    }
    plan.log(`${what}: measuring ${plan.durationSec} s`);
    // CPU of every process over exactly the measured run (not the warm-up, not the check).
    const cpu = await openCpuWindow(processes);
    const r = await runWrk(plan.children, { ...wrk, connections: s.connections, durationSec: plan.durationSec });
    const usage = await cpu.finish(r.requests);
    const rec: WrkRecord = {
      target: target.name,
      scenario: s.kind,
      connections: s.connections,
      round,
      ...r,
      ...(usage && { cpuUsPerRequest: usage.byRole, cpuUsPerRequestTotal: usage.total, cpuThreadsUsPerRequest: usage.threads }),
    };
    out.runs.push(rec);
    plan.log(
      `${what}: ${r.requestsPerSec.toFixed(0)} req/s, p50 ${r.p50Ms.toFixed(3)} ms, p99 ${r.p99Ms.toFixed(3)} ms` +
        (usage ? `, CPU ${usage.total.toFixed(1)} µs/request` : '') +
        (r.errors > 0 ? `, ${r.errors} ERRORS` : ''),
    );
  });
}

function measureDownload(plan: MeasurePlan, target: StartedTarget, bytes: number, out: Measured): Promise<void> {
  const mib = (n: number): string => (n / 2 ** 20).toFixed(0);
  const what = `[${target.name}] download ${mib(bytes)} MiB`;
  return attempt(plan, out, { target: target.name, scenario: `download ${mib(bytes)} MiB` }, what, async () => {
    const { baseUrl, frontPid } = target.running;
    if (wantsWarmup(plan, target, 'download')) {
      const warmup = Math.min(bytes, DOWNLOAD_WARMUP_MAX_BYTES);
      plan.log(`${what}: warm-up ${mib(warmup)} MiB`);
      await runDownload(baseUrl, streamPath(warmup), warmup, frontPid);
    }
    plan.log(`${what}: streaming`);
    const r = await runDownload(baseUrl, streamPath(bytes), bytes, frontPid);
    out.downloads.push({ target: target.name, ...r });
    const rss = r.frontRssPeakMiB === null ? 'RSS n/a' : `front RSS ${r.frontRssStartMiB} → peak ${r.frontRssPeakMiB} MiB`;
    plan.log(`${what}: ${r.mibPerSec.toFixed(0)} MiB/s in ${r.seconds.toFixed(2)} s, ${rss}`);
  });
}
