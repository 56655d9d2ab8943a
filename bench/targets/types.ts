/** A system under test: how to start it in front of the shared fastify backend, and how to stop it. */
import type { ChildSet } from '../children.ts';
import type { ProcessRole } from '../cpu.ts';
import type { ToolName, Tools } from '../tools.ts';

export const TARGET_NAMES = ['direct', 'nginx', 'haproxy', 'zeroproxy-sdk', 'zeroproxy-forward', 'zeroproxy-native'] as const;
export type TargetName = (typeof TARGET_NAMES)[number];

export interface TargetContext {
  children: ChildSet;
  tools: Tools;
  /** The shared fastify backend, e.g. http://127.0.0.1:40123 (no trailing slash). */
  backendUrl: string;
  backendPid: number;
  /** The backend as a CPU role, for targets to list among their processes. */
  backendRole: ProcessRole;
  /** A private temp dir for configs, pid files and ipc:// sockets; removed at the end. */
  tempDir: string;
  /** Repository root (where package.json and bin/zeroproxy.js are). */
  repoRoot: string;
  /** Concurrent streams each zeroproxy worker accepts (its credit). */
  workerCapacity: number;
  /** One progress line. */
  log(line: string): void;
}

export interface RunningTarget {
  /** Where the load goes, e.g. http://127.0.0.1:40124 (no trailing slash). */
  baseUrl: string;
  /** The process in front of the backend whose memory is reported (its descendants count too). */
  frontPid: number;
  /** Every process serving its requests (the backend too), for CPU time per request by role. */
  processes: readonly ProcessRole[];
  stop(): Promise<void>;
}

export interface Target {
  name: TargetName;
  /** One line for the progress output and the README. */
  description: string;
  /** External programs it needs; missing ones skip the target. */
  needs: readonly ToolName[];
  start(ctx: TargetContext): Promise<RunningTarget>;
}

/** Bounded wait for a child to be up (tsx start-up on a busy 2-core VM can take seconds). */
export const START_TIMEOUT_MS = 20_000;
