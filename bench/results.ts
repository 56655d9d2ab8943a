/**
 * What one run measured, and on what — the shape of bench/results/<date>.json — and the files a run
 * writes: <date>.json, <date>.md (the docs/benchmarks.md block), <date>.svg (req/s),
 * <date>-cpu.svg (CPU per request, when measured: Linux) and <date>-scaling.svg (when the scaling
 * curve ran), each also copied to latest.*.
 */
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ThreadSplit } from './cpu.ts';
import { renderMarkdown } from './report.ts';
import type { DownloadResult, WrkScenarioKind } from './scenarios.ts';
import type { WrkSummary } from './stats.ts';
import { renderCpuSvg, renderRequestsSvg, renderScalingSvg } from './svg.ts';
import type { TargetName } from './targets/types.ts';
import type { MachineInfo, Versions } from './tools.ts';
import type { WrkResult } from './wrk.ts';

export interface TargetStatus {
  name: TargetName;
  description: string;
  status: 'ok' | 'skipped' | 'failed';
  /** Why it was skipped or failed. */
  reason?: string;
}

/** One measured wrk run of one target, in one round: wrk's numbers, and the CPU each process spent per request. */
export interface WrkRecord extends WrkResult {
  target: TargetName;
  scenario: WrkScenarioKind;
  connections: number;
  /** Which of the run's interleaved rounds (1-based, --rounds). */
  round: number;
  /**
   * CPU time (user + system, all threads, µs) each process role spent per request during this run,
   * from /proc before and after it (cpu.ts); role "wrk" is the client. Linux only; a role whose
   * process could not be read is left out.
   */
  cpuUsPerRequest?: Record<string, number>;
  /** Sum of cpuUsPerRequest over the serving roles (all but wrk). */
  cpuUsPerRequestTotal?: number;
  /** zeroproxy processes: that CPU split into the main JS thread, ZeroMQ's I/O thread and the rest. */
  cpuThreadsUsPerRequest?: Record<string, ThreadSplit>;
}

export interface DownloadRecord extends DownloadResult {
  target: TargetName;
}

/** One point of the scaling curve (scaling.ts). */
export interface ScalingRecord extends Pick<WrkResult, 'requestsPerSec' | 'p50Ms' | 'p99Ms' | 'errors'> {
  workers: number;
  /** Credit of each worker. */
  capacity: number;
  /** The handler's wait before answering. */
  delayMs: number;
  connections: number;
  /** capacity × workers / delay: what the workers could do if the router cost nothing. */
  idealRequestsPerSec: number;
}

export interface FailureRecord {
  target: TargetName;
  scenario: string;
  /** The round of a failed wrk scenario (1-based); absent for downloads and scaling. */
  round?: number;
  error: string;
}

export interface BenchResults {
  /** ISO time the run started. */
  date: string;
  quick: boolean;
  settings: {
    durationSec: number;
    warmupSec: number;
    connections: number[];
    downloadBytes: number;
    workerCapacity: number;
    wrkThreads: 1;
    /** Interleaved rounds of every wrk scenario (--rounds). */
    rounds: number;
  };
  machine: MachineInfo;
  versions: Versions;
  /** Caveats to read the numbers with (shared cores, a busy machine, …). */
  notes: string[];
  targets: TargetStatus[];
  /** Every measured wrk run: one per target, scenario and round. */
  runs: WrkRecord[];
  /** Per target and scenario: spreads over the rounds and per-round ratios (stats.ts), for readers of the JSON. */
  summary: WrkSummary[];
  downloads: DownloadRecord[];
  /** The scaling curve; empty when that scenario did not run. */
  scaling: ScalingRecord[];
  failures: FailureRecord[];
}

/** "2026-11-27T20:01:02.123Z" → "2026-11-27T20-01-02Z": sortable, one file per run, no ':' in names. */
export function resultsBaseName(isoDate: string): string {
  return isoDate.replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
}

/** Writes every file the run has content for; returns the paths written (latest.* copies aside). */
export async function writeResults(dir: string, r: BenchResults): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const base = resultsBaseName(r.date);
  const files: [suffix: string, content: string][] = [
    ['.json', JSON.stringify(r, null, 2) + '\n'],
    ['.md', renderMarkdown(r)],
    ['.svg', renderRequestsSvg(r)],
  ];
  if (r.runs.some((x) => x.cpuUsPerRequestTotal !== undefined)) files.push(['-cpu.svg', renderCpuSvg(r)]);
  if (r.scaling.length > 0) files.push(['-scaling.svg', renderScalingSvg(r)]);
  const written: string[] = [];
  for (const [suffix, content] of files) {
    const path = join(dir, base + suffix);
    await writeFile(path, content);
    await copyFile(path, join(dir, `latest${suffix}`));
    written.push(path);
  }
  return written;
}
