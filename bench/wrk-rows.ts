/** The rows of one wrk scenario's comparison table, shared by the terminal report and the markdown. */
import { findRun, formatRatio, ratio } from './ratios.ts';
import type { BenchResults, WrkRecord } from './results-model.ts';

const num = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

export interface WrkTable {
  head: string[];
  rows: string[][];
}

/**
 * req/s, p50 and p99 per target, each with its ratio to nginx and to direct, for the runs that share
 * `sample`'s scenario and connection count. `p99VsDirect: false` leaves out the p99 ×direct column
 * (the README table keeps to the ratios the targets are stated in).
 */
export function wrkRows(r: BenchResults, sample: WrkRecord, p99VsDirect: boolean): WrkTable {
  const nginx = findRun(r, 'nginx', sample);
  const direct = findRun(r, 'direct', sample);
  const rows = r.runs
    .filter((x) => x.scenario === sample.scenario && x.connections === sample.connections)
    .map((x) => [
      x.target,
      num.format(x.requestsPerSec),
      formatRatio(ratio(x.requestsPerSec, nginx?.requestsPerSec)),
      formatRatio(ratio(x.requestsPerSec, direct?.requestsPerSec)),
      x.p50Ms.toFixed(3),
      formatRatio(ratio(x.p50Ms, nginx?.p50Ms)),
      formatRatio(ratio(x.p50Ms, direct?.p50Ms)),
      x.p99Ms.toFixed(3),
      formatRatio(ratio(x.p99Ms, nginx?.p99Ms)),
      ...(p99VsDirect ? [formatRatio(ratio(x.p99Ms, direct?.p99Ms))] : []),
      String(x.errors),
    ]);
  const head = ['target', 'req/s', '×nginx', '×direct', 'p50 ms', '×nginx', '×direct', 'p99 ms', '×nginx', ...(p99VsDirect ? ['×direct'] : []), 'errors'];
  return { head, rows };
}
