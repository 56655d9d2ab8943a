/**
 * Executes a plugin's attempt plan for one request (the core side of failover / fan-out / hedge):
 *
 * - The request body is buffered once (up to plan.bufferLimit) and replayed whole to each attempt.
 *   A larger body is not replayed: the request goes to the first target only, streamed.
 * - sequential: one attempt at a time, the next when the previous gave no terminal response;
 *   parallel: all at once; hedge: the next after hedgeDelayMs (fixed or the route's observed p95)
 *   without a terminal head, or at once when an attempt fails.
 * - The first terminal response head wins and is streamed to the client; every other attempt is
 *   reset (RST cancel) the moment it arrives — nobody waits for the slowest.
 * - Each attempt has its own deadline for its response head (attemptTimeoutMs).
 * - When no attempt is terminal the client gets 502 with a JSON body naming every attempt.
 *
 * Each attempt is an ordinary Stream (same protocol code, windows, seq) whose response goes to a
 * ResponseGate; the dispatcher places it on its pinned worker or selection.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RouterErrors, type RouterErrorCode } from '../errors.ts';
import type { AttemptPlan, AttemptTarget } from '../plugins/types.ts';
import type { WorkerRecord } from '../workers/worker.ts';
import type { LatencyWindow } from './attempts-latency.ts';
import { ChildRequest, ResponseGate, type GateOwner } from './attempts-gate.ts';
import { writeResponseHead } from './response-head.ts';
import { Stream, type StreamHost } from './stream.ts';

export interface AttemptHost extends StreamHost {
  submit(stream: Stream): void;
}

interface Attempt {
  readonly index: number;
  readonly target: AttemptTarget;
  stream: Stream | null;
  /** null while running; then what happened ("status 503", "ZP_ERR_WORKER_LOST", "won" …). */
  outcome: string | null;
  startedAt: number;
  timer: NodeJS.Timeout | null;
}

/** Whether a request carries a body (as the front door decides it). */
export function requestHasBody(req: IncomingMessage): boolean {
  if (req.headers['transfer-encoding'] !== undefined) return true;
  const length = req.headers['content-length'];
  return length !== undefined && length !== '0';
}

function describeTarget(t: AttemptTarget): string {
  if ('worker' in t) return t.worker.workerId;
  const meta = t.selector.meta ? Object.entries(t.selector.meta).map(([k, v]) => `${k}=${v}`).join(',') : '';
  return meta === '' ? `pool:${t.selector.pool}` : `pool:${t.selector.pool}[${meta}]`;
}

export class AttemptRunner implements GateOwner {
  private readonly attempts: Attempt[];
  private next = 0;
  private winner: Attempt | null = null;
  private done = false;
  private readonly hasBody: boolean;
  private body: Buffer[] = [];
  private bodyBytes = 0;
  /** The body outgrew bufferLimit: relayed live to the single attempt. */
  private relayTo: ChildRequest | null = null;
  private hedgeTimer: NodeJS.Timeout | null = null;
  private readonly req: IncomingMessage;
  private readonly res: ServerResponse;

  constructor(
    private readonly host: AttemptHost,
    private readonly parent: Stream,
    private readonly plan: AttemptPlan,
    private readonly latency: LatencyWindow | null,
  ) {
    this.req = parent.req;
    this.res = parent.res;
    this.hasBody = requestHasBody(this.req);
    this.attempts = plan.targets.map((target, index) => ({ index, target, stream: null, outcome: null, startedAt: 0, timer: null }));
  }

  /** Takes the request over from `parent` (which stays in the dispatcher's books until done). */
  start(): void {
    this.parent.detach();
    this.parent.onFailure = (code) => this.failAll(code);
    this.res.on('close', this.onClientClose);
    if (this.attempts.length === 0) {
      this.answer(502, 'ZP_ERR_NO_TERMINAL_RESPONSE', 'no attempt target');
      return;
    }
    if (!this.hasBody) {
      this.launch();
      return;
    }
    this.req.on('data', this.onBodyChunk);
    this.req.on('end', this.onBodyEnd);
    this.req.on('error', this.onClientClose);
  }

  // ── request body ────────────────────────────────────────────────────────────────────────────

  private readonly onBodyChunk = (chunk: Buffer): void => {
    if (this.done) return;
    this.bodyBytes += chunk.length;
    if (this.bodyBytes > this.host.options.maxBodySize) {
      this.failAll('ZP_ERR_BODY_TOO_LARGE');
      return;
    }
    if (this.relayTo !== null) {
      this.relayTo.emit('data', chunk);
      return;
    }
    this.body.push(chunk);
    if (this.bodyBytes > this.plan.bufferLimit) {
      // Too large to replay: one attempt, on the first target, with the body streamed through.
      this.attempts.length = 1;
      this.relayTo = new ChildRequest(this.req);
      this.startAttempt(this.relayTo);
    }
  };

  private readonly onBodyEnd = (): void => {
    if (this.done) return;
    if (this.relayTo !== null) this.relayTo.emit('end');
    else this.launch();
  };

  // ── attempts ────────────────────────────────────────────────────────────────────────────────

  private launch(): void {
    if (this.plan.mode === 'parallel') {
      while (!this.done && this.winner === null && this.next < this.attempts.length) this.startAttempt(null);
    } else {
      this.startAttempt(null);
      if (this.plan.mode === 'hedge') this.armHedge();
    }
  }

  private armHedge(): void {
    if (this.hedgeTimer !== null) clearTimeout(this.hedgeTimer);
    this.hedgeTimer = null;
    if (this.done || this.winner !== null || this.next >= this.attempts.length) return;
    const delay = this.plan.hedgeDelayMs === 'p95' ? (this.latency?.p95(this.plan.hedgeFallbackMs) ?? this.plan.hedgeFallbackMs) : this.plan.hedgeDelayMs;
    this.hedgeTimer = setTimeout(() => {
      this.hedgeTimer = null;
      if (this.done || this.winner !== null) return;
      this.startAttempt(null);
      this.armHedge();
    }, delay);
    this.hedgeTimer.unref();
  }

  /** Starts the next attempt; `relay` carries a body too large to buffer (streamed, not replayed). */
  private startAttempt(relay: ChildRequest | null): void {
    const attempt = this.attempts[this.next++];
    if (attempt === undefined) return;
    const req = relay ?? new ChildRequest(null);
    const gate = new ResponseGate(this, attempt.index, this.res);
    const h = this.parent.head;
    const stream = new Stream(this.host, req.asRequest(), gate.asResponse(), { ...h, headers: [...h.headers] }, this.hasBody, Date.now());
    stream.routed = true;
    stream.responseEdits = this.parent.responseEdits;
    stream.onFailure = (code) => this.attemptEnded(attempt, code);
    const t = attempt.target;
    if ('worker' in t) {
      stream.target = t.worker as WorkerRecord; // the dispatcher's own record, seen read-only by plugins
      stream.pool = t.worker.pool;
    } else {
      stream.pool = t.selector.pool;
      stream.select = t.selector.meta ?? null;
    }
    attempt.stream = stream;
    attempt.startedAt = Date.now();
    if (this.hasBody) {
      for (const chunk of this.body) req.emit('data', chunk);
      if (relay === null) req.emit('end');
    }
    if (this.plan.attemptTimeoutMs > 0) {
      attempt.timer = setTimeout(() => {
        attempt.timer = null;
        if (attempt.outcome === null && this.winner !== attempt) stream.timeout();
      }, this.plan.attemptTimeoutMs);
      attempt.timer.unref();
    }
    this.host.submit(stream);
  }

  private open(): number {
    let n = 0;
    for (let i = 0; i < this.next; i++) if (this.attempts[i]!.outcome === null) n++;
    return n;
  }

  private close(attempt: Attempt, outcome: string): void {
    attempt.outcome = outcome;
    if (attempt.timer !== null) clearTimeout(attempt.timer);
    attempt.timer = null;
  }

  /** An attempt failed before a terminal head (its Stream's failure hook) or gave a non-terminal one. */
  private attemptEnded(attempt: Attempt, outcome: string): void {
    if (this.done || attempt.outcome !== null) return;
    this.close(attempt, outcome);
    if (this.winner !== null) return;
    if (this.plan.mode !== 'parallel' && this.next < this.attempts.length && (this.plan.mode === 'hedge' || this.open() === 0)) {
      this.startAttempt(null);
      if (this.plan.mode === 'hedge') this.armHedge();
    }
    if (!this.done && this.winner === null && this.open() === 0 && this.next >= this.attempts.length) {
      const summary = this.attempts.map((a) => `${describeTarget(a.target)}: ${a.outcome ?? 'not started'}`).join('; ');
      this.answer(502, 'ZP_ERR_NO_TERMINAL_RESPONSE', summary);
    }
  }

  // ── GateOwner ───────────────────────────────────────────────────────────────────────────────

  head(index: number, status: number, headers: string[]): boolean {
    const attempt = this.attempts[index]!;
    if (this.done || this.winner !== null || attempt.outcome !== null) {
      this.cancelSoon(attempt);
      return false;
    }
    if (!this.plan.terminal.includes(Math.floor(status / 100) * 100)) {
      this.cancelSoon(attempt);
      this.attemptEnded(attempt, `status ${status}`);
      return false;
    }
    headers.push('x-zeroproxy-attempt', String(index + 1));
    try {
      writeResponseHead(this.res, this.req.httpVersionMajor === 2, status, headers);
    } catch (err) {
      // node refused the head (a field it will not write): this attempt failed, the others go on.
      this.cancelSoon(attempt);
      this.attemptEnded(attempt, `head refused: ${(err as Error).message}`);
      return false;
    }
    this.winner = attempt;
    this.close(attempt, 'won');
    this.latency?.record(Date.now() - attempt.startedAt);
    if (this.hedgeTimer !== null) clearTimeout(this.hedgeTimer);
    this.hedgeTimer = null;
    // Losers are reset now, as the winner's head went out.
    for (const other of this.attempts) {
      if (other === attempt || other.stream === null || other.outcome !== null) continue;
      this.close(other, 'cancelled: another attempt won');
      other.stream.clientGone();
    }
    return true;
  }

  winnerEnded(): void {
    this.finish();
  }

  /** The attempt's Stream is inside its RES handling: reset its worker right after. */
  private cancelSoon(attempt: Attempt): void {
    const stream = attempt.stream;
    if (stream !== null) queueMicrotask(() => stream.clientGone());
  }

  // ── endings ─────────────────────────────────────────────────────────────────────────────────

  private readonly onClientClose = (): void => {
    if (this.done) return;
    for (const a of this.attempts) if (a.stream !== null && (a.outcome === null || a === this.winner)) a.stream.clientGone();
    this.finish();
  };

  /** The whole request failed (deadline, shutdown, body too large). */
  private failAll(code: RouterErrorCode): void {
    if (this.done) return;
    for (const a of this.attempts) {
      if (a.stream === null) continue;
      if (a === this.winner) a.stream.abort();
      else if (a.outcome === null) {
        this.close(a, code);
        a.stream.clientGone();
      }
    }
    if (!this.done) this.answer(RouterErrors[code].status, code, RouterErrors[code].message);
  }

  /** Ends the request with an error status (or cuts it if the response already began). */
  private answer(status: number, code: string, detail: string): void {
    if (this.res.headersSent) {
      this.res.destroy();
      this.finish();
      return;
    }
    const attempts = this.attempts.map((a) => ({ target: describeTarget(a.target), outcome: a.outcome ?? 'not started' }));
    const body = JSON.stringify({
      error: code,
      message: code === 'ZP_ERR_NO_TERMINAL_RESPONSE' ? `no attempt gave a terminal response (${detail})` : detail,
      statusCode: status,
      requestId: this.parent.requestId,
      attempts,
    });
    const headers = ['content-type', 'application/json', 'content-length', String(Buffer.byteLength(body)), 'x-request-id', this.parent.requestId];
    if (!this.req.complete) headers.push('connection', 'close');
    try {
      writeResponseHead(this.res, this.req.httpVersionMajor === 2, status, headers);
      this.res.end(body);
    } catch {
      this.res.destroy();
    }
    this.finish();
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    if (this.hedgeTimer !== null) clearTimeout(this.hedgeTimer);
    this.hedgeTimer = null;
    for (const a of this.attempts) {
      if (a.timer !== null) clearTimeout(a.timer);
      a.timer = null;
    }
    this.req.off('data', this.onBodyChunk);
    this.req.resume(); // discard a body nobody reads any more
    this.parent.done();
  }
}
