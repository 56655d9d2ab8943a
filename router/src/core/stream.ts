/**
 * One HTTP request relayed to a worker: per-request state (SPEC §6) — seq both ways, windows both
 * ways, the request body relayed as it arrives (and kept for replay up to --replay-limit), the
 * response relayed to the client as DATA arrives with WINDOW granted only as the client drains.
 *
 * Memory per stream is bounded by the window: the client's body is paused when more than one window
 * is waiting, and the worker may never have more than one window of response unacknowledged.
 * Listeners on req/res are shared functions (the stream is found through a symbol), not closures.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { EMPTY_BODY, Limits, type Data, type RstCode, type Res, type Rst, type WindowUpdate } from '../../../proto/src/index.ts';
import { errorBody, RouterErrors, type RouterErrorCode } from '../errors.ts';
import { forwardResponseHeaders, withoutFraming, type ResponseFraming } from './response-headers.ts';
import { earlyHints, writeResponseHead, MAX_EARLY_HINTS, MAX_INFORMATIONAL, type ResponseIssue } from './response-head.ts';
import { applyHeaderEdits } from '../plugins/chain.ts';
import type { HeaderEdit } from '../plugins/types.ts';
import { ROUTER_TO_WORKER_MAX_FRAME, type ResolvedRouterOptions } from '../options.ts';
import type { Transport } from '../transport/socket.ts';
import type { WorkerRecord } from '../workers/worker.ts';
import type { Logger } from 'pino';

/** The reason an HTTP/2 response is destroyed with (one object: only its presence matters). */
const ABORTED = new Error('response aborted: the worker broke off or broke the response framing');

/** Methods that may be sent again after a worker was lost having seen them (RFC 9110 §9.2.2). */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

/** What a stream needs from the dispatcher that owns it. */
export interface StreamHost {
  readonly options: ResolvedRouterOptions;
  readonly transport: Transport;
  readonly log: Logger;
  /** The stream no longer uses its worker (removes it from the worker's and the id tables). */
  release(stream: Stream): void;
  /** The worker refused the stream (RST refused): retry it elsewhere if the body allows. */
  refused(stream: Stream): void;
  /** Removes a queued stream from its wait queue. */
  dequeue(stream: Stream): void;
  /** The stream is over: the client has its answer, or is gone. */
  finished(stream: Stream): void;
  /** A worker broke the protocol on a stream: counted by `reason` always, logged at most once per interval. */
  protocolViolation(worker: WorkerRecord | null, reason: ResponseIssue, details: Record<string, unknown>): void;
  /** Part of a response the router dropped without resetting the stream (e.g. a 100 Continue): counted. */
  responseDropped(worker: WorkerRecord | null, reason: ResponseIssue): void;
}

export interface RequestHead {
  method: string;
  scheme: string;
  authority: string;
  path: string;
  headers: string[];
  remote: string;
  requestId: string;
}

export type StreamState = 'new' | 'queued' | 'active' | 'done';

const kStream = Symbol('zeroproxy.stream');
type Carrier = { [kStream]?: Stream };

function onRequestData(this: IncomingMessage, chunk: Buffer): void {
  (this as Carrier)[kStream]!.bodyChunk(chunk);
}
function onRequestEnd(this: IncomingMessage): void {
  (this as Carrier)[kStream]!.bodyEnd();
}
function onRequestError(this: IncomingMessage): void {
  (this as Carrier)[kStream]!.clientGone();
}
function onResponseClose(this: ServerResponse): void {
  (this as Carrier)[kStream]!.clientGone();
}
function onResponseDrain(this: ServerResponse): void {
  (this as Carrier)[kStream]!.clientDrained();
}

export class Stream {
  state: StreamState = 'new';
  /** Stream id of the current attempt (0 while not on a worker). */
  id = 0;
  worker: WorkerRecord | null = null;
  attempts = 0;
  /** Id of the worker of the latest attempt ('' before any): for the access log. */
  workerId = '';
  /** Response body bytes written to the client: for the access log. */
  bytesOut = 0;
  /** Pool the dispatcher places this request in (routing plugins may change it). */
  pool = 'default';
  /** Routing plugins: a pinned worker (shard, attempts), a HELLO-meta selection (rewrite), response edits. */
  target: WorkerRecord | null = null;
  select: Readonly<Record<string, string>> | null = null;
  responseEdits: readonly HeaderEdit[] | null = null;
  /** Set on attempts of a fanout/hedge/failover plan: a failure goes to the runner, not the client. */
  onFailure: ((code: RouterErrorCode) => void) | null = null;
  /** Already routed (an attempt): the dispatcher does not run the plugin chain again. */
  routed = false;
  /** Absolute request deadline (ms since epoch), Infinity for none. */
  readonly deadline: number;
  queueDeadline = 0;
  /** performance.now() at arrival: the request duration metric. */
  readonly startedAt = performance.now();
  /** Headers (or more) were written to the client: a failure can no longer become an error status. */
  responseStarted = false;

  // Router → worker (request direction).
  protected sendSeq = 0;
  protected sendWindow = 0;
  private finSent = false;
  // Worker → router (response direction).
  private recvSeq = 0;
  /** Response body bytes the worker may still send. */
  private allowance = 0;
  /** Bytes written to the client and not yet granted back. */
  private ungranted = 0;
  /** Bytes written while the client socket was full, granted on 'drain'. */
  private blocked = 0;
  private waitingDrain = false;
  protected responseHeadReceived = false;
  // Response framing: the router frames every response itself (SPEC §7.3 "Framing").
  /** Body bytes the declared Content-Length still allows; -1 = no length given (chunked / until FIN). */
  private bodyLeft = -1;
  /** A bodiless-so-far head held until its first body bytes or the end of this turn (holdHead). */
  private heldStatus = 0;
  private heldHeaders: string[] | null = null;
  /** 1xx responses the worker sent on this attempt, and 103s relayed of them. */
  private informational = 0;
  private hintsRelayed = 0;
  /** Filled by forwardResponseHeaders (one object per stream, not per response). */
  private readonly framing: ResponseFraming = { contentLength: -1 };

  // Request body.
  private bodyDone: boolean;
  private received = 0;
  /** Bytes received and not yet sent to the current worker. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Every byte received so far, while that is ≤ replayLimit (null once it is not). */
  private replay: Buffer[] | null = [];
  private replayBytes = 0;
  private paused = false;

  constructor(
    protected readonly host: StreamHost,
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly head: RequestHead,
    hasBody: boolean,
    now: number,
  ) {
    const timeout = host.options.requestTimeoutMs;
    this.deadline = timeout > 0 ? now + timeout : Infinity;
    this.bodyDone = !hasBody;
    (req as Carrier)[kStream] = this;
    (res as Carrier)[kStream] = this;
    res.on('close', onResponseClose);
    if (hasBody) {
      req.on('data', onRequestData);
      req.on('end', onRequestEnd);
      req.on('error', onRequestError);
    }
  }

  get requestId(): string {
    return this.head.requestId;
  }

  /** Request body bytes received from the client. */
  get bytesIn(): number {
    return this.received;
  }

  /** Whether this request may be sent again to another worker. */
  canReplay(workerNeverSawIt: boolean): boolean {
    return this.replay !== null && (workerNeverSawIt || IDEMPOTENT.has(this.head.method));
  }

  /** Starts an attempt on `worker` under stream id `id` (the dispatcher already took a credit). */
  attach(worker: WorkerRecord, id: number, now: number): void {
    this.state = 'active';
    this.worker = worker;
    this.id = id;
    this.attempts++;
    this.workerId = worker.workerId;
    this.sendSeq = 0;
    this.recvSeq = 0;
    this.sendWindow = worker.window;
    this.finSent = false;
    this.allowance = this.host.options.window;
    this.ungranted = 0;
    this.blocked = 0;
    this.responseHeadReceived = false;
    this.bodyLeft = -1;
    this.heldHeaders = null;
    this.informational = 0;
    this.hintsRelayed = 0;
    if (this.attempts > 1 && this.replay !== null) {
      this.pending = this.replay.slice();
      this.pendingBytes = this.replayBytes;
    }
    const body = this.takeBody();
    const fin = this.bodyDone && this.pendingBytes === 0;
    this.finSent = fin;
    const h = this.head;
    this.host.transport.send(worker.peer, {
      type: 'REQ',
      stream: id,
      seq: this.sendSeq++,
      method: h.method,
      scheme: h.scheme,
      authority: h.authority,
      path: h.path,
      headers: h.headers,
      remote: h.remote,
      requestId: h.requestId,
      timeoutMs: this.deadline === Infinity ? 0 : Math.max(1, this.deadline - now),
      fin,
      body,
    });
    if (!fin) this.flushBody();
  }

  // ── request body ────────────────────────────────────────────────────────────────────────────

  bodyChunk(chunk: Buffer): void {
    if (this.state === 'done') return;
    this.received += chunk.length;
    if (this.received > this.host.options.maxBodySize) {
      this.fail('ZP_ERR_BODY_TOO_LARGE');
      return;
    }
    if (this.replay !== null) {
      if (this.replayBytes + chunk.length <= this.host.options.replayLimit) {
        this.replay.push(chunk);
        this.replayBytes += chunk.length;
      } else {
        this.replay = null; // too big to keep: this request can no longer be replayed
        this.replayBytes = 0;
      }
    }
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.state === 'active') this.flushBody();
    if (!this.paused && this.pendingBytes >= this.host.options.window) {
      this.paused = true;
      this.req.pause();
    }
  }

  bodyEnd(): void {
    this.bodyDone = true;
    if (this.state === 'active') this.flushBody();
  }

  /** Up to one frame of pending body bytes the worker's window allows (a chunk, or part of one). */
  private takeBody(): Buffer {
    const limit = Math.min(this.sendWindow, ROUTER_TO_WORKER_MAX_FRAME);
    if (limit <= 0 || this.pendingBytes === 0) return EMPTY_BODY;
    const first = this.pending[0]!;
    if (first.length > limit) {
      this.pending[0] = first.subarray(limit);
      this.pendingBytes -= limit;
      this.sendWindow -= limit;
      return first.subarray(0, limit);
    }
    this.pending.shift();
    this.pendingBytes -= first.length;
    this.sendWindow -= first.length;
    return first;
  }

  /** Sends what the window allows; FIN once the client's body is complete and all of it sent. */
  private flushBody(): void {
    const worker = this.worker!;
    while (!this.finSent && this.pendingBytes > 0 && this.sendWindow > 0) {
      const body = this.takeBody();
      const fin = this.bodyDone && this.pendingBytes === 0;
      this.finSent = fin;
      this.host.transport.send(worker.peer, { type: 'DATA', stream: this.id, seq: this.sendSeq++, fin, body });
    }
    if (!this.finSent && this.bodyDone && this.pendingBytes === 0) {
      this.finSent = true;
      this.host.transport.send(worker.peer, { type: 'DATA', stream: this.id, seq: this.sendSeq++, fin: true, body: EMPTY_BODY });
    }
    if (this.paused && this.pendingBytes < this.host.options.window) {
      this.paused = false;
      this.req.resume();
    }
  }

  // ── messages from the worker ────────────────────────────────────────────────────────────────

  onRes(m: Res): void {
    if (!this.inSequence(m.seq)) return;
    if (this.responseHeadReceived) return this.protocolError('second RES', 'second_res');
    if (m.status < 200) return this.onInformational(m);
    this.responseHeadReceived = true;
    if (m.status > 599) return this.protocolError(`status ${m.status} is not relayed`, 'bad_status');
    if (!this.consume(m.body.length)) return;
    let headers: string[];
    try {
      headers = forwardResponseHeaders(m.headers, this.head.requestId, this.framing);
    } catch (err) {
      return this.protocolError(`invalid response head: ${(err as Error).message}`, 'bad_head');
    }
    if (this.responseEdits !== null) headers = withoutFraming(applyHeaderEdits(headers, this.responseEdits));
    const status = m.status;
    const declared = this.framing.contentLength;
    if (this.head.method === 'HEAD' || status === 204 || status === 304) {
      // No body whatever the worker sends (RFC 9110 §6.4.1); a 204 has no Content-Length either
      // (§8.6). HEAD and 304 keep the worker's length: it describes the representation.
      if (declared >= 0 && status !== 204) headers.push('content-length', String(declared));
      if (!this.startResponse(status, headers)) return;
      if (m.fin) return this.complete(EMPTY_BODY);
      // The client has its whole answer now; whatever body the worker meant to send is not wanted.
      this.res.end();
      this.resetWorker('cancel', 'this response carries no body');
      this.finish();
      return;
    }
    const n = m.body.length;
    if (declared >= 0) {
      if (n > declared || (m.fin && n !== declared)) {
        return this.protocolError(`content-length ${declared} but ${n}${m.fin ? '' : ' or more'} body bytes`, 'length_mismatch');
      }
      headers.push('content-length', String(declared));
      this.bodyLeft = declared - n;
    } else if (m.fin) {
      // A whole response in one RES has a known length: say so, as nginx would, instead of chunking.
      headers.push('content-length', String(n));
    }
    if (m.fin) {
      if (this.startResponse(status, headers)) this.complete(m.body); // head and body leave in one write
    } else if (n > 0) {
      if (this.startResponse(status, headers)) this.writeBody(m.body);
    } else {
      this.holdHead(status, headers);
    }
  }

  /**
   * A 1xx from the worker (SPEC §4.1): 103 Early Hints is relayed (its Link fields only, at most
   * MAX_EARLY_HINTS, to HTTP/1.1 and HTTP/2 clients); 100, 102 and other 1xx are dropped and
   * counted; 101 accepts a WebSocket only (WebSocketStream), anywhere else it is a protocol error.
   */
  private onInformational(m: Res): void {
    if (m.status === 101) return this.protocolError('status 101 on a stream that is not a WebSocket', 'bad_status');
    if (m.fin || m.body.length > 0) return this.protocolError(`status ${m.status} with a body or fin`, 'bad_status');
    // Interim responses are cheap to drop, but a stream is not a channel for an endless stream of them.
    if (++this.informational > MAX_INFORMATIONAL) return this.protocolError(`more than ${MAX_INFORMATIONAL} 1xx responses`, 'bad_status');
    const req = this.req;
    // Not to HTTP/1.0 clients (RFC 9110 §15.2), nor before a WebSocket's 101 (clients take any other
    // status there for a refusal).
    const scheme = this.head.scheme;
    if (
      m.status !== 103 ||
      ++this.hintsRelayed > MAX_EARLY_HINTS ||
      (req.httpVersionMajor === 1 && req.httpVersionMinor === 0) ||
      scheme === 'ws' ||
      scheme === 'wss'
    ) {
      this.host.responseDropped(this.worker, 'informational_dropped');
      return;
    }
    const link = earlyHints(m.headers);
    if (link === null) {
      this.host.responseDropped(this.worker, 'informational_dropped');
      return;
    }
    try {
      this.res.writeEarlyHints({ link });
    } catch {
      this.host.responseDropped(this.worker, 'informational_dropped');
    }
  }

  onData(m: Data): void {
    if (!this.inSequence(m.seq)) return;
    if (!this.responseHeadReceived) return this.protocolError('DATA before RES', 'data_before_res');
    // SPEC §7.7: `op` belongs to WebSocket streams only.
    if (m.op !== undefined) return this.protocolError(`DATA with WebSocket op "${m.op}" on an HTTP stream`, 'ws_op_on_http');
    const n = m.body.length;
    if (!this.consume(n)) return;
    const left = this.bodyLeft;
    if (left >= 0) {
      // One compare per DATA: never more bytes than declared, never an end before them.
      if (n > left) return this.protocolError(`body longer than its content-length (${n - left} bytes over)`, 'length_mismatch');
      if (m.fin && n < left) return this.protocolError(`body ended ${left - n} bytes short of its content-length`, 'length_mismatch');
      this.bodyLeft = left - n;
    }
    if (this.heldHeaders !== null && !this.releaseHead()) return;
    if (m.fin) this.complete(m.body);
    else if (n > 0) this.writeBody(m.body);
  }

  /** Hands the head to node; false (and the stream failed with 502) when node refuses it. */
  private startResponse(status: number, headers: string[]): boolean {
    try {
      writeResponseHead(this.res, this.req.httpVersionMajor === 2, status, headers);
    } catch (err) {
      this.protocolError(`invalid response head: ${(err as Error).message}`, 'bad_head');
      return false;
    }
    this.responseStarted = true;
    return true;
  }

  /**
   * A head without body bytes waits until the end of this turn: DATA in the same batch then leaves
   * with it in one write, and an RST in the same batch still becomes a 502 — "response started"
   * (SPEC §7.6) means a byte was handed to the client connection, not that a RES arrived.
   */
  private holdHead(status: number, headers: string[]): void {
    this.heldStatus = status;
    this.heldHeaders = headers;
    queueMicrotask(() => {
      if (this.heldHeaders === null || this.state !== 'active') return;
      if (this.releaseHead()) this.res.flushHeaders(); // the client sees the head before the body
    });
  }

  private releaseHead(): boolean {
    const headers = this.heldHeaders!;
    this.heldHeaders = null;
    return this.startResponse(this.heldStatus, headers);
  }

  onWindow(m: WindowUpdate): void {
    if (!this.inSequence(m.seq)) return;
    this.sendWindow += m.increment;
    if (this.sendWindow > Limits.maxWindow) return this.streamError('flow_control', 'request window above 2^31-1');
    this.flushBody();
  }

  onRst(m: Rst): void {
    this.host.release(this); // the worker already closed its side: no RST back
    this.heldHeaders = null; // a held head never reached the client: the answer is an error status
    if (m.code === 'refused') this.host.refused(this);
    // The worker gave up at the deadline we told it (timeoutMs), maybe a sweep tick before us.
    else if (m.code === 'timeout') this.timeout();
    else if (!this.responseStarted) this.fail('ZP_ERR_WORKER_RESET');
    else this.abort();
  }

  /** A message for this stream could not be decoded, or broke the protocol. */
  protocolError(detail: string, reason: ResponseIssue = 'protocol'): void {
    this.streamError('protocol', detail, reason);
  }

  /** Ends the attempt for the worker's fault: RST to it, 502 if nothing reached the client, else a cut. */
  protected streamError(code: RstCode, detail: string, reason: ResponseIssue = code === 'flow_control' ? 'flow_control' : 'protocol'): void {
    this.host.protocolViolation(this.worker, reason, { requestId: this.head.requestId, stream: this.id, code, detail });
    this.heldHeaders = null;
    this.resetWorker(code, detail);
    if (!this.responseStarted) this.fail('ZP_ERR_BAD_RESPONSE');
    else this.abort();
  }

  protected inSequence(seq: number): boolean {
    if (seq !== this.recvSeq) {
      this.protocolError(`seq ${seq}, expected ${this.recvSeq}`, 'seq');
      return false;
    }
    this.recvSeq = (this.recvSeq + 1) >>> 0;
    return true;
  }

  /** Counts response bytes against the worker's window; false (and the stream reset) when exceeded. */
  protected consume(n: number): boolean {
    this.allowance -= n;
    if (this.allowance >= 0) return true;
    this.streamError('flow_control', 'response window exceeded');
    return false;
  }

  // ── response to the client ──────────────────────────────────────────────────────────────────

  private writeBody(body: Buffer): void {
    this.bytesOut += body.length;
    if (this.res.write(body)) {
      this.grant(body.length);
      return;
    }
    this.blocked += body.length;
    if (!this.waitingDrain) {
      this.waitingDrain = true;
      this.res.once('drain', onResponseDrain);
    }
  }

  clientDrained(): void {
    this.waitingDrain = false;
    const n = this.blocked;
    this.blocked = 0;
    this.grant(n);
  }

  /** Returns consumed bytes to the worker's window, in increments of at least a quarter window. */
  protected grant(n: number): void {
    if (this.state !== 'active' || this.worker === null) return;
    this.ungranted += n;
    if (this.ungranted < this.host.options.window / 4) return;
    this.allowance += this.ungranted;
    this.host.transport.send(this.worker.peer, { type: 'WINDOW', stream: this.id, seq: this.sendSeq++, increment: this.ungranted });
    this.ungranted = 0;
  }

  /** The worker's response is complete (`last` is its final body bytes, possibly empty). */
  private complete(last: Buffer): void {
    this.bytesOut += last.length;
    if (last.length > 0) this.res.end(last);
    else this.res.end();
    // The worker answered before the whole request body was sent: tell it to stop waiting for it.
    if (!this.finSent) this.resetWorker('cancel', 'response complete');
    else this.host.release(this);
    this.finish();
  }

  // ── endings ─────────────────────────────────────────────────────────────────────────────────

  /** Sends RST to the current worker (if any) and lets go of it. */
  resetWorker(code: RstCode, message: string): void {
    const worker = this.worker;
    if (worker === null) return;
    this.host.transport.send(worker.peer, { type: 'RST', stream: this.id, code, message });
    worker.noteReset(this.id);
    this.host.release(this);
  }

  /** The client went away (or its request errored) before the response ended. */
  clientGone(): void {
    if (this.state === 'done') return;
    this.resetWorker('cancel', 'client went away');
    if (this.state === 'queued') this.host.dequeue(this);
    this.finish();
  }

  /** The request deadline passed. */
  timeout(): void {
    if (this.state === 'done') return;
    this.resetWorker('timeout', 'request deadline passed');
    if (!this.responseStarted) this.fail('ZP_ERR_REQUEST_TIMEOUT');
    else this.abort();
  }

  /** Ends the request with an error status, or aborts the client connection if the response began. */
  fail(code: RouterErrorCode): void {
    if (this.state === 'done') return;
    this.resetWorker('cancel', code);
    if (this.state === 'queued') this.host.dequeue(this);
    if (this.onFailure !== null && !this.responseStarted) {
      // An attempt of a fanout/hedge/failover plan: its runner decides what the client gets.
      const runner = this.onFailure;
      this.finish();
      runner(code);
      return;
    }
    if (this.responseStarted) {
      this.abort();
      return;
    }
    this.host.transport.metrics.requestError(code);
    const status = RouterErrors[code].status;
    const body = errorBody(code, this.head.requestId);
    const headers = ['content-type', 'application/json', 'content-length', String(Buffer.byteLength(body)), 'x-request-id', this.head.requestId];
    if (status === 503) headers.push('retry-after', String(Math.max(1, Math.ceil(this.host.options.queueTimeoutMs / 1000))));
    // An unread request body would otherwise be read to its end just to keep the connection.
    // (HTTP/1 only: HTTP/2 forbids the field; the stream ends on its own.)
    if (!this.bodyDone && this.req.httpVersionMajor === 1) headers.push('connection', 'close');
    this.responseStarted = true;
    try {
      writeResponseHead(this.res, this.req.httpVersionMajor === 2, status, headers);
      this.bytesOut += body.length;
      this.res.end(body);
    } catch {
      this.res.destroy();
    }
    this.finish();
  }

  /** Cuts the client connection so it sees a truncated response, never a clean end. */
  abort(): void {
    if (this.state === 'done') return;
    this.resetWorker('cancel', 'aborted');
    if (this.state === 'queued') this.host.dequeue(this);
    // HTTP/1: the connection closes, so it is never reused for the next answer. HTTP/2: with an
    // error the stream is reset with INTERNAL_ERROR (without one node sends NO_ERROR, which a
    // client may take for a clean end).
    if (this.req.httpVersionMajor === 2) this.res.destroy(ABORTED);
    else this.res.destroy();
    this.finish();
  }

  /** Stops listening to req/res: another owner (the attempt runner, a rejection) answers the request. */
  detach(): void {
    this.req.off('data', onRequestData);
    this.req.off('end', onRequestEnd);
    this.req.off('error', onRequestError);
    this.res.off('close', onResponseClose);
  }

  /** The owner that took this request over (detach) is done with it. */
  done(): void {
    if (this.state !== 'done') this.finish();
  }

  /** Before the dispatcher places this stream again after its worker was lost. */
  prepareRetry(): void {
    this.state = 'new';
    this.id = 0;
  }

  protected finish(): void {
    this.state = 'done';
    this.heldHeaders = null;
    if (this.paused) {
      this.paused = false;
      this.req.resume(); // discard the rest of the body
    }
    this.pending = [];
    this.pendingBytes = 0;
    this.replay = null;
    if (!this.routed) this.host.transport.metrics.requestFinished(this); // a client's request, not one attempt of it
    this.host.finished(this);
  }
}
