/**
 * The rows of the CPU-per-request tables (terminal report and docs/benchmarks.md markdown): one row per target,
 * one column per process role + the total of the serving roles and its ratio to nginx's total, wrk
 * (the client) last; and the thread split of the zeroproxy processes.
 */
import { CLIENT_ROLE } from './cpu.ts';
import type { BenchResults, WrkRecord } from './results-model.ts';
import { formatRatioSpread, medianRuns, METRICS, roundRatio } from './round-stats.ts';
import { SCENARIO_LABELS } from './scenarios.ts';
import type { TableRows } from './table-rows.ts';

/** Columns in request order: the proxy in front, the worker, the backend. Other roles follow. */
const ROLE_ORDER: readonly string[] = ['nginx', 'haproxy', 'router', 'worker', 'bridge', 'backend'];

/** The scenario the docs' CPU table and chart show: GET 1 KB at 50 connections. */
export const HEADLINE_CPU = { scenario: 'get-1kb', connections: 50 } as const satisfies Pick<WrkRecord, 'scenario' | 'connections'>;

const us = (x: number | undefined): string => (x === undefined ? '–' : x.toFixed(1));

export function hasCpu(run: WrkRecord): run is WrkRecord & { cpuUsPerRequest: Record<string, number>; cpuUsPerRequestTotal: number } {
  return run.cpuUsPerRequest !== undefined && run.cpuUsPerRequestTotal !== undefined;
}

/** The runs (medians over rounds) of `sample`'s scenario and connection count that carry CPU numbers. */
export function cpuRuns(r: BenchResults, sample: Pick<WrkRecord, 'scenario' | 'connections'>): WrkRecord[] {
  return medianRuns(r).filter((x) => x.scenario === sample.scenario && x.connections === sample.connections && hasCpu(x));
}

/** The serving roles (not wrk) that appear in `runs`, in column order. */
export function servingRoles(runs: readonly WrkRecord[]): string[] {
  const seen = new Set(runs.flatMap((x) => Object.keys(x.cpuUsPerRequest ?? {})).filter((role) => role !== CLIENT_ROLE));
  const known = ROLE_ORDER.filter((role) => seen.has(role));
  return [...known, ...[...seen].filter((role) => !ROLE_ORDER.includes(role)).sort()];
}

/** GET 1 KB at c=50 when it has CPU numbers, else the first run that has some (a --connections 1 run). */
export function headlineCpuSample(r: BenchResults): Pick<WrkRecord, 'scenario' | 'connections'> | undefined {
  return cpuRuns(r, HEADLINE_CPU).length > 0 ? HEADLINE_CPU : r.runs.find(hasCpu);
}

/** Every scenario (kind + connections) with CPU numbers, in run order. */
export function cpuSamples(r: BenchResults): WrkRecord[] {
  const seen = new Set<string>();
  return r.runs.filter(hasCpu).filter((x) => {
    const key = `${x.scenario}/${x.connections}`;
    return seen.has(key) ? false : (seen.add(key), true);
  });
}

/** What the numbers are, in one line, for under the tables. */
export const CPU_NOTE =
  'user + system CPU of all threads of each process (and its children), from /proc right before and after the measured run, ' +
  'divided by the requests wrk completed; total = the serving processes (wrk, the client, is not in it); ×nginx compares totals (lower is cheaper).';

export function cpuTitle(sample: Pick<WrkRecord, 'scenario' | 'connections'>): string {
  return `CPU per request (µs), ${SCENARIO_LABELS[sample.scenario]}, c=${sample.connections}`;
}

/** Medians over rounds; ×nginx is the median of per-round ratios of the totals, with its min–max. */
export function cpuRows(r: BenchResults, sample: Pick<WrkRecord, 'scenario' | 'connections'>): TableRows {
  const runs = cpuRuns(r, sample);
  const roles = servingRoles(runs);
  const withClient = runs.some((x) => x.cpuUsPerRequest?.[CLIENT_ROLE] !== undefined);
  const rows = runs.map((x) => [
    x.target,
    ...roles.map((role) => us(x.cpuUsPerRequest?.[role])),
    us(x.cpuUsPerRequestTotal),
    formatRatioSpread(roundRatio(r, x.target, sample, 'nginx', METRICS.cpuUsPerRequestTotal)),
    ...(withClient ? [us(x.cpuUsPerRequest?.[CLIENT_ROLE])] : []),
  ]);
  return { head: ['target', ...roles, 'total', '×nginx', ...(withClient ? [`${CLIENT_ROLE} (client)`] : [])], rows };
}

/** One row per process sampled by thread: µs per request on each kind of thread, and the main thread's share. */
export function threadRows(r: BenchResults, sample: Pick<WrkRecord, 'scenario' | 'connections'>): TableRows {
  const rows: string[][] = [];
  for (const x of cpuRuns(r, sample)) {
    for (const [role, t] of Object.entries(x.cpuThreadsUsPerRequest ?? {})) {
      const all = t.main + t.zmqIo + t.other;
      const share = all > 0 ? `${((t.main / all) * 100).toFixed(0)} %` : '–';
      rows.push([x.target, role, us(t.main), us(t.zmqIo), us(t.other), share]);
    }
  }
  return { head: ['target', 'process', 'main JS thread', 'ZeroMQ I/O thread', 'other threads', 'main share'], rows };
}
