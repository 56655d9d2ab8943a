/**
 * Worker sessions (SPEC §4, §5): HELLO/WELCOME, duplicate HELLO, ERROR version / unknown_peer,
 * heartbeats and liveness, CREDIT, DRAIN, BYE. It is the transport's handler: session messages are
 * handled here, stream messages are passed to the sink (the dispatcher) with their worker.
 *
 * A session belongs to one ZeroMQ connection (SPEC §2): it is keyed by the connection's routing id
 * and ends the moment libzmq reports that connection's notify event (ROUTER_NOTIFY); the socket has
 * no handover, so a second connection presenting a registered id is ignored by libzmq and a peer
 * reusing a routing id never inherits a session. The stable workerId humans see comes from HELLO
 * and is unique among live sessions.
 */
import type { Logger } from 'pino';
import {
  LIVENESS_INTERVALS,
  MessageCode,
  PROTOCOL_VERSION,
  type Data,
  type Hello,
  type Message,
  type ProtocolError,
  type Res,
  type Rst,
  type WindowUpdate,
} from '../../../proto/src/index.ts';
import { WORKER_TO_ROUTER_MAX_FRAME, type ResolvedRouterOptions } from '../options.ts';
import { Transport, type TransportHandler } from '../transport/socket.ts';
import { PerKeyBudget, PerKeyRateLimit } from '../util/rate-limit.ts';
import { CurveServer } from '../security/curve-server.ts';
import { DropCounters } from '../security/drop-counters.ts';
import { WorkerRecord } from './worker.ts';
import { helloRefusal, storedMeta } from './hello-rules.ts';

/** Largest credit the router keeps for a worker (SPEC §6.1 allows the cap). */
const MAX_CREDIT = 1_000_000;

export type StreamMessageFromWorker = Res | Data | WindowUpdate | Rst;

/** What the registry tells the dispatcher. */
export interface WorkerSink {
  /** A worker registered or gained credit: queued requests may go to it. */
  workerAvailable(worker: WorkerRecord): void;
  /** A worker left or died; `unsentRequests` are stream ids whose REQ it never received. */
  workerLost(worker: WorkerRecord, reason: string, unsentRequests: readonly number[]): void;
  streamMessage(worker: WorkerRecord, message: StreamMessageFromWorker): void;
  /** A pair for `stream` could not be decoded: the stream is broken (reset it unless `answerWithRst` is false). */
  streamProtocolError(worker: WorkerRecord, stream: number, detail: string, answerWithRst: boolean): void;
}

export class Registry implements TransportHandler {
  readonly transport: Transport;
  /** Live sessions by routing id (the connection). */
  private readonly workers = new Map<string, WorkerRecord>();
  /** The same sessions by HELLO.workerId: a workerId names at most one live session. */
  private readonly byWorkerId = new Map<string, WorkerRecord>();
  /** HELLOs per connection per heartbeat interval. */
  private readonly helloBudget: PerKeyBudget;
  private readonly unknownPeerAnswers: PerKeyRateLimit;
  private readonly decodeErrorLogs: PerKeyRateLimit;
  /** ERROR version / protocol answers to undecodable messages, at most one per peer per interval. */
  private readonly errorAnswers: PerKeyRateLimit;
  private sink: WorkerSink | null = null;
  private timer: NodeJS.Timeout | null = null;
  /** Set by close(): the workers were told BYE, so a HELLO now must not be welcomed. */
  private closing = false;
  /** Counters (exposed for logs/metrics). */
  decodeErrors = 0;
  protocolViolations = 0;
  /** Every dropped message by reason (the one counter table; metrics read drops.snapshot()). */
  readonly drops = new DropCounters();
  /** CURVE server + ZAP allowlist, or null when the socket is plaintext. */
  readonly curve: CurveServer | null;
  private dropsLogged = 0;

  constructor(
    private readonly options: ResolvedRouterOptions,
    private readonly log: Logger,
    /** Random per router start: lets workers see a router restart at once. */
    readonly epoch: string,
  ) {
    this.curve = CurveServer.fromOptions(options, log, this.drops);
    this.transport = new Transport(this, log, { maxMessageSize: options.maxMessageSize, ...this.curve?.socketOptions });
    this.unknownPeerAnswers = new PerKeyRateLimit(options.heartbeatMs);
    this.decodeErrorLogs = new PerKeyRateLimit(options.heartbeatMs);
    this.errorAnswers = new PerKeyRateLimit(options.heartbeatMs);
    // A worker's HELLO loop sends ≤ 5 in 2.5 s; repeats of a registration are not counted.
    this.helloBudget = new PerKeyBudget(options.heartbeatMs, options.maxHellos);
  }

  setSink(sink: WorkerSink): void {
    this.sink = sink;
  }

  /** Binds the socket and starts heartbeats; resolves with the real endpoint. */
  async start(endpoint: string): Promise<string> {
    // The ZAP handler must be bound before the CURVE socket accepts a handshake.
    await this.curve?.start();
    const bound = await this.transport.bind(endpoint);
    // A quarter interval: idle links get a HEARTBEAT after half an interval (see tick).
    const tickMs = Math.max(5, Math.floor(this.options.heartbeatMs / 4));
    this.timer = setInterval(this.tick, tickMs);
    this.timer.unref();
    return bound;
  }

  /** Registered workers, in registration order (a read-only view for the admin endpoint). */
  list(): IterableIterator<Readonly<WorkerRecord>> {
    return this.workers.values();
  }

  get size(): number {
    return this.workers.size;
  }

  /** Says BYE to every worker, sends what is queued and closes the socket. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.closing = true;
    for (const worker of this.workers.values()) this.transport.send(worker.peer, { type: 'BYE', reason: 'router shutting down' });
    await this.transport.close();
    await this.curve?.close();
  }

  onMessage(peer: string, m: Message): void {
    const worker = this.workers.get(peer);
    if (m.type === 'HELLO') {
      // A worker answers our BYE with HELLO at once: welcoming it would register it with a router
      // about to vanish, and it would only notice after 3 silent heartbeats.
      if (this.closing) {
        this.drops.count('hello_refused');
        return;
      }
      this.hello(peer, m, worker);
      return;
    }
    if (worker === undefined) {
      this.unknownPeer(peer, m);
      return;
    }
    worker.lastSeenAt = Date.now();
    switch (m.type) {
      case 'RES':
      case 'DATA':
      case 'WINDOW':
      case 'RST':
        // A worker speaks only for its own streams: anything else is dropped (the dispatcher
        // answers an unknown stream's DATA/RES with one RST) and never reaches a client.
        if (!worker.streams.has(m.stream)) this.drops.count(worker.wasReset(m.stream) ? 'stream_after_reset' : 'stream_not_owned');
        this.sink!.streamMessage(worker, m);
        return;
      case 'CREDIT': {
        if (worker.draining) return; // SPEC §6.2: after DRAIN, CREDIT is ignored
        // --max-worker-streams caps what a worker may have in flight, whatever credit it claims.
        const cap = Math.max(0, this.options.maxWorkerStreams - worker.inFlight);
        const wanted = Math.min(worker.credit + m.credit, MAX_CREDIT);
        if (wanted > cap && m.credit > 0) this.drops.count('credit_over_cap');
        worker.credit = Math.min(wanted, cap);
        if (worker.available) this.sink!.workerAvailable(worker);
        return;
      }
      case 'HEARTBEAT':
        if (m.epoch !== worker.epoch) {
          // The worker restarted without a HELLO: forget it and ask it to register again.
          this.lose(worker, 'epoch changed', []);
          this.unknownPeer(peer, m);
        }
        return;
      case 'DRAIN':
        worker.draining = true;
        worker.credit = 0;
        this.log.info({ workerId: worker.workerId, lastStream: m.lastStream }, 'worker draining');
        return;
      case 'BYE':
        this.lose(worker, `bye: ${m.reason}`, []);
        return;
      case 'ERROR':
        this.log.warn({ workerId: worker.workerId, code: m.code, message: m.message }, 'worker sent ERROR');
        return;
      default:
        // REQ / WELCOME never come from a worker.
        this.protocolViolations++;
        this.drops.count('unexpected_type');
        if (this.decodeErrorLogs.allow(peer, Date.now())) {
          this.log.warn({ workerId: worker.workerId, type: m.type }, 'unexpected message type from worker');
        }
    }
  }

  onDecodeError(peer: string, error: ProtocolError): void {
    this.decodeErrors++;
    this.drops.count(error.code);
    const now = Date.now();
    const worker = this.workers.get(peer);
    if (this.decodeErrorLogs.allow(peer, now)) {
      this.log.warn({ peer, code: error.code, detail: error.message, decodeErrors: this.decodeErrors }, 'undecodable message from worker');
    }
    if (error.code === 'ZP_ERR_VERSION') {
      if (this.errorAnswers.allow(peer, now)) {
        this.transport.send(peer, { type: 'ERROR', code: 'version', message: `this router speaks version ${PROTOCOL_VERSION}` });
      }
      // WELCOME fixed the version for the whole session: a registered worker that changes it is
      // broken, and the pair (maybe the head of a response) is lost. End the session now so its
      // streams are retried or answered 502 at once instead of waiting for their deadline.
      if (worker !== undefined) this.lose(worker, 'message with an unsupported protocol version', []);
      return;
    }
    if (error.typeCode === MessageCode.HELLO) {
      // A HELLO we cannot read: say so, so the worker does not retry it blindly forever.
      if (this.errorAnswers.allow(peer, now)) this.transport.send(peer, { type: 'ERROR', code: 'protocol', message: error.message.slice(0, 1024) });
      return;
    }
    if (worker === undefined) return;
    worker.lastSeenAt = now;
    if (error.stream !== undefined) {
      // A broken RST still ends its stream, but RST is never answered with RST (SPEC §8.1).
      this.sink!.streamProtocolError(worker, error.stream, error.message, error.typeCode !== MessageCode.RST);
    }
  }

  onSendFailed(peer: string, unsentRequests: number[], code: string): void {
    const worker = this.workers.get(peer);
    if (worker !== undefined) this.lose(worker, `send failed: ${code}`, unsentRequests);
  }

  onPeerEvent(peer: string): void {
    // The connection holding `peer` opened or closed (libzmq reports both the same way; a registered
    // id only ever sees its close). Either way the session's connection is gone and nothing more may
    // go to that id until a HELLO arrives on a connection that holds it. O(1) per event.
    this.helloBudget.forget(peer);
    const worker = this.workers.get(peer);
    if (worker !== undefined) this.lose(worker, 'connection closed', []);
  }

  private refuseHello(peer: string, now: number, code: 'version' | 'protocol' | 'overloaded', message: string): void {
    this.drops.count('hello_refused');
    // Never silence (SPEC §5.1), but at most one ERROR per connection per interval.
    if (this.errorAnswers.allow(peer, now)) this.transport.send(peer, { type: 'ERROR', code, message });
  }

  private hello(peer: string, m: Hello, existing: WorkerRecord | undefined): void {
    const now = Date.now();
    if (existing !== undefined && existing.epoch === m.epoch && existing.nonce === m.nonce && existing.workerId === m.workerId) {
      existing.lastSeenAt = now;
      this.welcome(peer, m.nonce); // our WELCOME was lost: answer the same way, change nothing
      return;
    }
    // Every other HELLO (re)registers: at most --max-hellos per connection per interval.
    if (!this.helloBudget.allow(peer, now)) return this.refuseHello(peer, now, 'protocol', `more than ${this.options.maxHellos} HELLOs in one heartbeat interval`);
    const refusal = helloRefusal(m);
    if (refusal !== null) return this.refuseHello(peer, now, refusal.code, refusal.message);
    // A workerId names one live session: a HELLO on another connection never displaces it (the id
    // is shown in the admin and the logs, so knowing it must not be enough to take a worker over).
    const holder = this.byWorkerId.get(m.workerId);
    if (holder !== undefined && holder !== existing) {
      return this.refuseHello(peer, now, 'protocol', 'HELLO.workerId is registered on another connection');
    }
    if (existing !== undefined) {
      existing.lastSeenAt = now;
      this.lose(existing, existing.epoch === m.epoch ? 're-registered' : 'restarted', []);
    } else if (this.workers.size >= this.options.maxWorkers) {
      return this.refuseHello(peer, now, 'overloaded', 'too many workers');
    }
    const worker = new WorkerRecord(peer, m.workerId, m.epoch, m.nonce, m.pool, m.capacity, m.window, storedMeta(m.meta), now);
    worker.credit = Math.min(worker.credit, this.options.maxWorkerStreams);
    this.workers.set(peer, worker);
    this.byWorkerId.set(m.workerId, worker);
    this.transport.track(peer, now);
    this.welcome(peer, m.nonce);
    this.log.info({ workerId: m.workerId, pool: m.pool, capacity: m.capacity, window: m.window }, 'worker registered');
    this.transport.metrics.workerRegistered();
    if (worker.available) this.sink!.workerAvailable(worker);
  }

  private welcome(peer: string, nonce: number): void {
    this.transport.send(peer, {
      type: 'WELCOME',
      nonce,
      routerId: this.options.id,
      epoch: this.epoch,
      version: PROTOCOL_VERSION,
      heartbeatMs: this.options.heartbeatMs,
      window: this.options.window,
      // Never more than libzmq lets in (--max-message-size), or the worker would be disconnected.
      maxFrame: Math.max(1024, Math.min(WORKER_TO_ROUTER_MAX_FRAME, this.options.maxMessageSize)),
    });
  }

  private unknownPeer(peer: string, m: Message): void {
    this.drops.count('unknown_peer');
    // Never answer an ERROR with an ERROR, and a BYE from a forgotten worker needs no answer.
    if (m.type === 'ERROR' || m.type === 'BYE') return;
    if (!this.unknownPeerAnswers.allow(peer, Date.now())) return;
    this.transport.send(peer, { type: 'ERROR', code: 'unknown_peer', message: 'send HELLO first' });
  }

  private lose(worker: WorkerRecord, reason: string, unsentRequests: readonly number[]): void {
    if (worker.lost) return;
    worker.lost = true;
    if (this.workers.get(worker.peer) === worker) this.workers.delete(worker.peer);
    if (this.byWorkerId.get(worker.workerId) === worker) this.byWorkerId.delete(worker.workerId);
    this.transport.forget(worker.peer);
    this.log.info({ workerId: worker.workerId, reason, inFlight: worker.inFlight }, 'worker lost');
    this.transport.metrics.workerLost(reason);
    this.sink!.workerLost(worker, reason, unsentRequests);
  }

  /**
   * Liveness: heartbeat links idle for half an interval (so a live router is never silent for the
   * 2 intervals after which a worker replaces its connection, SPEC §5.3), forget workers silent for
   * LIVENESS_INTERVALS intervals.
   */
  private readonly tick = (): void => {
    const now = Date.now();
    if (this.drops.version !== this.dropsLogged) {
      // At most one line per tick, and only when something changed: cumulative totals by reason.
      this.dropsLogged = this.drops.version;
      this.log.warn({ drops: this.drops.snapshot(), total: this.drops.total }, 'dropped messages');
    }
    const interval = this.options.heartbeatMs;
    for (const worker of this.workers.values()) {
      if (now - worker.lastSeenAt > LIVENESS_INTERVALS * interval) {
        this.lose(worker, 'heartbeat timeout', []);
      } else if (this.transport.idleFor(worker.peer, now) >= interval / 2) {
        this.transport.send(worker.peer, { type: 'HEARTBEAT', epoch: this.epoch });
      }
    }
  };
}
