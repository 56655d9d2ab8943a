/**
 * Runs every scenario against one started target: a correctness check first, a warm-up once per
 * request kind, then the measured wrk run (or the download), printing progress as it goes.
 * A failing scenario is recorded and the next one runs; nothing here throws.
 */
import { join } from 'node:path';
import type { ChildSet } from './children.ts';
import { checkResponse } from './check.ts';
import { openCpuWindow } from './cpu-window.ts';
import { runDownload } from './download.ts';
import type { DownloadRecord, FailureRecord, WrkRecord } from './results-model.ts';
import { SCENARIO_LABELS, type DownloadScenario, type WrkScenario, type WrkScenarioKind } from './scenarios.ts';
import type { RunningTarget, TargetName } from './targets/types.ts';
import { runWrk } from './wrk.ts';
import { errorCount } from './wrk-parse.ts';

export interface MeasurePlan {
  children: ChildSet;
  target: TargetName;
  running: RunningTarget;
  wrkPath: string;
  benchDir: string;
  durationSec: number;
  warmupSec: number;
  /** False: only the first request kind gets a warm-up (the quick run's time budget). */
  warmupEveryKind: boolean;
  wrk: readonly WrkScenario[];
  download: DownloadScenario | null;
  log(line: string): void;
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

function wantsWarmup(plan: MeasurePlan, kind: WrkScenarioKind | 'download', warmed: ReadonlySet<WrkScenarioKind | 'download'>): boolean {
  return plan.warmupSec > 0 && !warmed.has(kind) && (plan.warmupEveryKind || warmed.size === 0);
}

async function measureWrk(plan: MeasurePlan, wrkPath: string, s: WrkScenario, warmed: Set<WrkScenarioKind | 'download'>): Promise<WrkRecord> {
  const url = plan.running.baseUrl + s.path;
  const script = s.script === undefined ? undefined : join(plan.benchDir, s.script);
  await checkResponse(plan.running.baseUrl, s.check);
  if (wantsWarmup(plan, s.kind, warmed)) {
    // Warm at the highest connection count of this kind: JIT, keep-alive pools, worker credit.
    const connections = Math.max(...plan.wrk.filter((x) => x.kind === s.kind).map((x) => x.connections));
    plan.log(`[${plan.target}] ${SCENARIO_LABELS[s.kind]}: warm-up ${plan.warmupSec} s at c=${connections}`);
    await runWrk(plan.children, { wrkPath, url, connections, durationSec: plan.warmupSec, ...(script ? { script } : {}) });
  }
  warmed.add(s.kind);
  plan.log(`[${plan.target}] ${label(s)}: measuring ${plan.durationSec} s`);
  // CPU of every process over exactly the measured run (not the warm-up, not the check).
  const cpu = await openCpuWindow(plan.running.processes);
  const r = await runWrk(plan.children, { wrkPath, url, connections: s.connections, durationSec: plan.durationSec, ...(script ? { script } : {}) });
  const usage = await cpu.finish(r.requests);
  return {
    target: plan.target,
    scenario: s.kind,
    connections: s.connections,
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

export async function measureTarget(plan: MeasurePlan): Promise<Measured> {
  const out: Measured = { runs: [], downloads: [], failures: [] };
  const warmed = new Set<WrkScenarioKind | 'download'>();
  for (const s of plan.wrk) {
    try {
      const rec = await measureWrk(plan, plan.wrkPath, s, warmed);
      out.runs.push(rec);
      plan.log(
        `[${plan.target}] ${label(s)}: ${rec.requestsPerSec.toFixed(0)} req/s, p50 ${rec.p50Ms.toFixed(3)} ms, p99 ${rec.p99Ms.toFixed(3)} ms` +
          (rec.cpuUsPerRequestTotal === undefined ? '' : `, CPU ${rec.cpuUsPerRequestTotal.toFixed(1)} µs/request`) +
          (rec.errors > 0 ? `, ${rec.errors} ERRORS` : ''),
      );
    } catch (err) {
      out.failures.push({ target: plan.target, scenario: label(s), error: message(err) });
      plan.log(`[${plan.target}] ${label(s)}: FAILED — ${message(err).split('\n')[0]}`);
    }
  }
  if (plan.download) {
    const d = plan.download;
    const what = `download ${(d.bytes / 2 ** 20).toFixed(0)} MiB`;
    try {
      if (wantsWarmup(plan, 'download', warmed)) {
        plan.log(`[${plan.target}] ${what}: warm-up ${(d.warmup.bytes / 2 ** 20).toFixed(0)} MiB`);
        await runDownload(plan.running.baseUrl + d.warmup.path, d.warmup.bytes, plan.running.frontPid);
      }
      warmed.add('download');
      plan.log(`[${plan.target}] ${what}: streaming`);
      const r = await runDownload(plan.running.baseUrl + d.path, d.bytes, plan.running.frontPid);
      out.downloads.push({ target: plan.target, ...r });
      const rss = r.frontRssPeakMiB === null ? 'RSS n/a' : `front RSS ${r.frontRssStartMiB} → peak ${r.frontRssPeakMiB} MiB`;
      plan.log(`[${plan.target}] ${what}: ${r.mibPerSec.toFixed(0)} MiB/s in ${r.seconds.toFixed(2)} s, ${rss}`);
    } catch (err) {
      out.failures.push({ target: plan.target, scenario: what, error: message(err) });
      plan.log(`[${plan.target}] ${what}: FAILED — ${message(err).split('\n')[0]}`);
    }
  }
  return out;
}
