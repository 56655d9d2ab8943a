/**
 * The order of measurements over targets that are all running at once: for each wrk scenario, for
 * each round, every target once — so the runs a ratio compares (a target against nginx or direct
 * in the same round) are seconds apart, not minutes, and a change of the host's speed between
 * phases hits both. Each round starts one target further on, so no target is always measured
 * first (right after another scenario's last run) or last. The downloads follow, once per target.
 * A failed run is recorded and the next one runs: never throws.
 */
import { measureDownload, measureWrkRound, type Measured, type MeasurePlan, type StartedTarget } from './measure-target.ts';
import type { DownloadScenario } from './scenarios.ts';

/** `items` rotated left by round − 1 (round 1: as given; round 2: from the second; …). */
export function roundOrder<T>(items: readonly T[], round: number): T[] {
  if (items.length === 0) return [];
  const start = (round - 1) % items.length;
  return [...items.slice(start), ...items.slice(0, start)];
}

export async function measureRounds(plan: MeasurePlan, targets: readonly StartedTarget[], download: DownloadScenario | null): Promise<Measured> {
  const out: Measured = { runs: [], downloads: [], failures: [] };
  for (const scenario of plan.wrk) {
    for (let round = 1; round <= plan.rounds; round++) {
      for (const target of roundOrder(targets, round)) await measureWrkRound(plan, target, scenario, round, out);
    }
  }
  if (download !== null) {
    for (const target of targets) await measureDownload(plan, target, download, out);
  }
  return out;
}
