/**
 * Numbers over interleaved rounds (--rounds), and ratios against the references (nginx → fastify,
 * and the direct backend). The host's speed drifts between phases, so one run per target can land
 * nginx in a fast phase and zeroproxy in a slow one: every value shown is the median over rounds,
 * and every ratio is taken per round (a target against the reference of the same round, seconds
 * apart) and then the median of those — never the ratio of two medians, which would mix phases
 * again. A round where either side has no record (a failed run) is left out of that ratio.
 *
 * req/s and MiB/s: a ratio above 1 beats the reference. Latency and CPU: above 1 is slower / costlier.
 */
import { CLIENT_ROLE, type ThreadSplit } from './cpu.ts';
import type { BenchResults, WrkRecord } from './results.ts';
import { TARGET_NAMES, type TargetName } from './targets/types.ts';

/** A value over rounds. */
export interface Spread {
  median: number;
  min: number;
  max: number;
  /** How many rounds it is over. */
  rounds: number;
}

export type ScenarioKey = Pick<WrkRecord, 'scenario' | 'connections'>;

/** One number of a run, or undefined when the run does not have it (CPU off Linux). */
export type Metric = (run: WrkRecord) => number | undefined;

/** The targets every ratio is taken against. */
export type Reference = 'nginx' | 'direct';

/** The numbers shown with ratios. */
export const METRICS = {
  requestsPerSec: (x: WrkRecord) => x.requestsPerSec,
  p50Ms: (x: WrkRecord) => x.p50Ms,
  p99Ms: (x: WrkRecord) => x.p99Ms,
  cpuUsPerRequestTotal: (x: WrkRecord) => x.cpuUsPerRequestTotal,
} as const satisfies Record<string, Metric>;
type MetricName = keyof typeof METRICS;

/** What latest.json keeps per target and scenario, next to every round's record. */
export interface WrkSummary extends ScenarioKey {
  target: TargetName;
  /** Rounds in which this target measured this scenario. */
  rounds: number;
  requestsPerSec: Spread | null;
  p50Ms: Spread | null;
  p99Ms: Spread | null;
  cpuUsPerRequestTotal: Spread | null;
  /** Errors summed over the rounds. */
  errors: number;
  /** Per-round ratios against each reference. */
  ratios: Record<Reference, Record<MetricName, Spread | null>>;
}

/** Middle value; the mean of the two middle ones for an even count; NaN for none. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  if (sorted.length === 0) return NaN;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Median, min and max of the finite values; null when there are none. */
export function spreadOf(values: readonly (number | undefined)[]): Spread | null {
  const finite = values.filter((v): v is number => v !== undefined && Number.isFinite(v));
  if (finite.length === 0) return null;
  return { median: median(finite), min: Math.min(...finite), max: Math.max(...finite), rounds: finite.length };
}

/** value ÷ reference; null without a (positive) reference. */
export function ratio(value: number, reference: number | undefined): number | null {
  return reference === undefined || reference <= 0 || !Number.isFinite(value) ? null : value / reference;
}

function sameScenario(a: ScenarioKey, b: ScenarioKey): boolean {
  return a.scenario === b.scenario && a.connections === b.connections;
}

/** Every round's record of one target in one scenario, in round order. */
function roundsOf(r: BenchResults, target: TargetName, key: ScenarioKey): WrkRecord[] {
  return r.runs.filter((x) => x.target === target && sameScenario(x, key)).sort((a, b) => a.round - b.round);
}

/** One number of one target in one scenario over its rounds. */
export function spreadOver(r: BenchResults, target: TargetName, key: ScenarioKey, metric: Metric): Spread | null {
  return spreadOf(roundsOf(r, target, key).map(metric));
}

/**
 * Median over rounds of target ÷ reference, each taken within one round. Rounds where either has
 * no record or no value (or the reference is 0) are left out; null when no round is left.
 */
export function roundRatio(r: BenchResults, target: TargetName, key: ScenarioKey, reference: TargetName, metric: Metric): Spread | null {
  const references = new Map(roundsOf(r, reference, key).map((x) => [x.round, metric(x)]));
  return spreadOf(roundsOf(r, target, key).map((x) => ratio(metric(x) ?? NaN, references.get(x.round)) ?? undefined));
}

/** Per key (CPU by role), the median over the rounds that have that key; undefined when none has any. */
function medianByKey(maps: readonly (Readonly<Record<string, number>> | undefined)[]): Record<string, number> | undefined {
  const present = maps.filter((m) => m !== undefined);
  if (present.length === 0) return undefined;
  const keys = [...new Set(present.flatMap((m) => Object.keys(m)))];
  return Object.fromEntries(keys.map((k) => [k, median(present.flatMap((m) => (m[k] === undefined ? [] : [m[k]])))]));
}

/** The typical round of one target in one scenario: every number its median over `rounds`, errors summed. */
function medianRecord(rounds: readonly WrkRecord[]): WrkRecord {
  const first = rounds[0]!;
  const mid = (metric: (x: WrkRecord) => number): number => median(rounds.map(metric));
  const cpu = medianByKey(rounds.map((x) => x.cpuUsPerRequest));
  const total = spreadOf(rounds.map((x) => x.cpuUsPerRequestTotal))?.median;
  const threadRoles = [...new Set(rounds.flatMap((x) => Object.keys(x.cpuThreadsUsPerRequest ?? {})))];
  const threads = Object.fromEntries(
    threadRoles.map((role): [string, ThreadSplit] => {
      const splits = rounds.flatMap((x) => x.cpuThreadsUsPerRequest?.[role] ?? []);
      return [role, { main: median(splits.map((t) => t.main)), zmqIo: median(splits.map((t) => t.zmqIo)), other: median(splits.map((t) => t.other)) }];
    }),
  );
  return {
    target: first.target,
    scenario: first.scenario,
    connections: first.connections,
    round: first.round,
    requestsPerSec: mid((x) => x.requestsPerSec),
    p50Ms: mid((x) => x.p50Ms),
    p75Ms: mid((x) => x.p75Ms),
    p90Ms: mid((x) => x.p90Ms),
    p99Ms: mid((x) => x.p99Ms),
    requests: mid((x) => x.requests),
    errors: rounds.reduce((sum, x) => sum + x.errors, 0),
    ...(cpu && { cpuUsPerRequest: cpu }),
    ...(total !== undefined && { cpuUsPerRequestTotal: total }),
    ...(threadRoles.length > 0 && { cpuThreadsUsPerRequest: threads }),
  };
}

/** Scenarios in the order they first ran. */
export function scenarioKeys(r: BenchResults): ScenarioKey[] {
  const keys: ScenarioKey[] = [];
  for (const x of r.runs) if (!keys.some((k) => sameScenario(k, x))) keys.push({ scenario: x.scenario, connections: x.connections });
  return keys;
}

/**
 * One median record per target and scenario — what every table and chart shows: scenarios in the
 * order they ran, targets in the report's order (a round's rotation does not reorder the rows).
 * With `key`, only that scenario's.
 */
export function medianRuns(r: BenchResults, key?: ScenarioKey): WrkRecord[] {
  return (key ? [key] : scenarioKeys(r)).flatMap((k) =>
    TARGET_NAMES.map((t) => roundsOf(r, t, k)).filter((rounds) => rounds.length > 0).map(medianRecord),
  );
}

/** The summary latest.json carries: per target and scenario, spreads over rounds and per-round ratios. */
export function summarizeRuns(r: BenchResults): WrkSummary[] {
  const names = Object.keys(METRICS) as MetricName[];
  return medianRuns(r).map((m) => {
    const over = (f: (metric: Metric) => Spread | null): Record<MetricName, Spread | null> =>
      Object.fromEntries(names.map((name) => [name, f(METRICS[name])])) as Record<MetricName, Spread | null>;
    const ratios = (reference: Reference): Record<MetricName, Spread | null> => over((metric) => roundRatio(r, m.target, m, reference, metric));
    return {
      target: m.target,
      scenario: m.scenario,
      connections: m.connections,
      rounds: roundsOf(r, m.target, m).length,
      ...over((metric) => spreadOver(r, m.target, m, metric)),
      errors: m.errors,
      ratios: { nginx: ratios('nginx'), direct: ratios('direct') },
    };
  });
}

/** Over several rounds that differ (a target against itself is always ×1.00: no range). */
function showRange(s: Spread): boolean {
  return s.rounds > 1 && s.min !== s.max;
}

/** "32,838" with one round; "32,838 (27,112–33,045)" (median, then min–max) over several. */
export function formatSpread(s: Spread | null, format: (n: number) => string): string {
  if (s === null) return '–';
  return showRange(s) ? `${format(s.median)} (${format(s.min)}–${format(s.max)})` : format(s.median);
}

/** "×0.75", or "×0.75 (0.70–0.80)" over several rounds with `withRange`; "–" without a reference. */
export function formatRatio(s: Spread | number | null, withRange = true): string {
  const spread = typeof s === 'number' ? spreadOf([s]) : s;
  if (spread === null) return '–';
  const two = (n: number): string => n.toFixed(2);
  return withRange && showRange(spread) ? `×${two(spread.median)} (${two(spread.min)}–${two(spread.max)})` : `×${two(spread.median)}`;
}

/** The scenario the docs' CPU table and chart show: GET 1 KB at 50 connections. */
const HEADLINE_CPU: ScenarioKey = { scenario: 'get-1kb', connections: 50 };
/** CPU columns in request order: the proxy in front, the worker, the backend. Other roles follow. */
const ROLE_ORDER: readonly string[] = ['nginx', 'haproxy', 'router', 'worker', 'bridge', 'backend'];

/** The median runs of one scenario that carry CPU numbers. */
export function cpuRuns(r: BenchResults, key: ScenarioKey): WrkRecord[] {
  return medianRuns(r, key).filter((x) => x.cpuUsPerRequestTotal !== undefined);
}

/** Every scenario with CPU numbers, in run order. */
export function cpuScenarios(r: BenchResults): ScenarioKey[] {
  return scenarioKeys(r).filter((key) => cpuRuns(r, key).length > 0);
}

/** GET 1 KB at c=50 when it has CPU numbers, else the first scenario that has some (a --connections 1 run). */
export function headlineCpuScenario(r: BenchResults): ScenarioKey | undefined {
  const all = cpuScenarios(r);
  return all.find((key) => sameScenario(key, HEADLINE_CPU)) ?? all[0];
}

/** The serving roles (not wrk) that appear in `runs`, in column order. */
export function servingRoles(runs: readonly WrkRecord[]): string[] {
  const seen = new Set(runs.flatMap((x) => Object.keys(x.cpuUsPerRequest ?? {})).filter((role) => role !== CLIENT_ROLE));
  return [...ROLE_ORDER.filter((role) => seen.has(role)), ...[...seen].filter((role) => !ROLE_ORDER.includes(role)).sort()];
}
