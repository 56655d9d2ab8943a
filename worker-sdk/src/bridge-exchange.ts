/**
 * One forwarded request of the `--forward` bridge, as an undici dispatch handler.
 *
 * Why a raw handler and not `pool.request`: `request` wraps every response in a Readable, parses the
 * headers into an object and needs an async iteration with a promise per chunk; for a 1 KB answer
 * that was most of the bridge's CPU. Here the client's own callbacks (undici 7's native handler
 * interface — the newer `onResponse*` one is adapted onto it with a header object per request) feed
 * the stream directly: a response whose headers, body and end are parsed from one socket read
 * leaves as ONE RES message carrying the body and fin, like an SDK handler's `respond` + `end`.
 *
 * Longer responses stream: what arrived during one read is written at the end of that microtask
 * burst, and the backend socket is paused (onData returns false) while more than
 * RELAY_HIGH_WATER_BYTES wait for the router's window — back-pressure, never unbounded buffering.
 */
import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import type { HeaderList } from '../../proto/src/index.ts';
import { backendResponseHeaders } from './bridge-headers.ts';
import { isConnectFailure } from './bridge-health.ts';
import type { Stream } from './stream.ts';

/** Response bytes held for the stream (queued or waiting for window) before the backend is paused. */
export const RELAY_HIGH_WATER_BYTES = 64 * 1024;

/** What a client reads when the backend failed: no backend address or error detail (the log has both). */
export const BAD_GATEWAY_BODY = 'bad gateway: the backend did not answer';

/** How long a request that could not connect is held before its RST `refused` (see onError). */
export const REFUSED_HOLD_MS = 100;

/** What every exchange of one bridge shares (one object per bridge, not per request). */
export interface ExchangeContext {
  log: Logger;
  /** The backend origin, for logs only: client-facing bodies never name it. */
  origin: string;
  /** A request could not connect to the backend (nothing was sent): the bridge marks it down. */
  connectFailed(code: string): void;
}

type ExchangeState = 'waiting' | 'relaying' | 'done';

export class BridgeExchange implements Dispatcher.DispatchHandler {
  private state: ExchangeState = 'waiting';
  private abortBackend: ((err?: Error) => void) | null = null;
  /** undici calls onConnect just before writing the request: until then nothing reached the backend. */
  private connected = false;
  private resumeBackend: (() => void) | null = null;
  private paused = false;
  private status = 0;
  private headers: HeaderList | null = null;
  /** Body chunks received and not yet handed to the stream. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Bytes handed to stream.write() whose promise has not resolved (waiting for window). */
  private unsettled = 0;
  private flushQueued = false;

  constructor(
    private readonly stream: Stream,
    private readonly ctx: ExchangeContext,
  ) {
    // A reset stream (client gone, deadline, router lost) cancels the backend request.
    stream.onClose((reason) => {
      if (reason) this.abortBackend?.(reason);
    });
  }

  onConnect(abort: (err?: Error) => void): void {
    this.abortBackend = abort;
    this.connected = true;
    // Reset while the request waited in the pool's queue: never send it.
    if (this.stream.closed) abort();
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    // 1xx informational responses are not relayed; the final status follows.
    if (statusCode < 200) return true;
    this.status = statusCode;
    this.headers = backendResponseHeaders(rawHeaders);
    this.resumeBackend = resume;
    this.state = 'relaying';
    this.queueFlush();
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    this.queueFlush();
    if (this.pendingBytes + this.unsettled < RELAY_HIGH_WATER_BYTES) return true;
    this.paused = true;
    return false;
  }

  onComplete(): void {
    if (this.state !== 'relaying') return;
    this.state = 'done';
    // Synchronously: headers, body and end from one read go out as one RES with fin.
    this.relay(true);
  }

  onError(err: Error): void {
    this.state = 'done';
    const stream = this.stream;
    if (stream.closed) return; // we aborted it because the stream was reset: nothing to answer
    const e = err as Error & { code?: string };
    if (!this.connected && isConnectFailure(e.code)) {
      // No connection, so no byte of the request left: RST `refused` lets the router retry it on
      // another worker whatever its method (SPEC §7.5). Marked down first, so that this worker's
      // DRAIN reaches the router before the RST and the retry does not come back here.
      this.ctx.log.warn({ requestId: stream.requestId, backend: this.ctx.origin, code: e.code }, 'backend refused the connection: request refused for a retry elsewhere');
      this.ctx.connectFailed(e.code!);
      // Held a moment: while this stream is open the leaving worker does not say BYE yet, so a REQ
      // the router sent before it read our DRAIN still finds us and gets RST `refused` (retried
      // anywhere) rather than vanishing with the BYE (retried only if idempotent).
      const refuse = (): void => stream.reset('refused', 'backend not taking connections');
      setTimeout(refuse, REFUSED_HOLD_MS);
      return;
    }
    if (!stream.responded) {
      // The backend may have seen the request: 502, naming no internal address (the log has it).
      this.ctx.log.warn({ requestId: stream.requestId, backend: this.ctx.origin, code: e.code, err: e.message }, 'backend unreachable');
      stream.respond(502, ['content-type', 'text/plain; charset=utf-8']);
      stream.end(`${BAD_GATEWAY_BODY} (request ${stream.requestId})\n`).catch(this.relayFailed);
      return;
    }
    // The response started: the status is out, so the only honest end is a reset.
    this.ctx.log.warn({ requestId: stream.requestId, backend: this.ctx.origin, code: e.code, err: e.message }, 'backend response failed');
    stream.reset('internal', 'backend response failed');
  }

  /** Bound once per exchange so that queueMicrotask and promise callbacks allocate nothing more. */
  private readonly flushTask = (): void => {
    this.flushQueued = false;
    if (this.state !== 'relaying') return;
    // Outside undici's callbacks nothing catches for us: a throw here would be uncaught.
    try {
      this.relay(false);
    } catch (err) {
      this.relayFailed(err);
    }
  };

  private readonly relayFailed = (err: unknown): void => {
    // A reset stream rejects pending writes; its onClose already cancelled the backend.
    if (this.stream.closed) return;
    this.state = 'done';
    this.abortBackend?.(err instanceof Error ? err : new Error(String(err)));
    this.ctx.log.error({ requestId: this.stream.requestId, err: err instanceof Error ? err.stack : String(err) }, 'bridge relay failed');
    this.stream.reset('internal', 'bridge relay failed');
  };

  private queueFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    queueMicrotask(this.flushTask);
  }

  /** Hands the head (once) and what has arrived to the stream; `last` ends the response. */
  private relay(last: boolean): void {
    const stream = this.stream;
    if (stream.closed) return;
    if (!stream.responded) {
      if (this.status > 599) return this.badStatus();
      stream.respond(this.status, this.headers!); // over the protocol limits it answers 502 itself
    }
    const body = this.takePending();
    if (last) {
      stream.end(body).catch(this.relayFailed);
    } else if (body) {
      const n = body.length;
      this.unsettled += n;
      stream.write(body).then(() => this.settled(n), this.relayFailed);
    }
  }

  /** A status HTTP has no meaning for (llhttp reads any 3 digits): the client gets a 502 and the log says why. */
  private badStatus(): void {
    const stream = this.stream;
    this.state = 'done';
    this.ctx.log.warn({ requestId: stream.requestId, status: this.status }, 'backend answered with a status outside 200–599: answered 502');
    stream.respond(502, ['content-type', 'text/plain; charset=utf-8']);
    stream.end('bad gateway: the backend sent an invalid status\n').catch(this.relayFailed);
    this.abortBackend?.(); // after the answer: its onError finds the stream answered and closed
  }

  private settled(n: number): void {
    this.unsettled -= n;
    if (this.paused && this.pendingBytes + this.unsettled < RELAY_HIGH_WATER_BYTES && !this.stream.closed) {
      this.paused = false;
      this.resumeBackend!(); // may call onData synchronously: state is consistent by now
    }
  }

  private takePending(): Buffer | undefined {
    const chunks = this.pending;
    if (chunks.length === 0) return undefined;
    const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, this.pendingBytes);
    chunks.length = 0;
    this.pendingBytes = 0;
    return body;
  }
}
