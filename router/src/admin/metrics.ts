/**
 * The router's counters and histograms (prom-client, one Registry per router: no global state).
 *
 * Every call site in the request path is one method call here, and each costs a property increment
 * or one prom-client inc()/observe() on a cached child (~0.2 µs measured on this VM): no label
 * objects, no closures per request. Live state (workers, queue depth, in-flight) is not counted
 * here at all — gauges.ts reads it from its owner when /metrics is scraped, so it cannot drift.
 *
 * Dropped messages are counted in one place already (security/drop-counters.ts); scrape-metrics.ts
 * exports that table rather than counting twice.
 *
 * Label values that come from outside (pools named by workers, send error codes, loss reasons) are
 * capped per metric: past the cap they are reported as OVERFLOW_LABEL, so a misbehaving peer cannot
 * grow the registry without bound.
 */
import { Counter, Histogram, Registry } from 'prom-client';
import { RST_CODES, type RstCode } from '../../../proto/src/index.ts';
import { RouterErrors, type RouterErrorCode } from '../errors.ts';

/** Latency bucket bounds in seconds: fine below 1 ms, where a loopback proxy hop lives. */
export const LATENCY_BUCKETS_SECONDS: readonly number[] = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
];

/** Most distinct values one label of one metric may take; the rest are counted under OVERFLOW_LABEL. */
export const MAX_LABEL_VALUES = 256;
export const OVERFLOW_LABEL = '(other)';

/** Status class label of a finished request; `none` = it ended before any response head was sent. */
export const STATUS_CLASSES = ['none', '1xx', '2xx', '3xx', '4xx', '5xx'] as const;
export type StatusClass = (typeof STATUS_CLASSES)[number];

/** Index into STATUS_CLASSES for an HTTP status (0 = no response). */
function statusClassIndex(status: number): number {
  const cls = Math.floor(status / 100);
  return cls >= 1 && cls <= 5 ? cls : 0;
}

/** What the metrics read from a request once it is over (the router's Stream satisfies it). */
export interface FinishedRequest {
  readonly pool: string;
  /** `statusCode` is what the client got once `headersSent`. */
  readonly res: { readonly statusCode: number; readonly headersSent: boolean };
  /** performance.now() when the request arrived. */
  readonly startedAt: number;
  /** Request body bytes received from the client, response body bytes written to it. */
  readonly bytesIn: number;
  readonly bytesOut: number;
}

/** The per-pool series a finished request touches, resolved once per pool and then reused. */
interface PoolSeries {
  /** Finished requests by STATUS_CLASSES index: plain numbers, exported when scraped. */
  readonly byClass: number[];
  readonly duration: Histogram.Internal<'pool'>;
}

/** Remembers which values a label has taken, to cap them (see MAX_LABEL_VALUES). */
class LabelCap {
  private readonly seen = new Set<string>();

  admit(value: string): string {
    if (this.seen.has(value)) return value;
    if (this.seen.size >= MAX_LABEL_VALUES) return OVERFLOW_LABEL;
    this.seen.add(value);
    return value;
  }
}

/** "send failed: EAGAIN" → "send_failed": a stable label from a free-text reason. */
function reasonLabel(reason: string): string {
  const head = reason.split(':', 1)[0]!.trim().toLowerCase();
  return head.replace(/[^a-z0-9]+/g, '_').replace(/^_|_$/g, '').slice(0, 64) || 'unknown';
}

export class RouterMetrics {
  readonly registry = new Registry();

  // Plain numbers for per-message events (exported by collect() on scrape).
  /** ZeroMQ frame bytes received from / sent to workers (after the routing envelope). */
  transportBytesIn = 0;
  transportBytesOut = 0;
  /** HTTP body bytes received from clients / written to clients (summed when each request ends). */
  requestBodyBytes = 0;
  responseBodyBytes = 0;

  private readonly duration: Histogram<'pool'>;
  private readonly queueWaitSeconds: Histogram;
  private readonly retries: Counter;
  private readonly errors: Counter<'code'>;
  private readonly rst: Counter<'direction' | 'code'>;
  private readonly sendFailures: Counter<'code'>;
  private readonly registrations: Counter;
  private readonly losses: Counter<'reason'>;

  private readonly pools = new Map<string, PoolSeries>();
  private readonly poolCap = new LabelCap();
  private readonly sendFailureCap = new LabelCap();
  private readonly lossCap = new LabelCap();

  constructor() {
    const registers = [this.registry];
    const pools = this.pools;
    new Counter({
      name: 'zeroproxy_requests_total',
      help: 'Finished HTTP requests by pool and status class (none: ended before a response head, e.g. the client went away)',
      labelNames: ['pool', 'status_class'],
      registers,
      collect(this: Counter<'pool' | 'status_class'>) {
        this.reset();
        for (const [pool, series] of pools) {
          for (let i = 0; i < STATUS_CLASSES.length; i++) this.inc({ pool, status_class: STATUS_CLASSES[i]! }, series.byClass[i]!);
        }
      },
    });
    this.duration = new Histogram({
      name: 'zeroproxy_request_duration_seconds',
      help: 'Time from request arrival to the end of the response, by pool',
      labelNames: ['pool'],
      buckets: [...LATENCY_BUCKETS_SECONDS],
      registers,
    });
    this.queueWaitSeconds = new Histogram({
      name: 'zeroproxy_queue_wait_seconds',
      help: 'Time a request waited in the queue for a worker with credit (requests that found one)',
      buckets: [...LATENCY_BUCKETS_SECONDS],
      registers,
    });
    this.retries = new Counter({ name: 'zeroproxy_retries_total', help: 'Requests placed again on another worker after a worker failure or refusal', registers });
    this.errors = new Counter({ name: 'zeroproxy_request_errors_total', help: 'Requests the router answered with an error status, by ZP_ERR code', labelNames: ['code'], registers });
    this.rst = new Counter({ name: 'zeroproxy_rst_total', help: 'RST messages by direction (in: from workers, out: to workers) and code', labelNames: ['direction', 'code'], registers });
    this.sendFailures = new Counter({ name: 'zeroproxy_send_failures_total', help: 'Failed sends to a worker (its queued messages dropped), by error code', labelNames: ['code'], registers });
    this.registrations = new Counter({ name: 'zeroproxy_worker_registrations_total', help: 'Worker registrations accepted (HELLO → WELCOME)', registers });
    this.losses = new Counter({ name: 'zeroproxy_workers_lost_total', help: 'Workers forgotten, by reason (bye, heartbeat_timeout, send_failed, restarted, …)', labelNames: ['reason'], registers });
    // Known label sets start at 0, so a dashboard or alert sees the series before the first event.
    for (const code of Object.keys(RouterErrors) as RouterErrorCode[]) this.errors.inc({ code }, 0);
    for (const code of RST_CODES) for (const direction of ['in', 'out'] as const) this.rst.inc({ direction, code }, 0);
    // The plain numbers above become counters when scraped; reset+inc is how prom-client sets one.
    const numbers = (): readonly [string, string, number][] => [
      ['transport', 'in', this.transportBytesIn],
      ['transport', 'out', this.transportBytesOut],
      ['http', 'in', this.requestBodyBytes],
      ['http', 'out', this.responseBodyBytes],
    ];
    new Counter({
      name: 'zeroproxy_bytes_total',
      help: 'Bytes by layer and direction: transport = ZeroMQ frames from (in) / to (out) workers; http = request bodies from clients (in) / response bodies to clients (out)',
      labelNames: ['layer', 'direction'],
      registers,
      collect(this: Counter<'layer' | 'direction'>) {
        this.reset();
        for (const [layer, direction, value] of numbers()) this.inc({ layer, direction }, value);
      },
    });
  }

  // ── per request ────────────────────────────────────────────────────────────────────────────

  /** A request ended (called once per request, from its last step). */
  requestFinished(r: FinishedRequest): void {
    const series = this.pools.get(r.pool) ?? this.poolSeries(r.pool);
    series.byClass[r.res.headersSent ? statusClassIndex(r.res.statusCode) : 0]!++;
    series.duration.observe((performance.now() - r.startedAt) / 1000);
    this.requestBodyBytes += r.bytesIn;
    this.responseBodyBytes += r.bytesOut;
  }

  /** A queued request got a worker after waiting `waitedMs`. */
  queueWait(waitedMs: number): void {
    this.queueWaitSeconds.observe(waitedMs / 1000);
  }

  retried(): void {
    this.retries.inc();
  }

  requestError(code: RouterErrorCode): void {
    this.errors.inc({ code });
  }

  // ── protocol and transport ─────────────────────────────────────────────────────────────────

  rstCounted(direction: 'in' | 'out', code: RstCode): void {
    this.rst.inc({ direction, code });
  }

  sendFailed(code: string): void {
    this.sendFailures.inc({ code: this.sendFailureCap.admit(code) });
  }

  workerRegistered(): void {
    this.registrations.inc();
  }

  workerLost(reason: string): void {
    this.losses.inc({ reason: this.lossCap.admit(reasonLabel(reason)) });
  }

  // ── reading ────────────────────────────────────────────────────────────────────────────────

  /**
   * Cumulative latency histogram over every pool: `buckets[i]` counts requests that took at most
   * LATENCY_BUCKETS_SECONDS[i]; the last entry (+Inf) is the total. For the dashboard's /stats.
   */
  async latencyTotals(): Promise<{ count: number; buckets: number[] }> {
    const bounds = LATENCY_BUCKETS_SECONDS;
    const buckets = new Array<number>(bounds.length + 1).fill(0);
    const data = await this.duration.get();
    for (const v of data.values) {
      if (v.metricName !== 'zeroproxy_request_duration_seconds_bucket') continue;
      const le = (v.labels as Record<string, string | number | undefined>)['le']; // prom-client adds `le` to bucket series
      const i = le === '+Inf' ? bounds.length : bounds.indexOf(Number(le));
      if (i >= 0) buckets[i]! += v.value;
    }
    return { count: buckets[bounds.length]!, buckets };
  }

  private poolSeries(pool: string): PoolSeries {
    const label = this.poolCap.admit(pool);
    let series = this.pools.get(label);
    if (series === undefined) {
      series = {
        byClass: STATUS_CLASSES.map(() => 0),
        duration: this.duration.labels({ pool: label }),
      };
      // Pools past the cap share the overflow series (looked up here each time, never added).
      this.pools.set(label, series);
    }
    return series;
  }
}
