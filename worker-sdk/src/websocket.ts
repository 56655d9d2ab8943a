/**
 * A WebSocket accepted by this worker (ws-wire design, SPEC.md "WebSocket"): the router terminates
 * the client's WebSocket framing and carries each message as DATA with an `op`; this socket
 * reassembles incoming fragments, fragments outgoing messages at the link's maxFrame (the stream
 * does that part, stream.ts `sendWs`), and runs the close handshake.
 *
 * Flow control is the stream's window, as for HTTP bodies. Fragments of an unfinished message are
 * granted back as they arrive (a message may be larger than the window; maxMessageBytes bounds it);
 * a complete message is granted when it is handed to a 'message' listener or pulled by the async
 * iterator — so an application that reads slowly holds at most one window of messages here.
 */
import { EventEmitter } from 'node:events';
import { StreamStateError, WebSocketStateError, type StreamResetError } from './errors.ts';
import type { ResponseHeaders } from './response-headers.ts';
import {
  CLOSE_ABNORMAL,
  CLOSE_GOING_AWAY,
  CLOSE_INTERNAL,
  CLOSE_NO_STATUS,
  CLOSE_TOO_BIG,
  decodeClose,
  encodeClose,
  MAX_CONTROL_BODY,
  type RstCode,
  type WsOp,
} from '../../proto/src/index.ts';

export const WEBSOCKET_DEFAULTS = {
  /** Largest incoming message (bytes, all fragments); larger → close 1009. */
  maxMessageBytes: 1024 * 1024,
  /** How long a sent close waits for the router's close before the stream is reset. */
  closeTimeoutMs: 10_000,
} as const;


export interface WebSocketAcceptOptions {
  /** The subprotocol chosen; it must be one the client offered (sec-websocket-protocol). */
  protocol?: string;
  /** Extra response headers on the 101 (e.g. set-cookie). */
  headers?: ResponseHeaders;
  /** Largest incoming message in bytes (default 1 MiB); larger closes the socket with 1009. */
  maxMessageBytes?: number;
  /** How long close() waits for the other side's close before resetting the stream (default 10 s). */
  closeTimeoutMs?: number;
}

/** 'connecting' only for a fetch-style socket whose handler has not returned its 101 response yet. */
export type WebSocketReadyState = 'connecting' | 'open' | 'closing' | 'closed';

export interface WebSocketMessage {
  data: Buffer;
  isBinary: boolean;
}

/**
 * Events: 'open'(), 'message'(data: Buffer, isBinary: boolean), 'ping'(Buffer), 'pong'(Buffer),
 * 'close'(code: number, reason: string) — exactly once; 1006 when the stream was reset or the router
 * lost — and 'error'(err) when a 'message' listener throws (the socket is then closed with 1011).
 */
export interface WorkerWebSocket extends EventEmitter {
  readonly protocol: string;
  readonly readyState: WebSocketReadyState;
  /** Strings go as text, bytes as binary (options.binary overrides). Resolves once sent within the
   * router's window; rejects with WebSocketStateError after close(). */
  send(data: string | Uint8Array, options?: { binary?: boolean }): Promise<void>;
  /** Asks the router to ping the client (≤ 125 bytes); its pong arrives as a 'pong' event. */
  ping(data?: Uint8Array | string): void;
  /** Starts the close handshake (default 1000); a no-op once closing. */
  close(code?: number, reason?: string): void;
  /** Messages in order; ends at close. One iterator per socket. */
  [Symbol.asyncIterator](): AsyncIterator<WebSocketMessage>;
}

/** What a socket needs from the stream it runs on (StreamImpl implements it). */
export interface WebSocketPort {
  readonly requestId: string;
  /** Sends one message as DATA with `op`, fragmented at maxFrame, within the router's window. */
  sendWs(op: WsOp, body: Buffer): Promise<void>;
  /** The application consumed `n` received bytes: grant them back to the router. */
  grantWs(n: number): void;
  /** Both closes are done: the stream is over (its credit comes back). */
  finishWs(): void;
  reset(code: RstCode, message?: string): void;
  onClose(listener: (reason: StreamResetError | null) => void): void;
}

function toBuffer(data: Uint8Array | string): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

function positiveInt(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1 || v > 2 ** 31 - 1) throw new RangeError(`${name} must be an integer 1..2^31-1, got ${v}`);
  return v;
}

interface Queued {
  msg: WebSocketMessage;
  /** Bytes of it not granted back yet (its last fragment). */
  ungranted: number;
}

export class WebSocketImpl extends EventEmitter implements WorkerWebSocket {
  readonly maxMessageBytes: number;
  readonly closeTimeoutMs: number;
  private state: WebSocketReadyState = 'connecting';
  private port: WebSocketPort | null = null;
  private chosenProtocol = '';
  private openWaiters: { resolve(): void; reject(err: unknown): void }[] = [];

  // Incoming.
  private fragments: Buffer[] = [];
  private fragmentOp: 'text' | 'binary' | null = null;
  private fragmentBytes = 0;
  private readonly inbox: Queued[] = [];
  private iterating = false;
  private wakeIterator: (() => void) | null = null;
  private flushQueued = false;
  private peerClose: { code: number; reason: string } | null = null;

  // Outgoing.
  private chain: Promise<void> = Promise.resolve();
  private closeSent = false;
  private closeWritten = false;
  private closeTimer: NodeJS.Timeout | undefined;
  private closeEmitted = false;

  constructor(options: WebSocketAcceptOptions = {}) {
    super();
    this.maxMessageBytes = positiveInt('maxMessageBytes', options.maxMessageBytes ?? WEBSOCKET_DEFAULTS.maxMessageBytes);
    this.closeTimeoutMs = positiveInt('closeTimeoutMs', options.closeTimeoutMs ?? WEBSOCKET_DEFAULTS.closeTimeoutMs);
    // Messages that arrived before anyone listened are handed to the first 'message' listener.
    this.on('newListener', (event: string) => {
      if (event === 'message' && !this.iterating && this.inbox.length > 0) this.queueFlush();
    });
  }

  get protocol(): string {
    return this.chosenProtocol;
  }
  get readyState(): WebSocketReadyState {
    return this.state;
  }

  /** Called by the stream once the RES 101 is sent: the socket is open from here. */
  bind(port: WebSocketPort, protocol: string): void {
    this.port = port;
    this.chosenProtocol = protocol;
    if (this.state === 'connecting') this.state = 'open';
    port.onClose((reason) => this.ended(reason));
    const waiters = this.openWaiters;
    this.openWaiters = [];
    for (const w of waiters) w.resolve();
    queueMicrotask(() => {
      if (this.state !== 'closed') this.emit('open');
    });
  }

  /** A fetch-style socket whose handler answered with some other response: it never opens. */
  abandon(why: string): void {
    if (this.port) return;
    const err = new WebSocketStateError(`the WebSocket was never opened: ${why}`);
    for (const w of this.openWaiters.splice(0)) w.reject(err);
    this.closeSent = true;
    this.finishClosed(CLOSE_ABNORMAL, why);
  }

  // ---- outgoing ----------------------------------------------------------------------------

  send(data: string | Uint8Array, options?: { binary?: boolean }): Promise<void> {
    if (this.closeSent || this.state === 'closed') return Promise.reject(new WebSocketStateError('send() after close()'));
    if (typeof data !== 'string' && !(data instanceof Uint8Array)) return Promise.reject(new TypeError('send() takes a string or bytes'));
    const binary = options?.binary ?? typeof data !== 'string';
    return this.enqueue(binary ? 'binary' : 'text', toBuffer(data));
  }

  ping(data: Uint8Array | string = ''): void {
    if (this.closeSent || this.state === 'closed') throw new WebSocketStateError('ping() after close()');
    const buf = toBuffer(data);
    if (buf.length > MAX_CONTROL_BODY) throw new RangeError(`ping payload is ${buf.length} bytes; at most ${MAX_CONTROL_BODY}`);
    this.enqueue('ping', buf).catch(() => {}); // a reset ends the socket with 'close' 1006 anyway
  }

  close(code = 1000, reason = ''): void {
    if (this.closeSent || this.state === 'closed') return;
    this.sendClose(encodeClose(code, reason));
  }

  /** Drain / shutdown: close with 1001 so the client reconnects elsewhere. */
  goAway(reason = 'worker draining'): void {
    this.close(CLOSE_GOING_AWAY, reason);
  }

  /** Sends our close (after whatever is queued) and waits, bounded, for the other side's. */
  private sendClose(payload: Buffer): void {
    this.closeSent = true;
    if (this.state !== 'closed') this.state = 'closing';
    this.enqueue('close', payload).then(
      () => {
        this.closeWritten = true;
        if (this.peerClose) return this.port!.finishWs();
        if (this.state === 'closed') return;
        // Bounded: a router that never answers must not hold the stream (and its credit) forever.
        this.closeTimer = setTimeout(() => this.port!.reset('cancel', 'WebSocket close handshake timed out'), this.closeTimeoutMs);
        this.closeTimer.unref();
      },
      () => {}, // the stream was reset: ended() reports it
    );
  }

  /** Sends run one after another in call order; a fetch-style socket's sends wait for the 101. */
  private enqueue(op: WsOp, body: Buffer): Promise<void> {
    const run = this.chain.then(() => this.whenOpen()).then(() => this.port!.sendWs(op, body));
    this.chain = run.catch(() => {});
    return run;
  }

  private whenOpen(): Promise<void> {
    if (this.port) return Promise.resolve();
    if (this.state === 'closed') return Promise.reject(new WebSocketStateError('the WebSocket is closed'));
    return new Promise((resolve, reject) => this.openWaiters.push({ resolve, reject }));
  }

  // ---- incoming ----------------------------------------------------------------------------

  /** One DATA from the router (seq and window already checked by the stream). */
  onData(op: WsOp | undefined, body: Buffer, fin: boolean): void {
    const port = this.port!;
    if (op === undefined) return port.reset('protocol', 'DATA without op on a WebSocket stream');
    if (this.peerClose) return port.reset('protocol', 'DATA after close');
    switch (op) {
      case 'text':
      case 'binary':
        return this.onFragment(op, body, fin);
      case 'ping':
      case 'pong':
        port.grantWs(body.length);
        if (!fin || body.length > MAX_CONTROL_BODY) return port.reset('protocol', `bad ${op}: fragmented or over ${MAX_CONTROL_BODY} bytes`);
        this.emit(op, body);
        return;
      case 'close':
        port.grantWs(body.length);
        return this.onPeerClose(body, fin);
    }
  }

  private onFragment(op: 'text' | 'binary', body: Buffer, fin: boolean): void {
    const port = this.port!;
    if (this.fragmentOp !== null && this.fragmentOp !== op) return port.reset('protocol', `${op} fragment inside a ${this.fragmentOp} message`);
    if (this.closeSent) {
      // Closing: what the router still sends before its close is discarded (RFC 6455 §1.4).
      port.grantWs(body.length);
      this.fragmentOp = fin ? null : op;
      return;
    }
    this.fragmentBytes += body.length;
    if (this.fragmentBytes > this.maxMessageBytes) {
      port.grantWs(body.length);
      this.fragments = [];
      this.fragmentBytes = 0;
      this.fragmentOp = fin ? null : op;
      this.close(CLOSE_TOO_BIG, `message over ${this.maxMessageBytes} bytes`);
      return;
    }
    if (!fin) {
      // Granted now: a message may be larger than the window, and maxMessageBytes bounds it.
      port.grantWs(body.length);
      this.fragments.push(body);
      this.fragmentOp = op;
      return;
    }
    const data = this.fragments.length === 0 ? body : Buffer.concat([...this.fragments, body], this.fragmentBytes);
    this.fragments = [];
    this.fragmentBytes = 0;
    this.fragmentOp = null;
    this.deliver({ msg: { data, isBinary: op === 'binary' }, ungranted: body.length });
  }

  private deliver(q: Queued): void {
    if (this.iterating) {
      this.inbox.push(q);
      this.wakeIterator?.();
      this.emitMessage(q.msg);
    } else if (this.listenerCount('message') > 0) {
      this.port!.grantWs(q.ungranted);
      this.emitMessage(q.msg);
    } else {
      this.inbox.push(q); // nobody reads yet: held (and not granted) until someone does
    }
  }

  private emitMessage(msg: WebSocketMessage): void {
    try {
      this.emit('message', msg.data, msg.isBinary);
    } catch (err) {
      // A throwing listener must not break the link's receive loop: fail this socket only.
      if (this.listenerCount('error') > 0) this.emit('error', err);
      if (!this.closeSent && this.state !== 'closed') this.close(CLOSE_INTERNAL, 'handler failed');
    }
  }

  private queueFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    queueMicrotask(() => {
      this.flushQueued = false;
      if (this.iterating || this.listenerCount('message') === 0) return;
      for (const q of this.inbox.splice(0)) {
        this.port?.grantWs(q.ungranted);
        this.emitMessage(q.msg);
      }
    });
  }

  private onPeerClose(body: Buffer, fin: boolean): void {
    const parsed = fin ? decodeClose(body) : null;
    if (!parsed) return this.port!.reset('protocol', 'malformed close');
    this.peerClose = parsed;
    this.wakeIterator?.();
    if (!this.closeSent) {
      // Echo the code (RFC 6455 §5.5.1); a close without a code is answered without one.
      this.sendClose(parsed.code === CLOSE_NO_STATUS ? Buffer.alloc(0) : encodeClose(parsed.code));
    } else if (this.closeWritten) {
      this.port!.finishWs();
    }
  }

  /** The stream is over: normally (both closes done) or by reset / router loss. */
  private ended(reason: StreamResetError | null): void {
    clearTimeout(this.closeTimer);
    const err = reason ?? new StreamStateError('the WebSocket is closed');
    for (const w of this.openWaiters.splice(0)) w.reject(err);
    if (reason || !this.peerClose) this.finishClosed(CLOSE_ABNORMAL, reason?.message ?? 'stream ended');
    else this.finishClosed(this.peerClose.code, this.peerClose.reason);
  }

  private finishClosed(code: number, reason: string): void {
    if (this.closeEmitted) return;
    this.closeEmitted = true;
    this.state = 'closed';
    this.fragments = [];
    this.wakeIterator?.();
    this.emit('close', code, reason);
  }

  // ---- async iteration ---------------------------------------------------------------------

  [Symbol.asyncIterator](): AsyncIterator<WebSocketMessage> {
    return this.messages();
  }

  private async *messages(): AsyncGenerator<WebSocketMessage> {
    if (this.iterating) throw new WebSocketStateError('a WebSocket can be iterated only once');
    this.iterating = true;
    for (;;) {
      const next = this.inbox.shift();
      if (next) {
        this.port?.grantWs(next.ungranted);
        yield next.msg;
        continue;
      }
      if (this.state === 'closed' || this.peerClose) return;
      await new Promise<void>((resolve) => (this.wakeIterator = resolve));
      this.wakeIterator = null;
    }
  }
}
