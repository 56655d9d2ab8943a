/**
 * Dispatcher: pull-based credit, least-in-flight choice, the bounded FIFO wait queue with its
 * deadline, request deadlines, and retry after a worker failure. It owns the stream-id table and
 * routes each stream message from a worker to its stream.
 *
 * Deadlines use ONE sweep timer, not a timer per request: every request shares the same queue and
 * request timeouts, so both lists are already in deadline order and a sweep stops at the first
 * request still in time.
 */
import type { Logger } from 'pino';
import type { ResolvedRouterOptions } from '../options.ts';
import type { Transport } from '../transport/socket.ts';
import type { StreamMessageFromWorker, WorkerSink } from '../workers/registry.ts';
import type { WorkerRecord } from '../workers/worker.ts';
import type { RouterErrorCode } from '../errors.ts';
import { PerKeyRateLimit } from '../util/rate-limit.ts';
import { RetryBudget } from '../security/retry-budget.ts';
import type { Stream, StreamHost } from './stream.ts';
import type { RoutingTable } from '../config/routing-table.ts';
import type { LiveWorker } from '../plugins/types.ts';
import { routeStream } from './attempts-route.ts';
import { IssueCounts, type ResponseIssue } from './response-head.ts';

/** Whether a worker's HELLO meta has every `select` value (bridges announce `forward`: their target URL). */
function metaMatches(worker: WorkerRecord, select: Readonly<Record<string, string>>): boolean {
  for (const key in select) if (worker.meta[key] !== select[key]) return false;
  return true;
}

export class Dispatcher implements WorkerSink, StreamHost {
  /** Workers by pool, in registration order. */
  private readonly pools = new Map<string, WorkerRecord[]>();
  /** Requests waiting for credit, per pool, oldest first. */
  private readonly queues = new Map<string, Stream[]>();
  /** Streams on workers, by stream id. */
  private readonly streams = new Map<number, Stream>();
  /** Every unfinished request, in arrival order (= request-deadline order). */
  private readonly active = new Set<Stream>();
  private nextStreamId = 1;
  private closing = false;
  private idleWaiters: (() => void)[] = [];
  private timer: NodeJS.Timeout | null = null;
  private readonly violationLogs: PerKeyRateLimit;
  /** Streams reset because their worker broke the protocol (seq, window, bad response…). */
  protocolViolations = 0;
  /** Refused responses and dropped parts of responses, by reason (in every violation warning). */
  readonly responseIssues = new IssueCounts();
  /** The config's routes (--config), swapped whole on reload; null = no config: pool "default". */
  routing: RoutingTable | null = null;
  /** --retry-budget: retries beyond it get 502 (its `exhausted` counts them). */
  readonly retryBudget: RetryBudget;

  constructor(
    readonly options: ResolvedRouterOptions,
    readonly log: Logger,
    readonly transport: Transport,
  ) {
    this.violationLogs = new PerKeyRateLimit(options.heartbeatMs);
    this.retryBudget = new RetryBudget(options.retryBudgetPercent);
  }

  start(): void {
    const o = this.options;
    const shortest = Math.min(o.queueTimeoutMs, o.requestTimeoutMs > 0 ? o.requestTimeoutMs : Infinity);
    const tickMs = Math.min(100, Math.max(5, Math.floor(shortest / 10)));
    this.timer = setInterval(this.sweep, tickMs);
    this.timer.unref();
  }

  get inFlight(): number {
    return this.active.size;
  }

  /** Requests waiting for a worker, all pools (read by the admin endpoint when scraped). */
  get queued(): number {
    let n = 0;
    for (const queue of this.queues.values()) n += queue.length;
    return n;
  }

  /** A new request from the front door. */
  submit(stream: Stream): void {
    if (this.closing) {
      stream.fail('ZP_ERR_SHUTTING_DOWN');
      return;
    }
    this.active.add(stream);
    this.retryBudget.recordRequest(Date.now());
    // Routing plugins (--config): may change the head or pool, pin a worker, or take the request over.
    if (!stream.routed && routeStream(this, stream)) return;
    this.place(stream, false);
  }

  /** Stops taking requests (they get 503); in-flight ones continue. */
  beginClose(): void {
    this.closing = true;
  }

  /** Resolves when no request is in flight, or after `timeoutMs`. True if idle. */
  waitIdle(timeoutMs: number): Promise<boolean> {
    if (this.active.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(this.active.size === 0), timeoutMs);
      this.idleWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /** Ends every request still in flight (after the drain timeout). */
  abortAll(): void {
    for (const stream of [...this.active]) stream.fail('ZP_ERR_SHUTTING_DOWN');
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  // ── placement ────────────────────────────────────────────────────────────────────────────────

  /**
   * The available worker of `pool` with the fewest streams in flight; ties are broken uniformly at
   * random (which includes "power of two random choices" among equals) so load spreads evenly.
   */
  private pick(pool: string, select: Readonly<Record<string, string>> | null = null): WorkerRecord | null {
    const workers = this.pools.get(pool);
    if (workers === undefined) return null;
    let best: WorkerRecord | null = null;
    let ties = 0;
    for (const w of workers) {
      if (!w.available) continue;
      if (select !== null && !metaMatches(w, select)) continue;
      if (best === null || w.inFlight < best.inFlight) {
        best = w;
        ties = 1;
      } else if (w.inFlight === best.inFlight && Math.random() * ++ties < 1) {
        best = w;
      }
    }
    return best;
  }

  /**
   * The worker for `stream`: its pinned worker (shard, attempts) when that one has credit — a pinned
   * attempt waits for it, other requests fall back — else least-in-flight among the selection.
   */
  private pickFor(stream: Stream): WorkerRecord | null {
    const target = stream.target;
    if (target !== null) {
      if (target.available) return target;
      if (stream.onFailure !== null) return null;
    }
    return this.pick(stream.pool, stream.select);
  }

  /** Whether a worker that may get credit later (not lost, not draining) could take `stream`. */
  private couldServe(stream: Stream): boolean {
    const t = stream.target;
    if (t !== null) return !t.lost && !t.draining;
    const select = stream.select;
    return (this.pools.get(stream.pool) ?? []).some((w) => !w.lost && !w.draining && (select === null || metaMatches(w, select)));
  }

  /** Workers of `pool` as routing plugins see them (read-only, registration order). */
  workersOf(pool: string): readonly LiveWorker[] {
    return this.pools.get(pool) ?? [];
  }

  private place(stream: Stream, retry: boolean): void {
    const worker = this.pickFor(stream);
    if (worker !== null) {
      this.assign(stream, worker);
      return;
    }
    if (stream.onFailure !== null && !this.couldServe(stream)) {
      stream.fail('ZP_ERR_WORKER_LOST'); // an attempt nobody can serve: its runner tries the next target now
      return;
    }
    let queue = this.queues.get(stream.pool);
    if (queue === undefined) this.queues.set(stream.pool, (queue = []));
    if (queue.length >= this.options.queueSize) {
      stream.fail(retry ? 'ZP_ERR_WORKER_LOST' : 'ZP_ERR_QUEUE_FULL');
      return;
    }
    stream.state = 'queued';
    stream.queueDeadline = Date.now() + this.options.queueTimeoutMs;
    // A retried request already waited once: it goes first.
    if (retry) queue.unshift(stream);
    else queue.push(stream);
  }

  private assign(stream: Stream, worker: WorkerRecord): void {
    let id = this.nextStreamId;
    while (id === 0 || this.streams.has(id)) id = (id + 1) >>> 0; // ends: far fewer than 2^32 open
    this.nextStreamId = (id + 1) >>> 0;
    worker.credit--;
    worker.inFlight++;
    worker.streams.set(id, stream);
    this.streams.set(id, stream);
    if (stream.state === 'queued') this.transport.metrics.queueWait(Date.now() - stream.queueDeadline + this.options.queueTimeoutMs);
    stream.attach(worker, id, Date.now());
  }

  private pump(pool: string): void {
    const queue = this.queues.get(pool);
    if (queue === undefined) return;
    // FIFO; a request pinned to a worker, or narrowed by meta, does not hold up the ones behind it.
    for (let i = 0; i < queue.length; ) {
      const stream = queue[i]!;
      const worker = this.pickFor(stream);
      if (worker !== null) {
        queue.splice(i, 1);
        this.assign(stream, worker);
      } else if (stream.target === null && stream.select === null) {
        return; // no worker of the pool has credit
      } else {
        i++;
      }
    }
  }

  /** After a failed attempt: retry on another worker when safe, else an error status (or abort). */
  private retryOrFail(stream: Stream, workerNeverSawIt: boolean, code: RouterErrorCode): void {
    if (stream.state === 'done') return;
    if (stream.responseStarted) {
      stream.abort();
    } else if (stream.onFailure === null && stream.attempts <= this.options.retries && stream.canReplay(workerNeverSawIt)) {
      // Retries cannot amplify an outage: past the budget a failed attempt is final. A request no
      // worker ran (RST refused, or its REQ never left) cost the application nothing, so its retry
      // is not counted; --retries still bounds it.
      if (!workerNeverSawIt && !this.retryBudget.tryRetry(Date.now())) {
        if (this.violationLogs.allow('\0retry-budget', Date.now())) {
          this.log.warn({ requestId: stream.requestId, exhausted: this.retryBudget.exhausted }, 'retry budget exhausted: not retrying');
        }
        stream.fail('ZP_ERR_RETRY_BUDGET');
        return;
      }
      this.transport.metrics.retried();
      stream.prepareRetry();
      this.place(stream, true);
    } else {
      stream.fail(code);
    }
  }

  // ── StreamHost ──────────────────────────────────────────────────────────────────────────────

  release(stream: Stream): void {
    const worker = stream.worker;
    if (worker === null) return;
    worker.streams.delete(stream.id);
    this.streams.delete(stream.id);
    worker.inFlight--;
    stream.worker = null;
  }

  refused(stream: Stream): void {
    this.retryOrFail(stream, true, 'ZP_ERR_WORKER_RESET');
  }

  dequeue(stream: Stream): void {
    const queue = this.queues.get(stream.pool);
    const i = queue === undefined ? -1 : queue.indexOf(stream);
    if (i >= 0) queue!.splice(i, 1);
  }

  finished(stream: Stream): void {
    this.active.delete(stream);
    if (this.closing && this.active.size === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const wake of waiters) wake();
    }
  }

  protocolViolation(worker: WorkerRecord | null, reason: ResponseIssue, details: Record<string, unknown>): void {
    this.protocolViolations++;
    this.responseIssues.count(reason);
    const key = worker?.peer ?? '';
    if (this.violationLogs.allow(key, Date.now())) {
      this.log.warn(
        { ...details, reason, workerId: worker?.workerId, protocolViolations: this.protocolViolations, reasons: this.responseIssues.snapshot() },
        'stream reset: worker broke the protocol',
      );
    }
  }

  responseDropped(_worker: WorkerRecord | null, reason: ResponseIssue): void {
    this.responseIssues.count(reason);
  }

  // ── WorkerSink ──────────────────────────────────────────────────────────────────────────────

  workerAvailable(worker: WorkerRecord): void {
    if (!worker.pooled) {
      worker.pooled = true;
      let list = this.pools.get(worker.pool);
      if (list === undefined) this.pools.set(worker.pool, (list = []));
      list.push(worker);
    }
    this.pump(worker.pool);
  }

  workerLost(worker: WorkerRecord, _reason: string, unsentRequests: readonly number[]): void {
    if (worker.pooled) {
      const list = this.pools.get(worker.pool)!;
      list.splice(list.indexOf(worker), 1);
      if (list.length === 0) this.pools.delete(worker.pool);
      worker.pooled = false;
    }
    const unsent = unsentRequests.length > 0 ? new Set(unsentRequests) : null;
    // (The dispatcher is the only one that puts streams on a worker: they are all Streams.)
    const orphans = [...worker.streams.values()] as Stream[];
    for (const stream of orphans) this.release(stream);
    worker.inFlight = 0;
    for (const stream of orphans) {
      this.retryOrFail(stream, unsent !== null && unsent.has(stream.id), 'ZP_ERR_WORKER_LOST');
    }
  }

  streamMessage(worker: WorkerRecord, m: StreamMessageFromWorker): void {
    if (m.type === 'RST') this.transport.metrics.rstCounted('in', m.code);
    const stream = this.streams.get(m.stream);
    if (stream === undefined || stream.worker !== worker) {
      // Late frames after a reset are dropped; an unknown stream's DATA/RES gets one RST.
      if ((m.type === 'DATA' || m.type === 'RES') && !worker.wasReset(m.stream)) {
        worker.noteReset(m.stream);
        this.transport.send(worker.peer, { type: 'RST', stream: m.stream, code: 'cancel', message: 'unknown stream' });
      }
      return;
    }
    switch (m.type) {
      case 'RES':
        stream.onRes(m);
        return;
      case 'DATA':
        stream.onData(m);
        return;
      case 'WINDOW':
        stream.onWindow(m);
        return;
      case 'RST':
        stream.onRst(m);
        return;
    }
  }

  streamProtocolError(worker: WorkerRecord, id: number, detail: string, answerWithRst: boolean): void {
    const stream = this.streams.get(id);
    if (stream === undefined || stream.worker !== worker) return;
    if (answerWithRst) stream.protocolError(detail, 'undecodable');
    else stream.onRst({ type: 'RST', stream: id, code: 'protocol', message: detail });
  }

  // ── deadlines ───────────────────────────────────────────────────────────────────────────────

  private readonly sweep = (): void => {
    const now = Date.now();
    for (const queue of this.queues.values()) {
      if (queue.length === 0) continue;
      const expired = queue.filter((s) => s.queueDeadline <= now);
      for (const stream of expired) stream.fail('ZP_ERR_QUEUE_TIMEOUT');
    }
    if (this.options.requestTimeoutMs > 0) {
      for (const stream of this.active) {
        if (stream.deadline > now) break;
        stream.timeout();
      }
    }
  };
}
