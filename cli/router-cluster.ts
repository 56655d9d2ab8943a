/**
 * `zeroproxy router --processes N`: N router processes behind one HTTP port, so the front door is
 * not held to one core.
 *
 * - A primary (node:cluster) forks N children that each run the ordinary router. The HTTP port is
 *   shared through cluster's **round-robin** scheduling: the primary accepts each TCP connection and
 *   hands it to the next child. Where `net` can set SO_REUSEPORT (the `reusePort` listen option,
 *   Node 22.12+/23.1+ on Linux) and the port is fixed, each child instead binds the port itself
 *   (exclusive) and the kernel spreads connections, with no hand-off through the primary
 *   (`"balancing":"reuseport"` in the cluster's listening line). Not cluster's SCHED_NONE (children
 *   accepting from one shared socket): one busy child would win most connections. Round-robin costs
 *   one fd hand-off per *connection* (not per request). `--http …:0` uses round-robin: every child
 *   gets the same random port.
 * - Each child binds its own ZeroMQ endpoint derived from --bind (`endpointForProcess`) and gets its
 *   own router id (`<id>-<i>`): a worker serving all children (`worker --connect a,b,…`) must see
 *   distinct router ids, one per connection.
 * - Each child logs its own "router listening"; the primary then logs one "router cluster
 *   listening" line with all endpoints (`binds`, and `connect` ready for `worker --connect`).
 * - SIGTERM/SIGINT to the primary: SIGTERM to every child (each drains, BYEs its workers, exits 0),
 *   then exit 0 when all did. A child that dies after it was listening is restarted with backoff;
 *   a child that fails while starting (bad flag value, port taken) stops the whole cluster.
 *   A primary that is SIGKILLed leaves no orphans: node:cluster exits a child whose IPC channel to
 *   the primary closes (test/router/processes.test.ts checks it).
 */
import cluster, { type Worker as ClusterChild } from 'node:cluster';
import { InvalidArgumentError } from 'commander';
import type { Logger } from 'pino';

/** Which child this process is (0-based), set by the primary in the child's environment. */
const INDEX_ENV = 'ZEROPROXY_ROUTER_INDEX';
/** Set by the primary when the children listen with SO_REUSEPORT themselves (see reusePortAvailable). */
const REUSE_PORT_ENV = 'ZEROPROXY_ROUTER_REUSE_PORT';
/** The message a child sends the primary once it listens. */
const LISTENING_TYPE = 'zeroproxy:router-listening';
/** Restart backoff for a child that keeps dying: 100 ms doubling up to 10 s. */
const RESTART_MIN_MS = 100;
const RESTART_MAX_MS = 10_000;
/** A child that ran this long before dying resets the backoff. */
const STABLE_AFTER_MS = 10_000;
/** After SIGTERM, children get --drain-timeout plus this before SIGKILL. */
const STOP_MARGIN_MS = 10_000;
/** Upper bound for --processes: beyond this a machine has better tools (several hosts). */
export const MAX_PROCESSES = 256;

interface ListeningMessage {
  type: typeof LISTENING_TYPE;
  index: number;
  http: string;
  bind: string;
}

function isListeningMessage(m: unknown): m is ListeningMessage {
  if (typeof m !== 'object' || m === null) return false;
  const r = m as Record<string, unknown>;
  return r['type'] === LISTENING_TYPE && typeof r['index'] === 'number' && typeof r['http'] === 'string' && typeof r['bind'] === 'string';
}

/**
 * The ZeroMQ endpoint of child `index`: tcp port + index (a `*` port stays `*`: each child gets its
 * own free port), or the ipc path + `-index`. Throws InvalidArgumentError for anything else.
 */
export function endpointForProcess(bind: string, index: number): string {
  const tcp = /^(tcp:\/\/.+):(\d{1,5}|\*)$/.exec(bind);
  if (tcp) {
    if (tcp[2] === '*') return bind;
    const port = Number(tcp[2]) + index;
    if (port > 65535) throw new InvalidArgumentError(`--bind ${bind}: child ${index} would need port ${port} (> 65535)`);
    return `${tcp[1]}:${port}`;
  }
  if (bind.startsWith('ipc://')) return `${bind}-${index}`;
  throw new InvalidArgumentError(`--bind ${bind}: --processes needs a tcp:// or ipc:// endpoint`);
}

/** Every child's endpoint, checked up front so a bad --bind fails before anything is forked. */
export function endpointsForProcesses(bind: string, processes: number): string[] {
  return Array.from({ length: processes }, (_, i) => endpointForProcess(bind, i));
}

/** In a child of `--processes`: its index; otherwise undefined. */
/**
 * Whether the children can each bind the HTTP port with SO_REUSEPORT (net's `reusePort`, Node
 * 22.12+/23.1+, Linux): the kernel then spreads connections over them with no hand-off through the
 * primary. Not for port 0 — each child would get a port of its own — nor before those versions.
 */
export function reusePortAvailable(httpPort: number, platform: string = process.platform, version: string = process.versions.node): boolean {
  if (httpPort === 0 || platform !== 'linux') return false;
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return major >= 24 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12);
}

/** In a child: whether the primary chose SO_REUSEPORT for the HTTP port. */
export function childUsesReusePort(): boolean {
  return process.env[REUSE_PORT_ENV] === '1';
}

export function clusterChildIndex(): number | undefined {
  if (!cluster.isWorker) return undefined;
  const index = Number(process.env[INDEX_ENV]);
  return Number.isInteger(index) && index >= 0 ? index : undefined;
}

/** True when this process should become the primary of `--processes n`. */
export function shouldRunPrimary(processes: number): boolean {
  return processes > 1 && cluster.isPrimary;
}

/** The bind and id a child runs with (unchanged outside a cluster). */
export function childRouterIdentity(bind: string, id: string): { bind: string; id: string } {
  const index = clusterChildIndex();
  if (index === undefined) return { bind, id };
  return { bind: endpointForProcess(bind, index), id: `${id}-${index}` };
}

/** In a child: tell the primary where this router listens (no-op outside a cluster). */
export function reportListening(router: { httpUrl: string; bindEndpoint: string }): void {
  const index = clusterChildIndex();
  if (index === undefined || process.send === undefined) return;
  const message: ListeningMessage = { type: LISTENING_TYPE, index, http: router.httpUrl, bind: router.bindEndpoint };
  process.send(message);
}

export interface ClusterOptions {
  processes: number;
  bind: string;
  /** The HTTP port asked for (0 = any: then every child must share the primary's one). */
  httpPort: number;
  drainTimeoutMs: number;
  /** Children reload config / allowlists on SIGHUP; forward it to them. Otherwise it is ignored. */
  forwardSighup: boolean;
  log: Logger;
}

interface Slot {
  index: number;
  child: ClusterChild | undefined;
  listening: ListeningMessage | undefined;
  startedAt: number;
  restartDelayMs: number;
  /** Ever listened: a death after that is a crash to restart, before it a start-up failure. */
  everListened: boolean;
  restartTimer: NodeJS.Timeout | undefined;
}

/** Runs the primary until SIGTERM/SIGINT (exit 0 when every child drained cleanly) or a start-up failure. */
export function runRouterCluster(o: ClusterOptions): void {
  const endpoints = endpointsForProcesses(o.bind, o.processes);
  const reusePort = reusePortAvailable(o.httpPort);
  const balancing = reusePort ? 'reuseport' : 'round-robin';
  const slots: Slot[] = endpoints.map((_, index) => ({
    index,
    child: undefined,
    listening: undefined,
    startedAt: 0,
    restartDelayMs: RESTART_MIN_MS,
    everListened: false,
    restartTimer: undefined,
  }));
  let stopping = false;
  let announced = false;
  let exitCode = 0;

  const fork = (slot: Slot): void => {
    slot.restartTimer = undefined;
    slot.listening = undefined;
    slot.startedAt = Date.now();
    const child = cluster.fork({ [INDEX_ENV]: String(slot.index), ...(reusePort ? { [REUSE_PORT_ENV]: '1' } : {}) });
    slot.child = child;
    child.on('message', (m: unknown) => {
      if (!isListeningMessage(m) || m.index !== slot.index) return;
      slot.listening = m;
      slot.everListened = true;
      if (!announced && slots.every((s) => s.listening !== undefined)) {
        announced = true;
        const binds = slots.map((s) => s.listening!.bind);
        o.log.info({ http: m.http, binds, connect: binds.join(','), processes: o.processes, balancing, pids: slots.map((s) => s.child?.process.pid) }, 'router cluster listening');
      } else if (announced) {
        o.log.info({ index: slot.index, bind: m.bind, pid: child.process.pid }, 'router process restarted');
      }
    });
    child.on('exit', (code, signal) => onExit(slot, child, code, signal));
  };

  const finishIfAllGone = (): void => {
    if (stopping && slots.every((s) => s.child === undefined)) {
      o.log.info({ exitCode }, 'router cluster stopped');
      process.exit(exitCode);
    }
  };

  const stopAll = (code: number): void => {
    if (stopping) return;
    stopping = true;
    exitCode = code;
    for (const s of slots) {
      if (s.restartTimer !== undefined) clearTimeout(s.restartTimer);
      s.restartTimer = undefined;
      s.child?.process.kill('SIGTERM');
    }
    // Children drain for at most --drain-timeout; one that hangs past that is killed.
    setTimeout(() => {
      for (const s of slots) s.child?.process.kill('SIGKILL');
    }, o.drainTimeoutMs + STOP_MARGIN_MS).unref();
    finishIfAllGone();
  };

  const onExit = (slot: Slot, child: ClusterChild, code: number | null, signal: string | null): void => {
    if (slot.child !== child) return;
    slot.child = undefined;
    slot.listening = undefined;
    if (stopping) {
      if (code !== 0) {
        o.log.warn({ index: slot.index, code, signal }, 'router process did not exit cleanly');
        exitCode = 1;
      }
      finishIfAllGone();
      return;
    }
    if (!slot.everListened) {
      // Start-up failure (bad config, port taken): restarting would only repeat it.
      o.log.error({ index: slot.index, code, signal }, 'router process failed to start; stopping the cluster');
      stopAll(typeof code === 'number' && code !== 0 ? code : 1);
      return;
    }
    if (Date.now() - slot.startedAt >= STABLE_AFTER_MS) slot.restartDelayMs = RESTART_MIN_MS;
    o.log.warn({ index: slot.index, code, signal, restartInMs: slot.restartDelayMs }, 'router process died; restarting');
    slot.restartTimer = setTimeout(() => fork(slot), slot.restartDelayMs);
    slot.restartDelayMs = Math.min(slot.restartDelayMs * 2, RESTART_MAX_MS);
  };

  process.on('SIGTERM', () => stopAll(0));
  process.on('SIGINT', () => stopAll(0));
  process.on('SIGHUP', () => {
    if (!o.forwardSighup || stopping) return;
    for (const s of slots) s.child?.process.kill('SIGHUP');
  });
  // Without SO_REUSEPORT: round-robin, cluster's default on Linux, set explicitly (see the header).
  cluster.schedulingPolicy = cluster.SCHED_RR;
  for (const slot of slots) fork(slot);
}
