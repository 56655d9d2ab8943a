/**
 * Quantiles from histogram buckets, the way Prometheus' histogram_quantile() estimates them: find the
 * bucket holding the rank and interpolate linearly inside it. Exact to within one bucket's width.
 */

/**
 * `counts[i]` = observations in bucket i alone (not cumulative): (bounds[i-1], bounds[i]], with a
 * last slot for everything above the highest bound. Returns null when there are no observations.
 * A quantile that falls in the overflow slot is reported as the highest bound (a lower bound on it).
 */
export function quantileFromBuckets(q: number, bounds: readonly number[], counts: readonly number[]): number | null {
  let total = 0;
  for (const c of counts) total += c;
  if (total <= 0) return null;
  const rank = Math.min(Math.max(q, 0), 1) * total;
  let below = 0;
  for (let i = 0; i < counts.length; i++) {
    const inBucket = counts[i]!;
    if (inBucket > 0 && below + inBucket >= rank) {
      if (i >= bounds.length) return bounds[bounds.length - 1] ?? null;
      const lower = i === 0 ? 0 : bounds[i - 1]!;
      const upper = bounds[i]!;
      return lower + ((upper - lower) * (rank - below)) / inBucket;
    }
    below += inBucket;
  }
  return bounds[bounds.length - 1] ?? null;
}

/** Per-bucket counts between two cumulative snapshots (later − earlier), never negative. */
export function bucketDelta(later: readonly number[], earlier: readonly number[]): number[] {
  const out = new Array<number>(later.length);
  let prevLater = 0;
  let prevEarlier = 0;
  for (let i = 0; i < later.length; i++) {
    // Cumulative → per-bucket for each snapshot, then the difference.
    const a = later[i]! - prevLater;
    const b = (earlier[i] ?? 0) - prevEarlier;
    prevLater = later[i]!;
    prevEarlier = earlier[i] ?? 0;
    out[i] = Math.max(0, a - b);
  }
  return out;
}
