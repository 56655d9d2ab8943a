/**
 * Numbers over interleaved rounds (--rounds): the host's speed drifts between phases, so one run
 * per target can land nginx in a fast phase and zeroproxy in a slow one. Every value shown is the
 * median over rounds, and every ratio is taken per round (a target against the reference measured
 * minutes apart at most, in the same round) and then the median of those ratios — never the ratio
 * of two medians, which would mix phases again. A round where either side has no record (a failed
 * run) is left out of that ratio.
 */
import type { ThreadSplit } from './cpu.ts';
import type { Reference } from './ratios.ts';
import type { BenchResults, WrkRecord } from './results-model.ts';
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

/** Per-round ratios against one reference. */
export interface RoundRatios {
  requestsPerSec: Spread | null;
  p50Ms: Spread | null;
  p99Ms: Spread | null;
  cpuUsPerRequestTotal: Spread | null;
}

/** What latest.json keeps per target and scenario, next to every round's record. */
export interface WrkSummary extends ScenarioKey {
  target: TargetName;
  /** Rounds in which this target measured this scenario. */
  rounds: number;
  requestsPerSec: Spread;
  p50Ms: Spread;
  p99Ms: Spread;
  cpuUsPerRequestTotal: Spread | null;
  /** Errors summed over the rounds. */
  errors: number;
  ratios: Record<Reference, RoundRatios>;
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

/** Rounds of the run (settings.rounds; 1 in results written before --rounds). */
export function roundCount(r: BenchResults): number {
  return r.settings.rounds ?? 1;
}

export function roundOf(run: WrkRecord): number {
  return run.round ?? 1;
}

function sameScenario(a: ScenarioKey, b: ScenarioKey): boolean {
  return a.scenario === b.scenario && a.connections === b.connections;
}

/** Every round's record of one target in one scenario, in round order. */
export function roundsOf(r: BenchResults, target: TargetName, key: ScenarioKey): WrkRecord[] {
  return r.runs.filter((x) => x.target === target && sameScenario(x, key)).sort((a, b) => roundOf(a) - roundOf(b));
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
  const references = new Map(roundsOf(r, reference, key).map((x) => [roundOf(x), metric(x)]));
  const ratios = roundsOf(r, target, key).map((x) => {
    const value = metric(x);
    const ref = references.get(roundOf(x));
    return value === undefined || ref === undefined || ref <= 0 ? undefined : value / ref;
  });
  return spreadOf(ratios);
}

function medianOf(runs: readonly WrkRecord[], metric: Metric): number | undefined {
  return spreadOf(runs.map(metric))?.median;
}

/** Per key (CPU by role), the median over the rounds that have that key; undefined when none has any. */
function medianByKey(maps: readonly (Record<string, number> | undefined)[]): Record<string, number> | undefined {
  const present = maps.filter((m): m is Record<string, number> => m !== undefined);
  if (present.length === 0) return undefined;
  const keys = [...new Set(present.flatMap((m) => Object.keys(m)))];
  return Object.fromEntries(keys.map((k) => [k, median(present.flatMap((m) => (m[k] === undefined ? [] : [m[k]])))]));
}

/** The thread split of each role sampled by thread, field by field, over the rounds that have it. */
function medianThreads(rounds: readonly WrkRecord[]): Record<string, ThreadSplit> | undefined {
  const roles = [...new Set(rounds.flatMap((x) => Object.keys(x.cpuThreadsUsPerRequest ?? {})))];
  if (roles.length === 0) return undefined;
  return Object.fromEntries(
    roles.map((role) => {
      const splits = rounds.flatMap((x) => x.cpuThreadsUsPerRequest?.[role] ?? []);
      return [role, { main: median(splits.map((t) => t.main)), zmqIo: median(splits.map((t) => t.zmqIo)), other: median(splits.map((t) => t.other)) }];
    }),
  );
}

/** The typical round of one target in one scenario: every number its median over `rounds`, errors summed. */
export function medianRecord(rounds: readonly WrkRecord[]): WrkRecord {
  const first = rounds[0]!;
  const mid = (metric: (x: WrkRecord) => number): number => medianOf(rounds, metric) ?? NaN;
  const cpu = medianByKey(rounds.map((x) => x.cpuUsPerRequest));
  const total = medianOf(rounds, (x) => x.cpuUsPerRequestTotal);
  const threads = medianThreads(rounds);
  return {
    target: first.target,
    scenario: first.scenario,
    connections: first.connections,
    requestsPerSec: mid((x) => x.requestsPerSec),
    p50Ms: mid((x) => x.p50Ms),
    p75Ms: mid((x) => x.p75Ms),
    p90Ms: mid((x) => x.p90Ms),
    p99Ms: mid((x) => x.p99Ms),
    requests: mid((x) => x.requests),
    errors: rounds.reduce((sum, x) => sum + x.errors, 0),
    ...(cpu === undefined ? {} : { cpuUsPerRequest: cpu }),
    ...(total === undefined ? {} : { cpuUsPerRequestTotal: total }),
    ...(threads === undefined ? {} : { cpuThreadsUsPerRequest: threads }),
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
 */
export function medianRuns(r: BenchResults): WrkRecord[] {
  return scenarioKeys(r).flatMap((key) =>
    TARGET_NAMES.map((t) => roundsOf(r, t, key)).filter((rounds) => rounds.length > 0).map(medianRecord),
  );
}

/** The median record of one target in one scenario (a reference's, for its line on a chart). */
export function findMedianRun(r: BenchResults, target: TargetName, key: ScenarioKey): WrkRecord | undefined {
  const rounds = roundsOf(r, target, key);
  return rounds.length === 0 ? undefined : medianRecord(rounds);
}

/** The numbers shown with ratios. */
export const METRICS = {
  requestsPerSec: (x: WrkRecord) => x.requestsPerSec,
  p50Ms: (x: WrkRecord) => x.p50Ms,
  p99Ms: (x: WrkRecord) => x.p99Ms,
  cpuUsPerRequestTotal: (x: WrkRecord) => x.cpuUsPerRequestTotal,
} as const satisfies Record<keyof RoundRatios, Metric>;

/** The summary latest.json carries: per target and scenario, spreads over rounds and per-round ratios. */
export function summarizeRuns(r: BenchResults): WrkSummary[] {
  return medianRuns(r).map((m) => {
    const over = (metric: Metric): Spread | null => spreadOver(r, m.target, m, metric);
    const ratios = (reference: Reference): RoundRatios => ({
      requestsPerSec: roundRatio(r, m.target, m, reference, METRICS.requestsPerSec),
      p50Ms: roundRatio(r, m.target, m, reference, METRICS.p50Ms),
      p99Ms: roundRatio(r, m.target, m, reference, METRICS.p99Ms),
      cpuUsPerRequestTotal: roundRatio(r, m.target, m, reference, METRICS.cpuUsPerRequestTotal),
    });
    return {
      target: m.target,
      scenario: m.scenario,
      connections: m.connections,
      rounds: roundsOf(r, m.target, m).length,
      requestsPerSec: over(METRICS.requestsPerSec)!,
      p50Ms: over(METRICS.p50Ms)!,
      p99Ms: over(METRICS.p99Ms)!,
      cpuUsPerRequestTotal: over(METRICS.cpuUsPerRequestTotal),
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

/** "×0.75", or "×0.75 (0.70–0.80)" over several rounds; "–" without a reference. */
export function formatRatioSpread(s: Spread | null, withRange = true): string {
  if (s === null) return '–';
  const two = (n: number): string => n.toFixed(2);
  return withRange && showRange(s) ? `×${two(s.median)} (${two(s.min)}–${two(s.max)})` : `×${two(s.median)}`;
}

/** One line for the report and the docs/benchmarks.md block: how many rounds, and what the numbers are. */
export function roundsNote(r: BenchResults): string {
  const n = roundCount(r);
  if (n <= 1) return 'one round: every value is a single measurement (on a shared machine `--rounds 3` gives medians of interleaved rounds).';
  return (
    `${n} interleaved rounds: every target measured each scenario once per round, back to back, the starting target rotated each round; ` +
    'values are medians over the rounds, (min–max) in parentheses; ratios are the median of per-round ratios (each target against the reference of the same round).'
  );
}
