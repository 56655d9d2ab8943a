/**
 * Ratios against the references (nginx → fastify, and the direct backend) for the same scenario.
 * req/s and MB/s: higher is better, ratio > 1 beats the reference. Latency: ratio > 1 is slower.
 * wrk runs over several rounds: round-stats.ts (`roundRatio`, ratios taken within each round).
 */
import type { BenchResults, DownloadRecord } from './results-model.ts';
import type { TargetName } from './targets/types.ts';

export const REFERENCES = ['nginx', 'direct'] as const satisfies readonly TargetName[];
export type Reference = (typeof REFERENCES)[number];

export function ratio(value: number, reference: number | undefined): number | null {
  return reference === undefined || reference <= 0 || !Number.isFinite(value) ? null : value / reference;
}

export function findDownload(results: BenchResults, target: TargetName): DownloadRecord | undefined {
  return results.downloads.find((d) => d.target === target);
}

export function formatRatio(r: number | null): string {
  return r === null ? '–' : `×${r.toFixed(2)}`;
}
