/**
 * Observed response-head latencies of one route, for hedging after the p95 (Envoy's hedge on
 * per-try timeout, made adaptive). A fixed ring of the latest samples: bounded memory.
 */
export const LATENCY_SAMPLES = 256;
/** Fewer samples than this and the p95 is not trusted: the plan's fallback delay is used. */
export const MIN_SAMPLES_FOR_P95 = 20;

export class LatencyWindow {
  private readonly samples = new Float64Array(LATENCY_SAMPLES);
  private count = 0;
  private next = 0;

  record(ms: number): void {
    this.samples[this.next] = ms;
    this.next = (this.next + 1) % LATENCY_SAMPLES;
    if (this.count < LATENCY_SAMPLES) this.count++;
  }

  /** The 95th percentile of the kept samples, or `fallback` while there are too few. */
  p95(fallback: number): number {
    if (this.count < MIN_SAMPLES_FOR_P95) return fallback;
    const sorted = Array.from(this.samples.subarray(0, this.count)).sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.95) - 1)]!;
  }
}
