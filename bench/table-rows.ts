/**
 * The rows of the bench's comparison tables, shared by the terminal report (`detail: true`, every
 * column) and the docs/benchmarks.md markdown (`detail: false`, the columns the targets are stated in).
 */
import { findDownload, formatRatio, ratio, type Reference } from './ratios.ts';
import type { BenchResults, FailureRecord } from './results-model.ts';
import { formatRatioSpread, formatSpread, medianRuns, METRICS, roundCount, roundRatio, spreadOver, type Metric, type ScenarioKey } from './round-stats.ts';

const num = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

export interface TableRows {
  head: string[];
  rows: string[][];
}

/**
 * req/s, p50 and p99 per target, each with its ratio to nginx and to direct, for the runs that share
 * `sample`'s scenario and connection count. Values are medians over rounds, ratios the median of
 * per-round ratios (round-stats.ts); over several rounds req/s and its ratios carry their min–max
 * (the latency ratios only their median, to keep the table readable — the JSON has all ranges).
 * Without detail the p99 ×direct column is left out.
 */
export function wrkRows(r: BenchResults, sample: ScenarioKey, detail: boolean): TableRows {
  const rows = medianRuns(r)
    .filter((x) => x.scenario === sample.scenario && x.connections === sample.connections)
    .map((x) => {
      const versus = (reference: Reference, metric: Metric, withRange: boolean): string =>
        formatRatioSpread(roundRatio(r, x.target, sample, reference, metric), withRange);
      const { requestsPerSec: rps, p50Ms: p50, p99Ms: p99 } = METRICS;
      return [
        x.target,
        formatSpread(spreadOver(r, x.target, sample, rps), (n) => num.format(n)),
        versus('nginx', rps, true),
        versus('direct', rps, true),
        x.p50Ms.toFixed(3),
        versus('nginx', p50, false),
        versus('direct', p50, false),
        x.p99Ms.toFixed(3),
        versus('nginx', p99, false),
        ...(detail ? [versus('direct', p99, false)] : []),
        String(x.errors),
      ];
    });
  const head = ['target', 'req/s', '×nginx', '×direct', 'p50 ms', '×nginx', '×direct', 'p99 ms', '×nginx', ...(detail ? ['×direct'] : []), 'errors'];
  return { head, rows };
}

const mib = (x: number | null): string => (x === null ? '–' : x.toFixed(1));

/** MiB/s per target with ratios, and the front process's RSS growth (with detail: its start and peak too). */
export function downloadRows(r: BenchResults, detail: boolean): TableRows {
  const nginx = findDownload(r, 'nginx');
  const direct = findDownload(r, 'direct');
  const rows = r.downloads.map((d) => [
    d.target,
    d.mibPerSec.toFixed(0),
    formatRatio(ratio(d.mibPerSec, nginx?.mibPerSec)),
    formatRatio(ratio(d.mibPerSec, direct?.mibPerSec)),
    ...(detail ? [mib(d.frontRssStartMiB), mib(d.frontRssPeakMiB)] : []),
    d.frontRssStartMiB === null || d.frontRssPeakMiB === null ? '–' : mib(d.frontRssPeakMiB - d.frontRssStartMiB),
  ]);
  const head = detail
    ? ['target', 'MiB/s', '×nginx', '×direct', 'front RSS MiB', 'peak', 'growth']
    : ['target', 'MiB/s', '×nginx', '×direct', 'front RSS growth MiB'];
  return { head, rows };
}

/** req/s per worker count against the ideal (with detail: also against one worker). */
export function scalingRows(r: BenchResults, detail: boolean): TableRows {
  const s = r.scaling ?? [];
  const first = s[0];
  const rows = s.map((x) => [
    String(x.workers),
    num.format(x.requestsPerSec),
    num.format(x.idealRequestsPerSec),
    formatRatio(ratio(x.requestsPerSec, x.idealRequestsPerSec)),
    ...(detail ? [formatRatio(ratio(x.requestsPerSec, first?.requestsPerSec))] : []),
    x.p50Ms.toFixed(2),
    x.p99Ms.toFixed(2),
    String(x.errors),
  ]);
  const head = ['workers', 'req/s', 'ideal', '×ideal', ...(detail ? ['×1 worker'] : []), 'p50 ms', 'p99 ms', 'errors'];
  return { head, rows };
}

/** "nginx / GET 1 KB, c=50" — with its round when the run had several. */
export function failureName(r: BenchResults, f: FailureRecord): string {
  return `${f.target} / ${f.scenario}${f.round !== undefined && roundCount(r) > 1 ? ` (round ${f.round}/${roundCount(r)})` : ''}`;
}
