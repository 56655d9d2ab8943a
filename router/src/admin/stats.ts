/**
 * Request rate and latency percentiles over the last minutes, for the dashboard (/stats).
 *
 * Every `intervalMs` it snapshots the cumulative latency histogram (the same one /metrics exports)
 * into a bounded ring; a chart point is the difference between two neighbouring snapshots, so the
 * request path does no extra work for it. Memory: windowMs / intervalMs snapshots of 19 numbers.
 */
import type { Logger } from 'pino';
import { LATENCY_BUCKETS_SECONDS, type RouterMetrics } from './metrics.ts';
import { bucketDelta, quantileFromBuckets } from './percentiles.ts';

export interface StatsPoint {
  /** End of the interval (ms since epoch). */
  t: number;
  /** Requests finished in the interval. */
  requests: number;
  /** Requests per second over the interval. */
  rate: number;
  /** Latency percentiles over the interval in milliseconds; null when no request finished. */
  p50Ms: number | null;
  p99Ms: number | null;
}

export interface StatsSummary {
  /** Length of the summary window actually covered (ms). */
  windowMs: number;
  requests: number;
  rate: number;
  p50Ms: number | null;
  p99Ms: number | null;
}

export interface StatsHistory {
  intervalMs: number;
  /** Time span the series covers when full (ms). */
  windowMs: number;
  /** Oldest first; at most windowMs / intervalMs points. */
  series: StatsPoint[];
  /** Over the last minute (or as much of it as has been sampled). */
  lastMinute: StatsSummary;
}

interface Snapshot {
  t: number;
  /** Cumulative bucket counts, the last one (+Inf) being the total. */
  buckets: number[];
}

const LAST_MINUTE_MS = 60_000;

function summarize(later: Snapshot, earlier: Snapshot): StatsSummary {
  const delta = bucketDelta(later.buckets, earlier.buckets);
  const requests = delta.reduce((a, b) => a + b, 0);
  const windowMs = Math.max(1, later.t - earlier.t);
  const toMs = (s: number | null): number | null => (s === null ? null : s * 1000);
  return {
    windowMs,
    requests,
    rate: (requests * 1000) / windowMs,
    p50Ms: toMs(quantileFromBuckets(0.5, LATENCY_BUCKETS_SECONDS, delta)),
    p99Ms: toMs(quantileFromBuckets(0.99, LATENCY_BUCKETS_SECONDS, delta)),
  };
}

export class StatsRecorder {
  private readonly snapshots: Snapshot[] = [];
  private readonly capacity: number;
  private timer: NodeJS.Timeout | null = null;
  private sampling = false;

  constructor(
    private readonly metrics: RouterMetrics,
    private readonly log: Logger,
    readonly intervalMs: number,
    readonly windowMs: number,
  ) {
    this.capacity = Math.max(2, Math.ceil(windowMs / intervalMs) + 1);
  }

  start(): Promise<void> {
    this.timer = setInterval(() => void this.sample(), this.intervalMs);
    this.timer.unref();
    return this.sample(); // the first snapshot is the baseline every later point is measured from
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  history(): StatsHistory {
    const s = this.snapshots;
    const series: StatsPoint[] = [];
    for (let i = 1; i < s.length; i++) {
      const sum = summarize(s[i]!, s[i - 1]!);
      series.push({ t: s[i]!.t, requests: sum.requests, rate: sum.rate, p50Ms: sum.p50Ms, p99Ms: sum.p99Ms });
    }
    const latest = s[s.length - 1];
    let lastMinute: StatsSummary = { windowMs: 0, requests: 0, rate: 0, p50Ms: null, p99Ms: null };
    if (latest !== undefined && s.length > 1) {
      const from = s.find((x) => x.t >= latest.t - LAST_MINUTE_MS - this.intervalMs / 2) ?? s[0]!;
      if (from !== latest) lastMinute = summarize(latest, from);
    }
    return { intervalMs: this.intervalMs, windowMs: this.windowMs, series, lastMinute };
  }

  /** Takes a snapshot now (the timer calls it every intervalMs). */
  async sample(): Promise<void> {
    if (this.sampling) return; // a slow read must not pile up behind itself
    this.sampling = true;
    try {
      const { buckets } = await this.metrics.latencyTotals();
      this.snapshots.push({ t: Date.now(), buckets });
      if (this.snapshots.length > this.capacity) this.snapshots.shift();
    } catch (err) {
      this.log.warn({ err }, 'admin: stats sample failed');
    } finally {
      this.sampling = false;
    }
  }
}
