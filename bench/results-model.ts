/** The shape of bench/results/<date>.json: everything one run measured, and on what. */
import type { MachineInfo, Versions } from './machine.ts';
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
  requestsPerSec: number;
  p50Ms: number;
  p75Ms: number;
  p90Ms: number;
  p99Ms: number;
  requests: number;
  /** Non-2xx/3xx responses plus socket errors wrk counted. */
  errors: number;
}

export interface DownloadRecord {
  target: TargetName;
  bytes: number;
  seconds: number;
  mibPerSec: number;
  frontRssStartMiB: number | null;
  frontRssPeakMiB: number | null;
}

export interface FailureRecord {
  target: TargetName;
  scenario: string;
  error: string;
}

export interface BenchResults {
  /** ISO time the run started. */
  date: string;
  quick: boolean;
  settings: { durationSec: number; warmupSec: number; connections: number[]; downloadBytes: number; workerCapacity: number; wrkThreads: 1 };
  machine: MachineInfo;
  versions: Versions;
  /** Caveats to read the numbers with (shared cores, …). */
  notes: string[];
  targets: TargetStatus[];
  runs: WrkRecord[];
  downloads: DownloadRecord[];
  failures: FailureRecord[];
}
