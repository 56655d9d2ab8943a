/**
 * The processes of a chaos run, all started through the real CLI: one router on a fixed HTTP port
 * and ipc:// endpoint (so a restarted router is found where the old one was), a node:http backend,
 * and N workers — SDK workers running chaos/handler.ts and `--forward` bridges to the backend, in
 * turn. It kills workers (SIGKILL or SIGTERM), starts replacements and restarts the router.
 */
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  isRegistered,
  spawnWorker,
  START_TIMEOUT_MS,
  withTimeout,
  type LogLine,
  type ManagedProcess,
  type ProcessGroup,
  type RouterProcess,
} from '../test/helpers/index.ts';
import type { EventLog } from './events.ts';
import { scrapeRetries } from './metrics.ts';
import type { Random } from './random.ts';

const CHAOS_DIR = path.dirname(fileURLToPath(import.meta.url));
const HANDLER = path.join(CHAOS_DIR, 'handler.ts');
const BACKEND = path.join(CHAOS_DIR, 'backend.ts');
/** A router draining on SIGTERM finishes in-flight requests; this bounds the wait for its exit. */
const ROUTER_STOP_TIMEOUT_MS = 40_000;

export type WorkerKind = 'sdk' | 'bridge';
type WorkerState = 'starting' | 'up' | 'stopping';

export interface ChaosWorker {
  id: string;
  kind: WorkerKind;
  proc: ManagedProcess;
  state: WorkerState;
}

export interface ClusterSettings {
  workers: number;
  heartbeatMs: number;
  /** ipc:// endpoint the router binds (in a temp dir). */
  bind: string;
}

/** A free TCP port on 127.0.0.1 (asked from the kernel, then released for the router to take). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== 'object' || address === null) throw new Error('no port from the kernel');
  return address.port;
}

/** The `time` field pino puts on every line (ms since the epoch). */
function logTime(line: LogLine): number {
  return typeof line['time'] === 'number' ? line['time'] : Date.now();
}

export class ChaosCluster {
  readonly workers = new Map<string, ChaosWorker>();
  router: RouterProcess | null = null;
  backendUrl = '';
  backendProcess: ManagedProcess | null = null;
  /** Longest time from a restarted router's "router listening" to a worker's new registration. */
  slowestReRegistrationMs = 0;
  /** Workers still running that did not register again with a restarted router. */
  readonly reRegistrationFailures: string[] = [];
  private httpPort = 0;
  private adminSupported = true;
  private adminUrl: string | null = null;
  /** Retries the routers already stopped had counted (scraped just before each was stopped). */
  private retriedByOldRouters: number | null = null;
  private nextWorker = 1;
  private routerGeneration = 0;

  constructor(
    private readonly group: ProcessGroup,
    private readonly settings: ClusterSettings,
    private readonly rng: Random,
    private readonly events: EventLog,
    /** Called for every server process (backend, workers) as it is spawned, before it can serve. */
    private readonly onServerSpawned: (proc: ManagedProcess) => void,
  ) {}

  get httpUrl(): string {
    return `http://127.0.0.1:${this.httpPort}`;
  }

  /** Workers registered and not being stopped. */
  get upCount(): number {
    return [...this.workers.values()].filter((w) => w.state === 'up').length;
  }

  async start(): Promise<void> {
    const backend = this.group.spawnTs('chaos-backend', BACKEND);
    this.backendProcess = backend;
    this.onServerSpawned(backend);
    this.httpPort = await freePort();
    // Everything starts side by side (each is a cold tsx start of a second or more): workers say
    // HELLO until the router is up; only the bridges wait, for the backend's address.
    const kinds = Array.from({ length: this.settings.workers }, (_, i): WorkerKind => (i % 2 === 0 ? 'sdk' : 'bridge'));
    const sdk = kinds.filter((k) => k === 'sdk').map(() => this.spawnWorker('sdk'));
    const bridges = (async () => {
      const ready = await backend.waitForLog((l) => l.msg === 'backend listening', START_TIMEOUT_MS, 'the chaos backend');
      this.backendUrl = String(ready['url']);
      return kinds.filter((k) => k === 'bridge').map(() => this.spawnWorker('bridge'));
    })();
    await this.startRouter();
    const first = [...sdk, ...(await bridges)];
    await withTimeout(Promise.all(first.map((w) => this.whenRegistered(w))), START_TIMEOUT_MS * 2, `${first.length} workers to register`);
  }

  private async startRouter(): Promise<void> {
    const name = `router-${++this.routerGeneration}`;
    const startAt = Date.now();
    const args = ['--http', `127.0.0.1:${this.httpPort}`, '--heartbeat', String(this.settings.heartbeatMs), '--id', 'chaos-router'];
    // The admin endpoint gives the router's own retry count; a router without --admin says so with exit 2.
    let listening: LogLine;
    try {
      listening = await this.spawnRouter(name, this.adminSupported ? [...args, '--admin', '127.0.0.1:0'] : args);
    } catch (err) {
      if (!this.adminSupported || this.router?.proc.exitInfo?.code !== 2) throw err;
      this.adminSupported = false;
      listening = await this.spawnRouter(name, args);
    }
    this.adminUrl = typeof listening['admin'] === 'string' ? listening['admin'] : null;
    this.events.add('router-up', name, `started in ${Date.now() - startAt} ms`);
  }

  /** `zeroproxy router …` on the run's endpoints; resolves with its "router listening" line. */
  private async spawnRouter(name: string, args: string[]): Promise<LogLine> {
    const proc = this.group.spawnZeroproxy(name, ['router', '--bind', this.settings.bind, ...args]);
    this.router = { proc, httpUrl: this.httpUrl, bindEndpoint: this.settings.bind };
    return proc.waitForLog((l) => l.msg === 'router listening', START_TIMEOUT_MS, '"router listening"');
  }

  /** Retries counted by every router of the run so far (null when the router exports no count). */
  async routerRetries(): Promise<number | null> {
    const current = await scrapeRetries(this.adminUrl);
    if (current === null) return this.retriedByOldRouters;
    return (this.retriedByOldRouters ?? 0) + current;
  }

  private spawnWorker(kind: WorkerKind): ChaosWorker {
    const n = this.nextWorker++;
    const id = `chaos-${kind}-${n}`;
    const args = kind === 'sdk' ? ['--handler', HANDLER] : ['--forward', this.backendUrl];
    const proc = spawnWorker(this.group, { connect: this.settings.bind, id, name: id, args });
    this.onServerSpawned(proc);
    const worker: ChaosWorker = { id, kind, proc, state: 'starting' };
    this.workers.set(id, worker);
    this.events.add('worker-start', id, kind);
    void proc.exited.then(() => this.workers.delete(id));
    return worker;
  }

  private async whenRegistered(worker: ChaosWorker): Promise<void> {
    await worker.proc.waitForLog(isRegistered, START_TIMEOUT_MS, `${worker.id} to register`);
    if (worker.state === 'starting') worker.state = 'up';
    this.events.add('worker-registered', worker.id);
  }

  /**
   * Kills one registered worker with SIGKILL or SIGTERM (even odds) and starts its replacement.
   * Skipped while fewer than two are up, so at least one worker always serves.
   */
  killOne(): void {
    const up = [...this.workers.values()].filter((w) => w.state === 'up');
    if (up.length < 2) return;
    const victim = this.rng.pick(up);
    const signal = this.rng.next() < 0.5 ? 'SIGKILL' : 'SIGTERM';
    victim.state = 'stopping';
    victim.proc.signal(signal);
    this.events.add(signal, victim.id);
    this.replenish();
  }

  /** Starts workers until N are up or starting. */
  replenish(): void {
    const live = [...this.workers.values()].filter((w) => w.state !== 'stopping').length;
    for (let i = live; i < this.settings.workers; i++) {
      // Keep the mix: replace with whichever kind is short.
      const sdk = [...this.workers.values()].filter((w) => w.state !== 'stopping' && w.kind === 'sdk').length;
      const worker = this.spawnWorker(sdk < Math.ceil(this.settings.workers / 2) ? 'sdk' : 'bridge');
      this.whenRegistered(worker).catch(() => undefined); // a worker killed while starting never registers
    }
  }

  /**
   * SIGTERM to the router (it drains what is in flight), a new router on the same HTTP port and
   * endpoint, then waits until every worker that was up has registered with it again. The caller
   * holds new requests meanwhile: nothing listens on the port in between.
   */
  async restartRouter(): Promise<void> {
    const old = this.router!;
    const up = [...this.workers.values()].filter((w) => w.state === 'up');
    this.events.add('router-stop', old.proc.name);
    // Scraped before the SIGTERM: a retry during the drain is missed (the count is a lower bound).
    const retried = await scrapeRetries(this.adminUrl);
    if (retried !== null) this.retriedByOldRouters = (this.retriedByOldRouters ?? 0) + retried;
    const stopAt = Date.now();
    old.proc.signal('SIGTERM');
    const exit = await old.proc.waitForExit(ROUTER_STOP_TIMEOUT_MS);
    this.events.add('router-exit', old.proc.name, `drained and exited in ${Date.now() - stopAt} ms`);
    if (exit.code !== 0) throw new Error(`router exited with ${JSON.stringify(exit)} on SIGTERM\n${old.proc.describe()}`);
    const goneAt = Date.now();
    await this.startRouter();
    const listening = this.router!.proc.findLogs((l) => l.msg === 'router listening')[0]!;
    const upAt = logTime(listening);
    const waits = up.map(async (w) => {
      // Only a registration logged after the old router was gone can be with the new one.
      const line = await w.proc.waitForLog((l) => isRegistered(l) && logTime(l) > goneAt, START_TIMEOUT_MS, `${w.id} to register with the restarted router`);
      this.slowestReRegistrationMs = Math.max(this.slowestReRegistrationMs, logTime(line) - upAt);
    });
    // A worker killed meanwhile never re-registers; one still running that does not is a failure.
    const results = await Promise.allSettled(waits);
    results.forEach((r, i) => {
      const w = up[i]!;
      if (r.status === 'rejected' && w.proc.exitInfo === undefined) this.reRegistrationFailures.push(w.id);
    });
  }

  /** Every process stopped: workers and router drain on SIGTERM. */
  async stop(): Promise<void> {
    await this.group.stopAll(10_000);
  }
}
