/**
 * One chaos request: what to send (a plan drawn from the seeded PRNG), sending it through undici
 * with a hard bound, and checking the body byte for byte as it streams in (nothing is buffered but
 * the small error bodies).
 */
import { request as undiciRequest, type Dispatcher } from 'undici';
import { contentBytes, PATHS, postPrefix } from './content.ts';
import type { Random } from './random.ts';

const KiB = 1024;
const MiB = 1024 * KiB;

export type RequestKind = 'get' | 'post' | 'stream';

export interface RequestPlan {
  index: number;
  kind: RequestKind;
  method: 'GET' | 'POST';
  seed: number;
  /** Response body size for GETs, request body size for POSTs. */
  bytes: number;
  /** Server think time (ms): a request that waits is in flight when its worker is killed. */
  delayMs: number;
  requestId: string;
}

/**
 * The traffic mix: mostly small GETs, POSTs of 0–256 KiB, some streamed downloads of 1–4 MiB; half
 * of the GETs and POSTs ask for up to 300 ms of think time so that kills catch requests in flight.
 */
export function planRequest(rng: Random, index: number, runTag: string): RequestPlan {
  const roll = rng.next();
  const seed = rng.int(0, 0xffffffff);
  const requestId = `${runTag}-${index}`;
  const delayMs = rng.next() < 0.5 ? rng.int(1, 300) : 0;
  if (roll < 0.55) return { index, kind: 'get', method: 'GET', seed, bytes: rng.int(0, 16 * KiB), delayMs, requestId };
  if (roll < 0.87) {
    const bytes = rng.next() < 0.5 ? rng.int(0, 4 * KiB) : rng.int(4 * KiB, 256 * KiB);
    return { index, kind: 'post', method: 'POST', seed, bytes, delayMs, requestId };
  }
  return { index, kind: 'stream', method: 'GET', seed, bytes: rng.int(1 * MiB, 4 * MiB), delayMs: 0, requestId };
}

export type OutcomeResult = 'ok' | 'status' | 'cut' | 'error' | 'hung' | 'wrong-body';

export interface Outcome {
  plan: RequestPlan;
  /** ms since the run started */
  startedAtMs: number;
  endedAtMs: number;
  result: OutcomeResult;
  status?: number;
  /** The router's error code (e.g. ZP_ERR_WORKER_LOST) from an error body. */
  errorCode?: string;
  /** x-worker-id of the answer (SDK workers set it; bridges do not). */
  workerId?: string;
  detail?: string;
}

function pathFor(plan: RequestPlan): string {
  const base = plan.kind === 'get' ? PATHS.get : plan.kind === 'stream' ? PATHS.stream : PATHS.post;
  return `${base}?seed=${plan.seed}&bytes=${plan.bytes}${plan.delayMs > 0 ? `&delay=${plan.delayMs}` : ''}`;
}

/** Compares the body as it arrives with the bytes it must be. */
class BodyChecker {
  received = 0;
  mismatchAt = -1;

  constructor(
    private readonly expectedLength: number,
    private readonly expectedAt: (offset: number, length: number) => Buffer,
  ) {}

  push(chunk: Buffer): void {
    if (this.mismatchAt >= 0) return;
    const room = Math.max(0, Math.min(chunk.length, this.expectedLength - this.received));
    if (room > 0 && !this.expectedAt(this.received, room).equals(chunk.subarray(0, room))) {
      this.mismatchAt = this.received;
    } else if (room < chunk.length) {
      this.mismatchAt = this.expectedLength; // more bytes than the body has
    }
    this.received += chunk.length;
  }

  /** null when the body was exactly right. */
  verdict(): string | null {
    if (this.mismatchAt >= 0) return `bytes differ from offset ${this.mismatchAt}`;
    if (this.received !== this.expectedLength) return `got ${this.received} bytes, expected ${this.expectedLength}`;
    return null;
  }
}

function checkerFor(plan: RequestPlan, sentBody: Buffer | undefined): BodyChecker {
  if (plan.kind !== 'post') return new BodyChecker(plan.bytes, (offset, length) => contentBytes(plan.seed, offset, length));
  const expected = Buffer.concat([postPrefix(plan.seed), sentBody!]);
  return new BodyChecker(expected.length, (offset, length) => expected.subarray(offset, offset + length));
}

function errorCodeOf(body: Buffer): string | undefined {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { error?: unknown };
    return typeof parsed.error === 'string' ? parsed.error : undefined;
  } catch {
    return undefined;
  }
}

/** Sends the request and classifies how it ended. Never rejects; never takes longer than boundMs + 1 s. */
export async function runRequest(plan: RequestPlan, baseUrl: string, dispatcher: Dispatcher, boundMs: number, clock: () => number): Promise<Outcome> {
  const startedAtMs = clock();
  const body = plan.kind === 'post' ? contentBytes(plan.seed ^ 0x5a5a5a5a, 0, plan.bytes) : undefined;
  const controller = new AbortController();
  let timedOut = false;
  const bound = setTimeout(() => {
    timedOut = true;
    controller.abort(new Error(`no end within ${boundMs} ms`));
  }, boundMs);
  const partial: Omit<Outcome, 'result' | 'endedAtMs'> = { plan, startedAtMs };
  let headersSeen = false;
  const exchange = async (): Promise<Outcome> => {
    const res = await undiciRequest(`${baseUrl}${pathFor(plan)}`, {
      method: plan.method,
      headers: { 'x-request-id': plan.requestId, ...(body ? { 'content-type': 'application/octet-stream' } : {}) },
      body,
      signal: controller.signal,
      dispatcher,
      headersTimeout: boundMs,
      bodyTimeout: boundMs,
    });
    headersSeen = true;
    partial.status = res.statusCode;
    const worker = res.headers['x-worker-id'];
    if (typeof worker === 'string') partial.workerId = worker;
    if (res.statusCode !== 200) {
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of res.body) {
        if (size < 64 * KiB) chunks.push(chunk as Buffer);
        size += (chunk as Buffer).length;
      }
      const errorCode = errorCodeOf(Buffer.concat(chunks));
      return { ...partial, result: 'status', endedAtMs: clock(), ...(errorCode ? { errorCode } : {}) };
    }
    const checker = checkerFor(plan, body);
    for await (const chunk of res.body) checker.push(chunk as Buffer);
    const verdict = checker.verdict();
    return { ...partial, endedAtMs: clock(), result: verdict === null ? 'ok' : 'wrong-body', ...(verdict ? { detail: verdict } : {}) };
  };
  const failed = (err: unknown): Outcome => {
    const message = err instanceof Error ? `${(err as NodeJS.ErrnoException).code ?? err.name}: ${err.message}` : String(err);
    const result: OutcomeResult = timedOut ? 'hung' : headersSeen ? 'cut' : 'error';
    return { ...partial, endedAtMs: clock(), result, detail: message };
  };
  // The outer bound also covers a body iterator that ignores the abort signal.
  let guard: NodeJS.Timeout | undefined;
  const backstop = new Promise<Outcome>((resolve) => {
    guard = setTimeout(() => {
      timedOut = true;
      resolve(failed(new Error(`no end within ${boundMs + 1000} ms`)));
    }, boundMs + 1000);
  });
  try {
    return await Promise.race([exchange().catch(failed), backstop]);
  } finally {
    clearTimeout(bound);
    clearTimeout(guard);
  }
}
