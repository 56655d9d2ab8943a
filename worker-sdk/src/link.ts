/**
 * One worker ↔ router relationship (SPEC.md §4–§6): the HELLO loop, the registration (router id,
 * epoch, heartbeat interval, windows), liveness, restart detection, credit, drain and this router's
 * streams. Credit and streams are per link; capacity is per link.
 */
import { randomInt } from 'node:crypto';
import type { Logger } from 'pino';
import {
  MessageCode,
  PROTOCOL_VERSION,
  SUPPORTED_VERSIONS,
  type Data,
  type ErrorMessage,
  type Message,
  type ProtocolError,
  type Req,
  type Rst,
  type Welcome,
} from '../../proto/src/index.ts';
import type { StreamEndCode } from './errors.ts';
import { StreamImpl, type StreamHandler, type StreamOwner } from './stream.ts';

const HELLO_BACKOFF_START_MS = 100;
const HELLO_BACKOFF_MAX_MS = 5000;
/** Stream ids remembered after they end, so late frames are dropped instead of answered. */
const RECENTLY_CLOSED_LIMIT = 4096;
/** How often request deadlines are checked: a stream is reset at most this late past its deadline. */
const DEADLINE_SWEEP_MS = 100;
/** At most one decode-error log line per router per this many ms. */
const DECODE_LOG_INTERVAL_MS = 5000;
/** Liveness ticks per heartbeat interval: silence is measured to a quarter interval. */
const TICKS_PER_INTERVAL = 4;
/**
 * A registered router silent this many intervals has lost this connection (SPEC §5.3): the router
 * heartbeats a link idle for half an interval, so a live one is never silent this long. Shorter than
 * the router's LIVENESS_INTERVALS so a displaced worker is back within 2 intervals (about 1.75: the
 * check runs every quarter interval), with twice the ¾-interval gap a live router can leave as margin.
 */
const SILENT_INTERVALS_BEFORE_RECONNECT = 1.5;
/**
 * HELLOs of one loop the router may leave unanswered (no WELCOME, no ERROR: ~16 s with the backoff)
 * before the link tries a fresh connection: a router that still holds an older connection with this
 * routing id ignores this one, and nothing sent on it is ever read (SPEC §5.3).
 */
const UNANSWERED_HELLOS_BEFORE_RECONNECT = 8;

export interface LinkOptions {
  endpoint: string;
  /**
   * The socket-local name this router's connection is addressed by (default: the endpoint). A
   * router re-joined after DNS dropped it gets a new name: libzmq aborts the process when a connect
   * reuses a routing id whose old pipe is not gone yet.
   */
  peer?: string;
  workerId: string;
  epoch: string;
  pool: string;
  capacity: number;
  window: number;
  meta: Record<string, string>;
  logger: Logger;
  send(endpoint: string, m: Message): void;
  /** Asks the transport to call beforeFlush for this router at the end of the turn. */
  touch(endpoint: string): void;
  onStream: StreamHandler;
  /** Called on every WELCOME that registers this worker. */
  onRegistered(link: RouterLink): void;
  /**
   * Replaces this router's connection with a fresh one (new socket, new routing id). Called when
   * the router went silent: it may no longer read this connection (it still holds an older one
   * with the same routing id, or another connection took the id over), and then nothing sent on
   * this one ever reaches it again (SPEC §5.3).
   */
  reconnect(): void;
}

interface Session {
  routerId: string;
  epoch: string;
  heartbeatMs: number;
  window: number;
  maxFrame: number;
}

type LinkState = 'hello' | 'ready' | 'closed';

export class RouterLink implements StreamOwner {
  readonly endpoint: string;
  readonly peer: string;
  private state: LinkState = 'hello';
  private nonce = 0;
  private helloDelay = HELLO_BACKOFF_START_MS;
  private helloTimer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private session: Session | null = null;
  private streams = new Map<number, StreamImpl>();
  private readonly recentlyClosed = new Set<number>();
  /** Insertion order of recentlyClosed (a ring): which id to forget when it is full. */
  private readonly closedRing = new Uint32Array(RECENTLY_CLOSED_LIMIT);
  private closedCount = 0;
  private pendingCredit = 0;
  private draining = false;
  private lastStream = 0;
  private sentSinceTick = false;
  private silentTicks = 0;
  private idleTicks = 0;
  /** HELLOs sent since the router last said anything on this connection. */
  private unansweredHellos = 0;
  private decodeErrors = 0;
  private decodeLoggedAt = 0;
  private idleWaiters: (() => void)[] = [];
  private readonly log: Logger;

  constructor(private readonly o: LinkOptions) {
    this.endpoint = o.endpoint;
    this.peer = o.peer ?? o.endpoint;
    this.log = o.logger;
  }

  get registered(): boolean {
    return this.state === 'ready';
  }
  get routerId(): string | undefined {
    return this.session?.routerId;
  }
  get inFlight(): number {
    return this.streams.size;
  }

  // StreamOwner: what this link's streams use.
  get logger(): Logger {
    return this.log;
  }
  get maxFrame(): number {
    return this.session?.maxFrame ?? 256 * 1024;
  }
  get sendWindow(): number {
    return this.session?.window ?? 0;
  }
  get recvWindow(): number {
    return this.o.window;
  }

  send(m: Message): void {
    this.sentSinceTick = true;
    this.o.send(this.peer, m);
  }

  start(): void {
    this.startHelloLoop();
  }

  // ---- handshake ---------------------------------------------------------------------------

  private startHelloLoop(): void {
    this.state = 'hello';
    this.session = null;
    this.nonce = randomInt(0, 0xffffffff);
    this.helloDelay = HELLO_BACKOFF_START_MS;
    this.stopTimers();
    this.sendHello();
  }

  private sendHello(): void {
    if (this.state !== 'hello') return;
    if (++this.unansweredHellos > UNANSWERED_HELLOS_BEFORE_RECONNECT) {
      this.log.info({ router: this.endpoint, hellos: UNANSWERED_HELLOS_BEFORE_RECONNECT }, 'router silent during the handshake: new connection');
      this.unansweredHellos = 1;
      this.o.reconnect();
    }
    this.log.debug({ router: this.endpoint, nonce: this.nonce, retryInMs: this.helloDelay }, 'HELLO sent');
    this.send({
      type: 'HELLO',
      nonce: this.nonce,
      workerId: this.o.workerId,
      epoch: this.o.epoch,
      versions: [...SUPPORTED_VERSIONS],
      pool: this.o.pool,
      capacity: this.o.capacity,
      window: this.o.window,
      meta: this.o.meta,
    });
    // Sends before the ZeroMQ handshake fail with EHOSTUNREACH: repeat with backoff until WELCOME.
    this.helloTimer = setTimeout(() => this.sendHello(), this.helloDelay);
    this.helloDelay = Math.min(this.helloDelay * 2, HELLO_BACKOFF_MAX_MS);
  }

  private onWelcome(m: Welcome): void {
    if (m.nonce !== this.nonce) return; // an answer to an older HELLO loop
    if (this.state === 'ready') {
      // A repeat of the WELCOME for a repeated HELLO changes nothing; a new epoch is a restart.
      if (m.epoch !== this.session!.epoch) this.routerGone('router restarted', 'warn');
      return;
    }
    if (this.state !== 'hello') return;
    if (m.version !== PROTOCOL_VERSION) {
      this.log.error({ router: this.endpoint, version: m.version }, 'router chose a protocol version this worker does not speak');
      return;
    }
    clearTimeout(this.helloTimer);
    this.helloTimer = undefined;
    this.session = { routerId: m.routerId, epoch: m.epoch, heartbeatMs: m.heartbeatMs, window: m.window, maxFrame: m.maxFrame };
    this.state = 'ready';
    this.pendingCredit = 0;
    this.silentTicks = 0;
    this.idleTicks = 0;
    this.recentlyClosed.clear();
    this.closedCount = 0;
    this.heartbeatTimer = setInterval(() => this.tick(), Math.max(1, Math.floor(m.heartbeatMs / TICKS_PER_INTERVAL)));
    this.heartbeatTimer.unref();
    this.deadlineTimer = setInterval(() => this.sweepDeadlines(), DEADLINE_SWEEP_MS);
    this.deadlineTimer.unref();
    this.log.info({ router: this.endpoint, workerId: this.o.workerId, routerId: m.routerId, heartbeatMs: m.heartbeatMs }, 'worker registered');
    if (this.draining) {
      // close() ran during the handshake: tell the router at once that nothing is accepted.
      this.send({ type: 'DRAIN', lastStream: this.lastStream });
    }
    this.o.onRegistered(this);
  }

  /** Liveness (SPEC.md §4): any message counts; HEARTBEAT only on an idle link. */
  /** Resets streams whose request deadline passed (the router normally says so first, with RST timeout). */
  private sweepDeadlines(): void {
    const now = Date.now();
    for (const stream of this.streams.values()) {
      if (stream.deadline <= now) stream.reset('timeout', 'request deadline passed');
    }
  }

  private tick(): void {
    if (this.state !== 'ready') return;
    if (++this.silentTicks > SILENT_INTERVALS_BEFORE_RECONNECT * TICKS_PER_INTERVAL) {
      // Not a HELLO loop on this connection: if the router no longer reads it, it never hears it
      // again. A fresh connection with a fresh routing id always gets through.
      this.routerGone(`router silent for ${SILENT_INTERVALS_BEFORE_RECONNECT} heartbeat intervals`, 'warn', true);
      return;
    }
    if (this.sentSinceTick) this.idleTicks = 0;
    else if (++this.idleTicks >= TICKS_PER_INTERVAL) {
      this.send({ type: 'HEARTBEAT', epoch: this.o.epoch });
      this.idleTicks = 0;
    }
    this.sentSinceTick = false;
  }

  /** The router restarted, forgot us, said BYE or went silent: drop its streams, register again. */
  private routerGone(why: string, level: 'warn' | 'info', freshConnection = false): void {
    this.log[level]({ router: this.endpoint, routerId: this.session?.routerId, inFlight: this.streams.size, reason: why }, 'router lost');
    this.abandonStreams(why);
    if (this.state === 'closed') return;
    if (this.draining) {
      // Shutting down: there is nothing left to drain on that router.
      this.state = 'closed';
      this.stopTimers();
      return;
    }
    if (freshConnection) this.o.reconnect();
    this.startHelloLoop();
  }

  private abandonStreams(why: string): void {
    const old = this.streams;
    this.streams = new Map();
    this.pendingCredit = 0;
    for (const s of old.values()) s.abandon(why);
    this.notifyIdle();
  }

  // ---- incoming ----------------------------------------------------------------------------

  onMessage(m: Message): void {
    if (this.state === 'closed') return;
    this.silentTicks = 0;
    this.unansweredHellos = 0;
    switch (m.type) {
      case 'WELCOME':
        return this.onWelcome(m);
      case 'REQ':
        return this.onReq(m);
      case 'DATA':
        return this.onData(m);
      case 'WINDOW': {
        // WINDOW for an unknown or closed stream is ignored (SPEC.md §6).
        if (this.state === 'ready') this.streams.get(m.stream)?.onWindow(m);
        return;
      }
      case 'RST':
        return this.onRst(m);
      case 'HEARTBEAT':
        if (this.state === 'ready' && m.epoch !== this.session!.epoch) this.routerGone('router restarted (new epoch)', 'warn');
        return;
      case 'BYE':
        if (this.state === 'ready') this.routerGone(`router said BYE: ${m.reason}`, 'info');
        return;
      case 'ERROR':
        return this.onError(m);
      default:
        this.countDecodeError(`unexpected ${m.type} from a router`);
    }
  }

  private onError(m: ErrorMessage): void {
    if (m.code === 'unknown_peer') {
      // The router does not know us (it restarted): re-register. During the HELLO loop it is an echo.
      if (this.state === 'ready') this.routerGone('router answered unknown_peer', 'warn');
      return;
    }
    this.log.error({ router: this.endpoint, code: m.code, message: m.message }, 'router sent ERROR');
  }

  private onReq(m: Req): void {
    if (this.state !== 'ready') {
      // A REQ from a router we are not registered with: refuse so it can retry elsewhere.
      this.send({ type: 'RST', stream: m.stream, code: 'refused', message: 'worker not registered' });
      return;
    }
    if (m.seq !== 0) return this.rstUnopened(m.stream, 'protocol', 'REQ seq must be 0');
    const existing = this.streams.get(m.stream);
    if (existing) {
      // Both end: the open stream returns its credit when it ends, the duplicate REQ's comes back now (SPEC §7.1).
      existing.reset('protocol', 'REQ for a stream that is open');
      this.returnCredit();
      return;
    }
    if (this.draining) return this.rstUnopened(m.stream, 'refused', 'worker is draining');
    if (this.streams.size >= this.o.capacity) return this.rstUnopened(m.stream, 'refused', 'worker at capacity');
    if (m.stream > this.lastStream) this.lastStream = m.stream;
    const stream = new StreamImpl(m, this);
    this.streams.set(m.stream, stream);
    if (!stream.start(m.body)) return;
    runHandler(this.o.onStream, stream, this.log);
  }

  /** RST for a REQ that never became a stream; the router spent a credit on it, so it comes back. */
  private rstUnopened(stream: number, code: 'refused' | 'protocol', message: string): void {
    this.send({ type: 'RST', stream, code, message });
    this.rememberClosed(stream);
    this.returnCredit();
  }

  private onData(m: Data): void {
    if (this.state !== 'ready') return;
    const stream = this.streams.get(m.stream);
    if (stream) return stream.onData(m);
    if (this.recentlyClosed.has(m.stream)) return; // late frame after an RST: discard
    // Unknown stream: one RST cancel, then treat it as closed so further DATA is dropped.
    this.send({ type: 'RST', stream: m.stream, code: 'cancel', message: 'unknown stream' });
    this.rememberClosed(m.stream);
  }

  private onRst(m: Rst): void {
    if (this.state !== 'ready') return;
    const stream = this.streams.get(m.stream);
    if (!stream) return; // never answer RST with RST
    this.log.info({ router: this.endpoint, stream: m.stream, code: m.code, requestId: stream.requestId, message: m.message }, 'stream reset');
    stream.onReset(m.code, m.message);
  }

  onDecodeError(err: ProtocolError): void {
    this.countDecodeError(err.message);
    if (this.state !== 'ready') return;
    if (err.code === 'ZP_ERR_VERSION') {
      this.send({ type: 'ERROR', code: 'version', message: err.message });
    } else if (err.stream !== undefined) {
      const open = this.streams.get(err.stream);
      if (open) open.reset('protocol', err.code);
      // A REQ we could not read still cost the router a credit: refuse it and give the credit back (SPEC §6.1).
      else if (err.typeCode === MessageCode.REQ) this.rstUnopened(err.stream, 'protocol', err.code);
    }
  }

  private countDecodeError(detail: string): void {
    this.decodeErrors++;
    const now = Date.now();
    if (now - this.decodeLoggedAt < DECODE_LOG_INTERVAL_MS) return;
    this.decodeLoggedAt = now;
    this.log.warn({ router: this.endpoint, errors: this.decodeErrors, detail }, 'bad message from router');
  }

  // ---- streams and credit ------------------------------------------------------------------

  ended(stream: StreamImpl, code: StreamEndCode | null): void {
    // Streams of an abandoned registration are not ours to count any more.
    if (this.streams.get(stream.id) !== stream) return;
    this.streams.delete(stream.id);
    this.rememberClosed(stream.id);
    if (code !== null && code !== 'router_lost') {
      this.log.debug({ router: this.endpoint, stream: stream.id, code, requestId: stream.requestId }, 'stream ended by reset');
    }
    this.returnCredit();
    this.notifyIdle();
  }

  private returnCredit(): void {
    // After DRAIN the router holds our credit at 0; returning any would invite REQs we must refuse.
    if (this.draining) return;
    if (this.pendingCredit++ === 0) this.o.touch(this.peer);
  }

  /** Called by the transport just before it cuts this router's batch: one CREDIT per turn. */
  beforeFlush(): void {
    if (this.pendingCredit > 0 && this.state === 'ready') {
      this.send({ type: 'CREDIT', credit: this.pendingCredit });
    }
    this.pendingCredit = 0;
  }

  private rememberClosed(id: number): void {
    // A ring of the last ids evicts the oldest without a Set iterator per closed stream (hot path).
    const slot = this.closedCount++ % RECENTLY_CLOSED_LIMIT;
    if (this.closedCount > RECENTLY_CLOSED_LIMIT) this.recentlyClosed.delete(this.closedRing[slot]!);
    this.closedRing[slot] = id;
    this.recentlyClosed.add(id);
  }

  // ---- drain and close ---------------------------------------------------------------------

  /** DRAIN (SPEC.md §5): accept nothing new; in-flight streams continue. */
  drain(): void {
    if (this.draining) return;
    this.draining = true;
    this.pendingCredit = 0;
    if (this.state === 'ready') {
      this.send({ type: 'DRAIN', lastStream: this.lastStream });
    } else if (this.state === 'hello') {
      // Not registered: nothing to drain, stop asking.
      this.state = 'closed';
      this.stopTimers();
    }
  }

  /** True once closeWebSockets() ran: a WebSocket accepted later is closed at once (stream.ts). */
  closingWebSockets = false;

  /** Drain (ws-wire §5): closes this link's WebSockets with 1001 so their clients reconnect
   * elsewhere; each stream ends when the router answers the close. */
  closeWebSockets(): void {
    this.closingWebSockets = true;
    for (const s of this.streams.values()) s.webSocket?.goAway();
  }

  /** Resolves when no stream is in flight on this link. */
  idle(): Promise<void> {
    if (this.streams.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private notifyIdle(): void {
    if (this.streams.size !== 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  /** Resets what is still in flight, says BYE (when registered) and stops. */
  bye(reason: string): void {
    for (const s of [...this.streams.values()]) s.reset('cancel', 'worker shutting down');
    if (this.state === 'ready') this.send({ type: 'BYE', reason });
    this.state = 'closed';
    this.stopTimers();
    this.notifyIdle();
  }

  private stopTimers(): void {
    clearTimeout(this.helloTimer);
    clearInterval(this.heartbeatTimer);
    clearInterval(this.deadlineTimer);
    this.deadlineTimer = undefined;
    this.helloTimer = undefined;
    this.heartbeatTimer = undefined;
  }
}

/** Runs the stream handler; a throw or rejection answers 500 if nothing was sent, else RST internal. */
function runHandler(handler: StreamHandler, stream: StreamImpl, log: Logger): void {
  const fail = (err: unknown): void => {
    if (stream.closed) return;
    log.error({ stream: stream.id, requestId: stream.requestId, err: err instanceof Error ? err.stack : String(err) }, 'handler failed');
    if (!stream.responded) {
      stream.respond(500, ['content-type', 'text/plain; charset=utf-8']);
      stream.end('internal server error\n').catch(() => {});
    } else {
      stream.reset('internal', 'handler failed after the response started');
    }
  };
  try {
    const result = handler(stream);
    if (result && typeof (result as Promise<void>).then === 'function') (result as Promise<void>).then(undefined, fail);
  } catch (err) {
    fail(err);
  }
}
