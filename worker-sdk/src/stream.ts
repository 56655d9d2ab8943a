/**
 * One request stream on the worker side (SPEC.md §6): the low-level stream API.
 *
 * The request body arrives as DATA and is read as an async iterable; WINDOW increments are granted
 * only as the consumer reads, so at most one window of body is ever buffered here. The response goes
 * out as RES then DATA; `write` waits while the router's window is exhausted (back-pressure instead of
 * buffering). A stream ends when both directions are finished, or at once on RST either way.
 */
import type { Logger } from 'pino';
import { EMPTY_BODY, Limits, type Data, type HeaderList, type Message, type Req, type RstCode, type WindowUpdate, type WsOp } from '../../proto/src/index.ts';
import { StreamResetError, StreamStateError, WebSocketUpgradeError, type StreamEndCode } from './errors.ts';
import { WebSocketImpl, type WebSocketAcceptOptions, type WebSocketPort, type WorkerWebSocket } from './websocket.ts';

/** Response headers as a flat [name, value, …] list or as an object (arrays repeat the field). */
export type { ResponseHeaders } from './response-headers.ts';
import type { ResponseHeaders } from './response-headers.ts';

/** What a stream handler sees (the plain-object API: no WHATWG Request/Response on this path). */
export interface Stream {
  readonly id: number;
  readonly method: string;
  readonly scheme: string;
  readonly authority: string;
  /** Path with query string, as the client sent it. */
  readonly path: string;
  /** Request header fields as sent: [name, value, name, value, …], names lower-case. */
  readonly headerList: HeaderList;
  /** Request headers by lower-case name; repeated fields joined with ", " ("; " for cookie). */
  readonly headers: Readonly<Record<string, string>>;
  readonly remoteAddress: string;
  readonly requestId: string;
  /** How long the router waits for the response (ms); 0 = no deadline. */
  readonly timeoutMs: number;
  /** The request body. Reading it grants the router window; read it at most once. */
  readonly body: AsyncIterable<Buffer>;
  /** True when the request carries no body at all (the REQ had fin and no bytes). */
  readonly bodyless: boolean;
  /** Aborts on RST from the router, loss of the router, the deadline, or a local reset. */
  readonly signal: AbortSignal;
  /** True once respond() was called. */
  readonly responded: boolean;
  /** True once the stream is over (finished or reset). */
  readonly closed: boolean;
  respond(status: number, headers?: ResponseHeaders): void;
  /** Sends body bytes; resolves once they are handed to the transport within the router's window. */
  write(chunk: Uint8Array | string): Promise<void>;
  /** Sends the last bytes (optional) and finishes the response. */
  end(chunk?: Uint8Array | string): Promise<void>;
  /** Ends the stream at once with RST `code` (no-op once closed). */
  reset(code: RstCode, message?: string): void;
  /** Calls `listener` once when the stream is over: null when it finished, the reason when it was reset.
   * Cheaper than an abort listener on `signal` on hot paths. */
  onClose(listener: (reason: StreamResetError | null) => void): void;
  /** True when the client asked for a WebSocket (REQ scheme ws/wss). Accept it with
   * acceptWebSocket(), or refuse it with any respond() (status ≥ 200). */
  readonly isWebSocket: boolean;
  /** Sends RES 101 and returns the open socket; throws WebSocketUpgradeError on a plain request or a
   * protocol the client did not offer, StreamStateError once responded. */
  acceptWebSocket(options?: WebSocketAcceptOptions): WorkerWebSocket;
}

export type StreamHandler = (stream: Stream) => void | Promise<void>;

/** What a stream needs from the router link that owns it. */
export interface StreamOwner {
  send(m: Message): void;
  /** Called exactly once when the stream is over (finished or reset). */
  ended(stream: StreamImpl, code: StreamEndCode | null): void;
  readonly maxFrame: number;
  /** Initial response-body window the router granted (WELCOME.window). */
  readonly sendWindow: number;
  /** Initial request-body window this worker granted (HELLO.window). */
  readonly recvWindow: number;
  /** True once the worker drains: a WebSocket accepted from now on is closed with 1001 at once. */
  readonly closingWebSockets?: boolean;
  /** Where a response replaced by a 502 is reported (respond() over the protocol limits). */
  readonly logger?: Logger;
}

/** The 502 body a response head over the protocol limits is replaced with. */
const HEAD_TOO_LARGE_BODY = 'bad gateway: the response head is over the protocol limits\n';

/**
 * Why a response head cannot be sent as the router would accept it (SPEC §10: header fields and
 * header-frame bytes), or null. The router would refuse the RES as undecodable and answer 502
 * itself; checking here lets the worker say why in its own log. One pass over the list: the UTF-8
 * bytes are only measured when the cheap bound (3 bytes per UTF-16 unit) does not already clear it.
 */
export function responseHeadProblem(headers: HeaderList): string | null {
  if (headers.length > Limits.maxHeaderFields * 2) return `${headers.length / 2} header fields (at most ${Limits.maxHeaderFields})`;
  // RES fields besides the list, and a msgpack length prefix of at most 5 bytes per string.
  const budget = Limits.maxHeaderBytes - 64 - 5 * headers.length;
  let units = 0;
  for (let i = 0; i < headers.length; i++) units += headers[i]!.length;
  if (units * 3 <= budget) return null;
  let bytes = 0;
  for (let i = 0; i < headers.length; i++) bytes += Buffer.byteLength(headers[i]!, 'utf8');
  return bytes > budget ? `${bytes} bytes of header fields (the header frame holds at most ${Limits.maxHeaderBytes})` : null;
}

/** The subprotocols a client offered (sec-websocket-protocol, comma-separated, maybe repeated). */
export function offeredProtocols(headers: Readonly<Record<string, string>>): string[] {
  const v = headers['sec-websocket-protocol'];
  return v === undefined ? [] : v.split(',').map((p) => p.trim()).filter((p) => p !== '');
}

function toBuffer(chunk: Uint8Array | string): Buffer {
  if (typeof chunk === 'string') return Buffer.from(chunk);
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

export function flattenHeaders(headers: ResponseHeaders | undefined): HeaderList {
  if (headers === undefined) return [];
  if (Array.isArray(headers)) return headers as HeaderList;
  const out: HeaderList = [];
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    const lower = name.toLowerCase();
    if (Array.isArray(value)) for (const v of value) out.push(lower, String(v));
    else out.push(lower, String(value));
  }
  return out;
}

export class StreamImpl implements Stream, WebSocketPort {
  readonly id: number;
  readonly method: string;
  readonly scheme: string;
  readonly authority: string;
  readonly path: string;
  readonly headerList: HeaderList;
  readonly remoteAddress: string;
  readonly requestId: string;
  readonly timeoutMs: number;
  readonly bodyless: boolean;

  /** Created on first use of `signal`: an AbortController with a listener costs ~10 µs a request. */
  private controller: AbortController | null = null;
  private endReason: StreamResetError | null = null;
  private closeListeners: ((reason: StreamResetError | null) => void)[] | null = null;
  private headerObject: Record<string, string> | undefined;
  /**
   * When the router stops waiting (Date.now() ms; Infinity = no deadline). The link's deadline
   * sweep resets the stream past it: one timer per link, not one per request.
   */
  deadline: number;

  // Request direction (router → worker).
  private nextRecvSeq = 1;
  private readonly inbox: Buffer[] = [];
  private requestFinished: boolean;
  private bodyTaken = false;
  private wakeReader: (() => void) | null = null;
  private recvAllowed: number;
  private recvTotal = 0;
  private unacked = 0;

  // Response direction (worker → router).
  private nextSendSeq = 0;
  private sendWindow: number;
  private pendingHead: { status: number; headers: HeaderList } | null = null;
  private isResponded = false;
  private responseFinished = false;
  private ending = false;
  /** respond() was over the protocol limits and answered 502 instead: the handler's body is dropped. */
  private replaced = false;
  private writeChain: Promise<void> = Promise.resolve();
  private writesInFlight = 0;
  private wakeWriter: (() => void) | null = null;

  private isClosed = false;
  /** Set once the stream became a WebSocket (RES 101 sent); DATA then goes to it. */
  private ws: WebSocketImpl | null = null;

  constructor(
    req: Req,
    private readonly owner: StreamOwner,
  ) {
    this.id = req.stream;
    this.method = req.method;
    this.scheme = req.scheme;
    this.authority = req.authority;
    this.path = req.path;
    this.headerList = req.headers;
    this.remoteAddress = req.remote;
    this.requestId = req.requestId;
    this.timeoutMs = req.timeoutMs;
    this.requestFinished = req.fin;
    this.bodyless = req.fin && req.body.length === 0;
    this.recvAllowed = owner.recvWindow;
    this.sendWindow = owner.sendWindow;
    this.deadline = req.timeoutMs > 0 ? Date.now() + req.timeoutMs : Infinity;
  }

  /** Handles the REQ's inline body; false if the stream was reset because of it. */
  start(inline: Buffer): boolean {
    if (inline.length > 0) this.receiveBody(inline);
    return !this.isClosed;
  }

  get headers(): Readonly<Record<string, string>> {
    if (!this.headerObject) {
      // No prototype: a header named __proto__ or constructor is just a header.
      const obj: Record<string, string> = Object.create(null) as Record<string, string>;
      const list = this.headerList;
      for (let i = 0; i < list.length; i += 2) {
        const name = list[i]!;
        const prev = obj[name];
        obj[name] = prev === undefined ? list[i + 1]! : `${prev}${name === 'cookie' ? '; ' : ', '}${list[i + 1]!}`;
      }
      this.headerObject = obj;
    }
    return this.headerObject;
  }

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.endReason) this.controller.abort(this.endReason);
    }
    return this.controller.signal;
  }
  onClose(listener: (reason: StreamResetError | null) => void): void {
    if (this.isClosed) listener(this.endReason);
    else (this.closeListeners ??= []).push(listener);
  }

  get responded(): boolean {
    return this.isResponded;
  }
  get closed(): boolean {
    return this.isClosed;
  }

  get body(): AsyncIterable<Buffer> {
    return { [Symbol.asyncIterator]: () => this.readBody() };
  }

  private async *readBody(): AsyncGenerator<Buffer> {
    if (this.bodyTaken) throw new StreamStateError('the request body can be read only once');
    this.bodyTaken = true;
    for (;;) {
      // A reset stream's body is incomplete: say so rather than end it as if it were whole.
      if (this.endReason) throw this.endReason;
      const chunk = this.inbox.shift();
      if (chunk !== undefined) {
        this.consumed(chunk.length);
        yield chunk;
        continue;
      }
      if (this.requestFinished || this.isClosed) return;
      await new Promise<void>((resolve) => (this.wakeReader = resolve));
      this.wakeReader = null;
    }
  }

  /** Grants the router more request-body window once a quarter of it was read (no tiny increments). */
  private consumed(n: number): void {
    if (this.requestFinished || this.isClosed) return;
    this.grant(n);
  }

  private grant(n: number): void {
    this.unacked += n;
    if (this.unacked >= Math.max(1, this.owner.recvWindow >> 2)) {
      const increment = this.unacked;
      this.unacked = 0;
      this.recvAllowed += increment;
      this.owner.send({ type: 'WINDOW', stream: this.id, seq: this.takeSendSeq(), increment });
    }
  }

  private takeSendSeq(): number {
    const seq = this.nextSendSeq;
    this.nextSendSeq = (seq + 1) >>> 0;
    return seq;
  }

  /** Checks the router → worker seq (SPEC.md §6); a gap resets the stream. */
  private acceptSeq(seq: number): boolean {
    if (seq !== this.nextRecvSeq) {
      this.reset('protocol', `seq gap: expected ${this.nextRecvSeq}, got ${seq}`);
      return false;
    }
    this.nextRecvSeq = (seq + 1) >>> 0;
    return true;
  }

  onData(m: Data): void {
    if (this.isClosed || !this.acceptSeq(m.seq)) return;
    if (this.ws) {
      // WebSocket messages count against the same window as a body (ws-wire §3).
      this.recvTotal += m.body.length;
      if (this.recvTotal > this.recvAllowed) {
        this.reset('flow_control', `WebSocket data exceeded the window (${this.recvTotal} > ${this.recvAllowed})`);
        return;
      }
      this.ws.onData(m.op, m.body, m.fin);
      return;
    }
    if (this.requestFinished) {
      this.reset('protocol', 'DATA after the request body finished');
      return;
    }
    if (m.body.length > 0) this.receiveBody(m.body);
    if (this.isClosed) return;
    if (m.fin) {
      this.requestFinished = true;
      this.wake();
      this.maybeFinished();
    }
  }

  private receiveBody(body: Buffer): void {
    this.recvTotal += body.length;
    if (this.recvTotal > this.recvAllowed) {
      this.reset('flow_control', `request body exceeded the window (${this.recvTotal} > ${this.recvAllowed})`);
      return;
    }
    this.inbox.push(body);
    this.wake();
  }

  onWindow(m: WindowUpdate): void {
    if (this.isClosed || !this.acceptSeq(m.seq)) return;
    this.sendWindow += m.increment;
    if (this.sendWindow > Limits.maxWindow) {
      this.reset('flow_control', 'response window above 2^31-1');
      return;
    }
    this.wake();
  }

  /** RST from the router: over at once, never answered. */
  onReset(code: RstCode, message: string): void {
    this.close(new StreamResetError(code, message, true), code);
  }

  /** The router went away or restarted: nothing to send, the streams are gone on its side. */
  abandon(why: string): void {
    this.close(new StreamResetError('router_lost', why, false), 'router_lost');
  }

  respond(status: number, headers?: ResponseHeaders): void {
    if (this.isResponded) throw new StreamStateError('respond() was already called');
    // 1xx are not responses (101 is acceptWebSocket()); the router relays 200–599 only (SPEC §4.1).
    if (!Number.isInteger(status) || status < 200 || status > 599) throw new StreamStateError(`invalid status ${status}: a response status is 200–599`);
    this.isResponded = true;
    if (this.isClosed) return;
    const list = flattenHeaders(headers);
    const problem = responseHeadProblem(list);
    if (problem !== null) {
      this.replaceWith502(status, problem);
      return;
    }
    this.pendingHead = { status, headers: list };
    // Sent at the end of this microtask burst unless a write/end in the same tick carries it inline.
    queueMicrotask(() => this.flushHead());
  }

  /** The head cannot travel: the client gets a 502 now, said here (the router would only see garbage). */
  private replaceWith502(status: number, problem: string): void {
    this.owner.logger?.error({ stream: this.id, requestId: this.requestId, status, problem }, 'response head over the protocol limits: answered 502 instead');
    this.replaced = true;
    this.ending = true;
    this.pendingHead = { status: 502, headers: ['content-type', 'text/plain; charset=utf-8'] };
    this.emit(Buffer.from(HEAD_TOO_LARGE_BODY), true);
  }

  private flushHead(): void {
    if (!this.pendingHead || this.isClosed || this.ending) return;
    // A body write waiting for window must not hold the head back (the client sees the status at once).
    this.emit(EMPTY_BODY, false);
  }

  write(chunk: Uint8Array | string): Promise<void> {
    if (this.ws) return Promise.reject(new StreamStateError('write() on a WebSocket stream: use the socket'));
    if (!this.isResponded) return Promise.reject(new StreamStateError('write() before respond()'));
    if (this.replaced) return Promise.resolve();
    if (this.ending) return Promise.reject(new StreamStateError('write() after end()'));
    return this.chain(toBuffer(chunk), false);
  }

  end(chunk?: Uint8Array | string): Promise<void> {
    if (this.ws) return Promise.reject(new StreamStateError('end() on a WebSocket stream: use the socket'));
    if (!this.isResponded) return Promise.reject(new StreamStateError('end() before respond()'));
    if (this.replaced) return Promise.resolve();
    if (this.ending) return Promise.reject(new StreamStateError('end() was already called'));
    this.ending = true;
    const buf = chunk === undefined ? EMPTY_BODY : toBuffer(chunk);
    // Fast path: nothing queued and the whole body fits the window and a frame — send it now, so a
    // respond() + end() in one tick is one RES with the body inline and fin.
    if (this.writesInFlight === 0 && !this.isClosed && buf.length <= Math.min(this.sendWindow, this.owner.maxFrame)) {
      this.emit(buf, true);
      this.sendWindow -= buf.length;
      return Promise.resolve();
    }
    return this.chain(buf, true);
  }

  /** Writes run one after another, in call order, even if the caller does not await them. */
  private chain(buf: Buffer, fin: boolean): Promise<void> {
    this.writesInFlight++;
    const run = this.writeChain.then(() => this.send(buf, fin)).finally(() => this.writesInFlight--);
    this.writeChain = run.catch(() => {});
    return run;
  }

  /** A response body piece: DATA (or the RES carrying it) with fin on the body's last piece. */
  private send(buf: Buffer, fin: boolean): Promise<void> {
    return this.sendPieces(buf, (piece, last) => this.emit(piece, fin && last));
  }

  /**
   * Splits `buf` into pieces within the router's window and maxFrame, waiting for WINDOW as needed;
   * `emitPiece` sends each (`last` on the final one). Bodies and WebSocket messages both go this way.
   */
  private async sendPieces(buf: Buffer, emitPiece: (piece: Buffer, last: boolean) => void): Promise<void> {
    let offset = 0;
    do {
      if (this.isClosed) throw this.endReason ?? new StreamStateError('stream is closed');
      const n = Math.min(buf.length - offset, this.sendWindow, this.owner.maxFrame);
      if (n <= 0 && buf.length > offset) {
        await new Promise<void>((resolve) => (this.wakeWriter = resolve));
        this.wakeWriter = null;
        continue;
      }
      emitPiece(n === buf.length ? buf : buf.subarray(offset, offset + n), offset + n === buf.length);
      this.sendWindow -= n;
      offset += n;
    } while (offset < buf.length);
  }

  // ---- WebSocket (ws-wire design) ---------------------------------------------------------

  get isWebSocket(): boolean {
    return this.scheme === 'ws' || this.scheme === 'wss';
  }

  /** The socket this stream became, if it did. */
  get webSocket(): WebSocketImpl | null {
    return this.ws;
  }

  acceptWebSocket(options: WebSocketAcceptOptions = {}): WorkerWebSocket {
    return this.attachWebSocket(new WebSocketImpl(options), options);
  }

  /** Sends RES 101 and binds `socket` (made earlier by upgradeWebSocket on the fetch-style path). */
  attachWebSocket(socket: WebSocketImpl, options: WebSocketAcceptOptions = {}): WebSocketImpl {
    if (!this.isWebSocket) throw new WebSocketUpgradeError(`not a WebSocket request (scheme ${this.scheme})`);
    if (this.isResponded) throw new StreamStateError('respond() was already called');
    const headers = [...flattenHeaders(options.headers)]; // a copy: the protocol is appended
    const protocol = options.protocol ?? '';
    if (protocol !== '') {
      if (!offeredProtocols(this.headers).includes(protocol)) throw new WebSocketUpgradeError(`subprotocol "${protocol}" was not offered by the client`);
      headers.push('sec-websocket-protocol', protocol);
    }
    this.isResponded = true;
    this.ws = socket;
    // Past the 101 the request deadline no longer applies (ws-wire §7).
    this.deadline = Infinity;
    if (!this.isClosed) this.owner.send({ type: 'RES', stream: this.id, seq: this.takeSendSeq(), status: 101, headers, fin: false, body: EMPTY_BODY });
    socket.bind(this, protocol);
    if (this.owner.closingWebSockets) socket.goAway();
    return socket;
  }

  /** One WebSocket message (or control frame) as DATA with `op`, split at maxFrame, within the window. */
  sendWs(op: WsOp, buf: Buffer): Promise<void> {
    return this.sendPieces(buf, (body, fin) => this.owner.send({ type: 'DATA', stream: this.id, seq: this.takeSendSeq(), fin, body, op }));
  }

  grantWs(n: number): void {
    if (!this.isClosed && n > 0) this.grant(n);
  }

  finishWs(): void {
    this.close(null, null);
  }

  private emit(body: Buffer, fin: boolean): void {
    const head = this.pendingHead;
    if (head) {
      this.pendingHead = null;
      this.owner.send({ type: 'RES', stream: this.id, seq: this.takeSendSeq(), status: head.status, headers: head.headers, fin, body });
    } else {
      this.owner.send({ type: 'DATA', stream: this.id, seq: this.takeSendSeq(), fin, body });
    }
    if (fin) {
      this.responseFinished = true;
      this.maybeFinished();
    }
  }

  /** Both directions done → the stream is over. A response finished before the request body was
   * fully received stops the upload with RST cancel (as HTTP/2 servers do). */
  private maybeFinished(): void {
    if (!this.responseFinished || this.isClosed) return;
    if (this.requestFinished) {
      this.close(null, null);
    } else {
      this.reset('cancel', 'response finished before the request body');
    }
  }

  reset(code: RstCode, message = ''): void {
    if (this.isClosed) return;
    this.owner.send({ type: 'RST', stream: this.id, code, message });
    this.close(new StreamResetError(code, message, false), code);
  }

  private wake(): void {
    this.wakeReader?.();
    this.wakeWriter?.();
  }

  private close(reason: StreamResetError | null, code: StreamEndCode | null): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.pendingHead = null;
    this.inbox.length = 0;
    this.endReason = reason;
    if (reason) this.controller?.abort(reason);
    this.wake();
    this.owner.ended(this, code);
    const listeners = this.closeListeners;
    this.closeListeners = null;
    if (listeners) for (const l of listeners) l(reason);
  }
}
