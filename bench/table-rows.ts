/**
 * The rows of the bench's comparison tables, shared by the terminal report (`detail: true`, every
 * column) and the README markdown (`detail: false`, the columns the targets are stated in).
 */
import { findDownload, findRun, formatRatio, ratio } from './ratios.ts';
import type { BenchResults, WrkRecord } from './results-model.ts';

const num = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

export interface TableRows {
  head: string[];
  rows: string[][];
}

/**
 * req/s, p50 and p99 per target, each with its ratio to nginx and to direct, for the runs that share
 * `sample`'s scenario and connection count. Without detail the p99 ×direct column is left out.
 */
export function wrkRows(r: BenchResults, sample: WrkRecord, detail: boolean): TableRows {
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
      ...(detail ? [formatRatio(ratio(x.p99Ms, direct?.p99Ms))] : []),
      String(x.errors),
    ]);
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
