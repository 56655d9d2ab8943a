/**
 * Judging a run: which failures the guarantees allow (README "What zeroproxy guarantees"), the
 * summary line, percentiles. A GET must never fail, except a streamed response cut because its
 * worker was SIGKILLed after the first bytes left; a POST may also get 502 when its worker died
 * having seen it. Anything else — and every hung or wrong body — fails the run.
 */
import type { EventLog } from './events.ts';
import type { Outcome } from './request.ts';

export interface Verdict {
  requests: number;
  ok: number;
  failed: number;
  hung: number;
  wrongBody: number;
  /** Failures the guarantees allow, by reason. */
  excused: Map<string, number>;
  /** Failures they do not allow (GETs first): each one fails the run. */
  unexcused: Outcome[];
  p50Ms: number;
  p99Ms: number;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

/** Why a failed request is allowed to fail, or null when it is not. */
export function excuse(o: Outcome, events: EventLog): string | null {
  // A response cut mid-body: its worker was SIGKILLed while the request was in flight.
  if (o.result === 'cut' && events.killedDuring(o.startedAtMs, o.endedAtMs, o.workerId)) return `${o.plan.method} cut by SIGKILL`;
  if (o.plan.method === 'POST' && o.result === 'status' && o.status === 502) return `POST 502 ${o.errorCode ?? ''}`.trim();
  return null;
}

export function judge(outcomes: readonly Outcome[], events: EventLog): Verdict {
  const excused = new Map<string, number>();
  const unexcused: Outcome[] = [];
  let ok = 0;
  let hung = 0;
  let wrongBody = 0;
  const latencies: number[] = [];
  for (const o of outcomes) {
    if (o.result === 'ok') {
      ok++;
      latencies.push(o.endedAtMs - o.startedAtMs);
      continue;
    }
    if (o.result === 'hung') hung++;
    else if (o.result === 'wrong-body') wrongBody++;
    else {
      const why = excuse(o, events);
      if (why !== null) excused.set(why, (excused.get(why) ?? 0) + 1);
      else unexcused.push(o);
    }
  }
  latencies.sort((a, b) => a - b);
  unexcused.sort((a, b) => (a.plan.method === b.plan.method ? a.startedAtMs - b.startedAtMs : a.plan.method === 'GET' ? -1 : 1));
  return {
    requests: outcomes.length,
    ok,
    failed: outcomes.length - ok - hung - wrongBody,
    hung,
    wrongBody,
    excused,
    unexcused,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
  };
}

/** The one summary line (format fixed: scripts and the CI test parse it). */
export function summaryLine(v: Verdict, retried: number): string {
  return `requests ${v.requests} ok ${v.ok} failed ${v.failed} hung ${v.hung} wrong-body ${v.wrongBody} retried ${retried} p50 ${v.p50Ms.toFixed(1)} ms p99 ${v.p99Ms.toFixed(1)} ms`;
}

export function passed(v: Verdict): boolean {
  return v.hung === 0 && v.wrongBody === 0 && v.unexcused.length === 0;
}

export function describeOutcome(o: Outcome): string {
  const p = o.plan;
  const status = o.status === undefined ? '' : ` status ${o.status}${o.errorCode ? ` ${o.errorCode}` : ''}`;
  return `#${p.index} ${p.method} ${p.kind} ${p.bytes} B id ${p.requestId}: ${o.result}${status}${o.workerId ? ` worker ${o.workerId}` : ''} at ${(o.startedAtMs / 1000).toFixed(2)}–${(o.endedAtMs / 1000).toFixed(2)} s${o.detail ? ` (${o.detail})` : ''}`;
}
