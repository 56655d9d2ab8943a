/**
 * One WebSocket relayed to a worker (ws-wire.md). Until the worker's RES 101 it is an ordinary
 * Stream — queueing, retries, deadline, every error status written by Stream's own code on a
 * ServerResponse bound to the raw socket. From the 101 on, messages travel as DATA with `op` both
 * ways under the same per-stream windows as HTTP bodies:
 *
 * - client → worker: each message is queued and sent as DATA fragments of at most 256 KiB within
 *   the worker's window (fin on the last); reading the client pauses while more than one window is
 *   queued.
 * - worker → client: each DATA fragment is written as a WebSocket frame at once (the `ws` library
 *   keeps the continuation state); the window is granted back as the writes complete.
 * - closing: the stream is over when both sides have sent close (or on RST); a close handshake that
 *   does not finish within CLOSE_TIMEOUT_MS ends abnormally.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import {
  CLOSE_ABNORMAL,
  CLOSE_NO_STATUS,
  decodeClose,
  encodeClose,
  fitCloseReason,
  isSendableCloseCode,
  Limits,
  MAX_CONTROL_BODY,
  type Data,
  type Res,
  type Rst,
  type WindowUpdate,
  type WsOp,
} from '../../../proto/src/index.ts';
import type { RouterErrorCode } from '../errors.ts';
import { Stream, type RequestHead, type StreamHost } from '../core/stream.ts';
import { forwardResponseHeaders } from '../core/response-headers.ts';
import { applyHeaderEdits } from '../plugins/chain.ts';
import { ROUTER_TO_WORKER_MAX_FRAME } from '../options.ts';
import { acceptance, offeredProtocols, type Acceptance } from './handshake.ts';

/** A close handshake (either side first) must finish within this, else the socket is dropped. */
export const CLOSE_TIMEOUT_MS = 5000;
/** Bytes a client may send before the 101 (it must not send frames yet): beyond, it is dropped. */
const EARLY_BYTES_LIMIT = 64 * 1024;

/** What a WebSocket stream needs from the front door's WebSocket hub. */
export interface WebSocketHost {
  /** Completes the handshake with the client; calls `opened` with the socket, or never if the client is gone. */
  upgrade(stream: WebSocketStream, head: Buffer, accepted: Acceptance, opened: (ws: WebSocket) => void): void;
  /** The stream ended (after the 101): forget it. */
  ended(stream: WebSocketStream): void;
  /** A WebSocket message crossed the router ('in': from the client, 'out': to it). */
  message(direction: 'in' | 'out'): void;
}

/** The `ws` library's receive errors and the close code it sends the client for each (else 1002). */
const CLIENT_ERROR_CODES: Readonly<Record<string, number>> = {
  WS_ERR_UNSUPPORTED_MESSAGE_LENGTH: 1009,
  WS_ERR_INVALID_UTF8: 1007,
};

/** A message (or the rest of one) waiting for the worker's window. */
interface Outgoing {
  readonly op: WsOp;
  readonly body: Buffer;
  offset: number;
}

export class WebSocketStream extends Stream {
  /** The 101 was relayed: the request deadline no longer applies, messages flow. */
  upgraded = false;
  private ws: WebSocket | null = null;
  /** The client's connection (the `ws` library's after the 101). */
  readonly socket: Socket;
  private readonly offered: Set<string>;
  /** Bytes the client sent before the 101, handed to the WebSocket parser then. */
  private early: Buffer[] = [];
  private earlyBytes = 0;
  // Client → worker.
  private readonly outgoing: Outgoing[] = [];
  private outgoingBytes = 0;
  private readingPaused = false;
  private closeQueued = false;
  private closeSent = false;
  // Worker → client.
  private workerClosed = false;
  /** op of the message whose fragments the worker is sending (null between messages). */
  private fragmentOp: WsOp | null = null;
  private closeTimer: NodeJS.Timeout | null = null;
  /** Set by the pinger, cleared by a pong: a client that stays unset for a whole interval is dropped. */
  awaitingPong = false;
  /** The close code the router sent a client whose frames the `ws` library refused. */
  private clientErrorCode: number | null = null;
  /** Message bytes from the client: for the access log. */
  private messageBytesIn = 0;
  private readonly onEnded: (() => void)[] = [];

  constructor(
    host: StreamHost,
    private readonly wsHost: WebSocketHost,
    req: IncomingMessage,
    socket: Socket,
    res: ServerResponse,
    head: RequestHead,
    early: Buffer,
    now: number,
  ) {
    super(host, req, res, head, false, now);
    this.socket = socket;
    this.offered = offeredProtocols(req);
    if (early.length > 0) this.takeEarly(early);
    socket.on('data', this.takeEarly);
    socket.on('end', this.earlyEnd);
  }

  override get bytesIn(): number {
    return this.messageBytesIn;
  }

  /** Runs `listener` once when the stream is over (the access log's "close"). */
  whenEnded(listener: () => void): void {
    this.onEnded.push(listener);
  }

  /** Before the 101: keep what the client sends (bounded) and notice when it goes away. */
  private readonly takeEarly = (chunk: Buffer): void => {
    this.earlyBytes += chunk.length;
    if (this.earlyBytes > EARLY_BYTES_LIMIT) {
      this.socket.destroy(); // → res 'close' → clientGone: RST cancel, or out of the queue
      return;
    }
    this.early.push(chunk);
  };

  private readonly earlyEnd = (): void => {
    this.socket.destroy();
  };

  // ── the worker's answer ──────────────────────────────────────────────────────────────────────

  override onRes(m: Res): void {
    if (m.status !== 101 || this.upgraded || this.responseHeadReceived) {
      super.onRes(m); // a refusal (relayed as HTTP, then the connection closes) or a protocol error
      return;
    }
    if (!this.inSequence(m.seq)) return;
    this.responseHeadReceived = true;
    if (m.fin || m.body.length > 0) return this.protocolError('RES 101 must have fin=false and no body');
    let accepted: Acceptance;
    try {
      let headers = forwardResponseHeaders(m.headers, this.head.requestId);
      if (this.responseEdits !== null) headers = applyHeaderEdits(headers, this.responseEdits);
      accepted = acceptance(headers, this.offered);
    } catch (err) {
      return this.protocolError(`invalid RES 101: ${(err as Error).message}`);
    }
    this.socket.off('data', this.takeEarly);
    this.socket.off('end', this.earlyEnd);
    const early = this.early.length === 1 ? this.early[0]! : Buffer.concat(this.early);
    this.early = [];
    this.responseStarted = true;
    this.upgraded = true;
    this.res.statusCode = 101;
    this.res.detachSocket(this.socket); // from here on the `ws` library owns the socket
    this.wsHost.upgrade(this, early, accepted, (ws) => this.open(ws));
    if (this.ws === null && this.state !== 'done') {
      // The client left while waiting: the `ws` library dropped the socket without a handshake.
      this.resetWorker('cancel', 'client went away');
      this.finish();
    }
  }

  private open(ws: WebSocket): void {
    this.ws = ws;
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      this.wsHost.message('in');
      this.messageBytesIn += data.length;
      this.toWorker(isBinary ? 'binary' : 'text', data);
    });
    ws.on('ping', (data: Buffer) => this.toWorker('ping', data)); // `ws` answers it itself
    ws.on('pong', (data: Buffer) => {
      this.awaitingPong = false;
      this.toWorker('pong', data);
    });
    // A frame the `ws` library refused (too big, bad UTF-8, protocol): it closes the client with a
    // code the worker is told too, as a normal close.
    ws.on('error', (err: Error & { code?: string }) => {
      this.clientErrorCode = CLIENT_ERROR_CODES[err.code ?? ''] ?? 1002;
    });
    ws.on('close', (code: number, reason: Buffer) => this.clientClosed(code, reason));
  }

  override onData(m: Data): void {
    if (!this.upgraded) {
      super.onData(m);
      return;
    }
    if (!this.inSequence(m.seq)) return;
    if (!this.consume(m.body.length)) return;
    if (this.workerClosed) return this.protocolError('DATA after close');
    const op = m.op;
    if (op === undefined) return this.protocolError('DATA without op on a WebSocket stream');
    const ws = this.ws;
    switch (op) {
      case 'text':
      case 'binary': {
        if (this.fragmentOp !== null && this.fragmentOp !== op) return this.protocolError(`${op} fragment inside a ${this.fragmentOp} message`);
        this.fragmentOp = m.fin ? null : op;
        if (m.fin) this.wsHost.message('out');
        this.bytesOut += m.body.length;
        const n = m.body.length;
        if (ws === null || ws.readyState !== ws.OPEN) return this.grant(n);
        ws.send(m.body, { binary: op === 'binary', fin: m.fin, compress: false }, () => this.grant(n));
        return;
      }
      case 'ping':
      case 'pong':
        if (!m.fin || m.body.length > MAX_CONTROL_BODY) return this.protocolError(`${op} must be one frame of ≤ ${MAX_CONTROL_BODY} bytes`);
        // A worker's ping pings the client (its pong comes back as DATA pong); the client's pings
        // were answered by the router already, so a worker's pong has nowhere to go.
        if (op === 'ping' && ws !== null && ws.readyState === ws.OPEN) ws.ping(m.body);
        this.grant(m.body.length);
        return;
      case 'close': {
        const close = m.fin ? decodeClose(m.body) : null;
        if (close === null) return this.protocolError('invalid close payload');
        this.workerClosed = true;
        if (ws !== null && ws.readyState === ws.OPEN) {
          if (close.code === CLOSE_NO_STATUS) ws.close();
          else ws.close(close.code, close.reason);
        }
        this.armCloseTimer();
        this.endIfClosed();
        return;
      }
    }
  }

  override onWindow(m: WindowUpdate): void {
    if (!this.upgraded) {
      super.onWindow(m);
      return;
    }
    if (!this.inSequence(m.seq)) return;
    this.sendWindow += m.increment;
    if (this.sendWindow > Limits.maxWindow) return this.streamError('flow_control', 'WebSocket window above 2^31-1');
    this.flushToWorker();
  }

  override onRst(m: Rst): void {
    if (!this.upgraded) {
      super.onRst(m);
      return;
    }
    this.host.release(this); // the worker closed its side: no RST back
    this.endAbnormally(1011, m.message === '' ? 'worker reset the stream' : m.message);
  }

  // ── client → worker ──────────────────────────────────────────────────────────────────────────

  private toWorker(op: WsOp, body: Buffer): void {
    if (this.state === 'done' || this.closeQueued) return;
    this.outgoing.push({ op, body, offset: 0 });
    this.outgoingBytes += body.length;
    this.flushToWorker();
    const ws = this.ws;
    if (!this.readingPaused && ws !== null && this.outgoingBytes >= this.windowLimit()) {
      this.readingPaused = true;
      ws.pause();
    }
  }

  /** At most one worker window of client bytes waits in the router. */
  private windowLimit(): number {
    return Math.max(this.worker?.window ?? 0, 1);
  }

  /** Sends queued messages as the worker's window allows: data fragmented, control frames whole. */
  private flushToWorker(): void {
    const worker = this.worker;
    if (worker === null) return;
    while (this.outgoing.length > 0) {
      const m = this.outgoing[0]!;
      const left = m.body.length - m.offset;
      const control = m.op === 'ping' || m.op === 'pong' || m.op === 'close';
      const size = control ? left : Math.min(left, ROUTER_TO_WORKER_MAX_FRAME, this.sendWindow);
      if (left > 0 && (size <= 0 || size > this.sendWindow)) break;
      const body = size === m.body.length ? m.body : m.body.subarray(m.offset, m.offset + size);
      m.offset += size;
      this.sendWindow -= size;
      this.outgoingBytes -= size;
      const fin = m.offset === m.body.length;
      this.host.transport.send(worker.peer, { type: 'DATA', stream: this.id, seq: this.sendSeq++, fin, body, op: m.op });
      if (!fin) continue;
      this.outgoing.shift();
      if (m.op === 'close') this.closeSent = true;
    }
    if (this.readingPaused && this.outgoingBytes < this.windowLimit()) {
      this.readingPaused = false;
      this.ws?.resume();
    }
    this.endIfClosed();
  }

  /** The client connection closed: with a close frame (code) or without (ABNORMAL). */
  private clientClosed(code: number, reason: Buffer): void {
    if (this.state === 'done') {
      if (this.closeTimer !== null) clearTimeout(this.closeTimer);
      this.closeTimer = null;
      return;
    }
    if (code === CLOSE_ABNORMAL && this.clientErrorCode !== null) code = this.clientErrorCode;
    if (code === CLOSE_ABNORMAL && !this.workerClosed && !this.closeQueued) {
      // TCP lost without a close frame (or the pinger dropped it): the worker's stream is cancelled.
      this.resetWorker('cancel', 'client went away');
      this.finish();
      return;
    }
    this.queueClose(code === CLOSE_ABNORMAL ? CLOSE_NO_STATUS : code, reason);
  }

  /** Sends the worker a DATA close (after what is queued) unless one is already on its way. */
  private queueClose(code: number, reason: string | Buffer): void {
    if (this.closeQueued) return;
    // No code (1005) and anything else not sendable go out as a close without a code.
    const body = isSendableCloseCode(code) ? encodeClose(code, fitCloseReason(reason.toString())) : encodeClose(undefined);
    this.closeQueued = true;
    this.outgoing.push({ op: 'close', body, offset: 0 });
    this.outgoingBytes += body.length;
    this.armCloseTimer();
    this.flushToWorker();
  }

  // ── endings ──────────────────────────────────────────────────────────────────────────────────

  /** Both sides have sent close: the stream is over without an RST (the worker's credit comes back). */
  private endIfClosed(): void {
    if (this.state === 'done' || !this.closeSent || !this.workerClosed) return;
    this.host.release(this);
    this.finish();
  }

  private armCloseTimer(): void {
    if (this.closeTimer !== null) return;
    this.closeTimer = setTimeout(() => {
      this.closeTimer = null;
      this.ws?.terminate();
      if (this.state === 'done') return;
      this.resetWorker('cancel', 'close handshake timed out');
      this.finish();
    }, CLOSE_TIMEOUT_MS);
    this.closeTimer.unref();
  }

  /** Closes the client with `code` (1001, 1011) and lets go of the worker. */
  private endAbnormally(code: number, reason: string): void {
    if (this.state === 'done') return;
    const ws = this.ws;
    if (ws !== null && ws.readyState === ws.OPEN) ws.close(code, fitCloseReason(reason));
    this.armCloseTimer(); // bounds the client's close handshake (ends with terminate)
    this.resetWorker('cancel', reason);
    this.finish();
  }

  /** Router shutdown: the client gets close 1001 and the worker DATA close 1001; both answer. */
  goAway(): void {
    if (this.state === 'done' || !this.upgraded) return;
    const ws = this.ws;
    if (ws !== null && ws.readyState === ws.OPEN) ws.close(1001, 'router shutting down');
    this.queueClose(1001, 'router shutting down');
  }

  /** The pinger's tick: drops a client that did not answer the previous ping. */
  pingTick(): void {
    const ws = this.ws;
    if (ws === null || ws.readyState !== ws.OPEN) return;
    if (this.awaitingPong) {
      ws.terminate(); // → 'close' 1006 → RST cancel to the worker
      return;
    }
    this.awaitingPong = true;
    ws.ping();
  }

  override timeout(): void {
    if (!this.upgraded) super.timeout(); // --request-timeout stops at the 101
  }

  override fail(code: RouterErrorCode): void {
    if (!this.upgraded) {
      super.fail(code);
      return;
    }
    this.endAbnormally(code === 'ZP_ERR_SHUTTING_DOWN' ? 1001 : 1011, code === 'ZP_ERR_SHUTTING_DOWN' ? 'router shutting down' : 'worker lost');
  }

  override abort(): void {
    if (!this.upgraded) {
      super.abort();
      return;
    }
    this.endAbnormally(1011, 'worker lost');
  }

  protected override finish(): void {
    if (this.closeTimer !== null && this.ws === null) {
      clearTimeout(this.closeTimer);
      this.closeTimer = null;
    }
    this.outgoing.length = 0;
    this.outgoingBytes = 0;
    if (this.readingPaused) {
      this.readingPaused = false;
      this.ws?.resume();
    }
    super.finish();
    if (this.upgraded) this.wsHost.ended(this);
    for (const listener of this.onEnded.splice(0)) listener();
  }
}
