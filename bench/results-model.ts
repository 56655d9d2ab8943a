/** The shape of bench/results/<date>.json: everything one run measured, and on what. */
import type { ThreadSplit } from './cpu.ts';
import type { MachineInfo, Versions } from './machine.ts';
import type { WrkSummary } from './round-stats.ts';
import type { WrkScenarioKind } from './scenarios.ts';
import type { TargetName } from './targets/types.ts';

export interface TargetStatus {
  name: TargetName;
  description: string;
  status: 'ok' | 'skipped' | 'failed';
  /** Why it was skipped or failed. */
  reason?: string;
}

export interface WrkRecord {
  target: TargetName;
  scenario: WrkScenarioKind;
  connections: number;
  /** Which of the run's interleaved rounds (1-based, --rounds); absent in older results (= 1). */
  round?: number;
  requestsPerSec: number;
  p50Ms: number;
  p75Ms: number;
  p90Ms: number;
  p99Ms: number;
  requests: number;
  /** Non-2xx/3xx responses plus socket errors wrk counted. */
  errors: number;
  /**
   * CPU time (user + system, all threads, µs) each process role spent per request during this run,
   * from /proc before and after it (cpu-per-request.ts); role "wrk" is the client. Linux only;
   * absent in older results, and a role whose process could not be read is left out.
   */
  cpuUsPerRequest?: Record<string, number>;
  /** Sum of cpuUsPerRequest over the serving roles (all but wrk). */
  cpuUsPerRequestTotal?: number;
  /** zeroproxy processes: that CPU split into the main JS thread, ZeroMQ's I/O thread and the rest. */
  cpuThreadsUsPerRequest?: Record<string, ThreadSplit>;
}

export interface DownloadRecord {
  target: TargetName;
  bytes: number;
  seconds: number;
  mibPerSec: number;
  frontRssStartMiB: number | null;
  frontRssPeakMiB: number | null;
}

/** One point of the scaling curve (bench/scaling.ts). */
export interface ScalingRecord {
  workers: number;
  /** Credit of each worker. */
  capacity: number;
  /** The handler's wait before answering. */
  delayMs: number;
  connections: number;
  /** capacity × workers / delay: what the workers could do if the router cost nothing. */
  idealRequestsPerSec: number;
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
}

export interface FailureRecord {
  target: TargetName;
  scenario: string;
  /** The round of a failed wrk scenario (1-based); absent for downloads, scaling and older results. */
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
    /** Interleaved rounds of every wrk scenario (--rounds); absent in older results (= 1). */
    rounds?: number;
  };
  machine: MachineInfo;
  versions: Versions;
  /** Caveats to read the numbers with (shared cores, …). */
  notes: string[];
  targets: TargetStatus[];
  /** Every measured wrk run: one per target, scenario and round. */
  runs: WrkRecord[];
  /**
   * Per target and scenario: medians over the rounds and per-round ratios (round-stats.ts), written
   * with the results for readers of the JSON; the renderers recompute it from `runs`.
   */
  summary?: WrkSummary[];
  downloads: DownloadRecord[];
  /** The scaling curve, when that scenario ran (absent in results written before it existed). */
  scaling?: ScalingRecord[];
  failures: FailureRecord[];
}
