/** --rounds: medians, per-round ratios, the rotation of targets, and how the tables show ranges — on hand-made records. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CommanderError } from 'commander';
import { roundOrder } from '../measure.ts';
import { parseBenchOptions } from '../options.ts';
import { renderMarkdown, renderReport } from '../report.ts';
import type { BenchResults, WrkRecord } from '../results.ts';
import { median, medianRuns, METRICS, roundRatio, spreadOf, summarizeRuns } from '../stats.ts';
import { renderCpuSvg, renderRequestsSvg } from '../svg.ts';
import type { TargetName } from '../targets/types.ts';
import { benchResults, wrkRun } from './fixtures.ts';

const GET50 = { scenario: 'get-1kb', connections: 50 } as const;

function run(target: TargetName, round: number, requestsPerSec: number, p50Ms: number, cpuTotal?: number): WrkRecord {
  const cpu = cpuTotal === undefined ? undefined : { [target === 'nginx' ? 'nginx' : 'router']: cpuTotal, wrk: 9 };
  return wrkRun(target, { round, requestsPerSec, p50Ms, ...(cpu && { cpu }) });
}

function results(runs: WrkRecord[], failures: BenchResults['failures'] = []): BenchResults {
  return benchResults(runs, { failures, date: '2026-11-28T10:00:00.000Z' });
}

/**
 * Three rounds, the host slower in round 2. zeroproxy-sdk ÷ nginx per round: 0.75, 0.80, 0.90 →
 * median 0.80; the ratio of the medians (30,000 ÷ 36,000 = 0.83) would be a different number.
 * CPU totals per round 38/25, 39/30, 40/20 → 1.52, 1.30, 2.00 → median 1.52 (medians: 39/25 = 1.56).
 */
function threeRounds(): BenchResults {
  return results([
    run('nginx', 1, 40_000, 1.0, 25),
    run('zeroproxy-sdk', 1, 30_000, 2.0, 38),
    run('zeroproxy-sdk', 2, 24_000, 2.4, 39),
    run('nginx', 2, 30_000, 1.2, 30),
    run('nginx', 3, 36_000, 1.1, 20),
    run('zeroproxy-sdk', 3, 32_400, 2.2, 40),
  ]);
}

test('median: the middle value, the mean of the two middle ones for an even count; spreads skip missing values', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([7]), 7);
  assert.ok(Number.isNaN(median([])));
  assert.deepEqual(spreadOf([30, undefined, 10, NaN, 20]), { median: 20, min: 10, max: 30, rounds: 3 });
  assert.equal(spreadOf([undefined]), null);
});

test('rounds rotate the starting target, so no target is always first', () => {
  const targets = ['direct', 'nginx', 'zeroproxy-sdk'];
  assert.deepEqual(roundOrder(targets, 1), ['direct', 'nginx', 'zeroproxy-sdk']);
  assert.deepEqual(roundOrder(targets, 2), ['nginx', 'zeroproxy-sdk', 'direct']);
  assert.deepEqual(roundOrder(targets, 3), ['zeroproxy-sdk', 'direct', 'nginx']);
  assert.deepEqual(roundOrder(targets, 4), targets);
  assert.deepEqual(roundOrder([], 2), []);
});

test('odd rounds: medians of each number, ratios taken per round then their median', () => {
  const r = threeRounds();
  const ratio = roundRatio(r, 'zeroproxy-sdk', GET50, 'nginx', METRICS.requestsPerSec);
  assert.ok(ratio !== null);
  assert.equal(ratio.median.toFixed(4), '0.8000');
  assert.deepEqual([ratio.min.toFixed(2), ratio.max.toFixed(2), ratio.rounds], ['0.75', '0.90', 3]);
  const medians = medianRuns(r);
  assert.deepEqual(medians.map((x) => [x.target, x.requestsPerSec, x.p50Ms, x.cpuUsPerRequestTotal]), [
    ['nginx', 36_000, 1.1, 25],
    ['zeroproxy-sdk', 30_000, 2.2, 39],
  ]);
  const sdk = summarizeRuns(r).find((s) => s.target === 'zeroproxy-sdk')!;
  assert.deepEqual(sdk.requestsPerSec, { median: 30_000, min: 24_000, max: 32_400, rounds: 3 });
  assert.equal(sdk.ratios.nginx.cpuUsPerRequestTotal?.median.toFixed(2), '1.52');
  assert.equal(sdk.ratios.direct.requestsPerSec, null, 'no direct in this run');
});

test('even rounds: the median is the mean of the two middle rounds, for values and for ratios', () => {
  const r = results([
    ...threeRounds().runs,
    run('nginx', 4, 20_000, 1.5),
    run('zeroproxy-sdk', 4, 19_000, 3.0),
  ]);
  // Per round: 0.75, 0.80, 0.90, 0.95 → (0.80 + 0.90) / 2.
  assert.equal(roundRatio(r, 'zeroproxy-sdk', GET50, 'nginx', METRICS.requestsPerSec)?.median.toFixed(4), '0.8500');
  const [nginx, sdk] = medianRuns(r);
  assert.equal(nginx?.requestsPerSec, 33_000);
  assert.equal(sdk?.requestsPerSec, 27_000);
  // CPU: round 4 has none, so the CPU ratio is over the three rounds that have it.
  assert.equal(roundRatio(r, 'zeroproxy-sdk', GET50, 'nginx', METRICS.cpuUsPerRequestTotal)?.rounds, 3);
});

test('a round where a target or the reference failed is left out of that round\'s ratio; no common round gives "–", never a crash', () => {
  const r = results(
    [
      run('nginx', 1, 40_000, 1.0),
      run('zeroproxy-sdk', 1, 30_000, 2.0),
      // Round 2: zeroproxy-sdk failed. Round 3: nginx failed.
      run('nginx', 2, 30_000, 1.2),
      run('zeroproxy-sdk', 3, 32_400, 2.2),
      // haproxy only measured in round 2: one common round with nginx.
      run('haproxy', 2, 33_000, 1.1),
      // direct only in round 3, where nginx failed: no common round at all.
      run('direct', 3, 50_000, 0.5),
    ],
    [
      { target: 'zeroproxy-sdk', scenario: 'GET 1 KB, c=50', round: 2, error: 'wrk: 12 errors\nmore' },
      { target: 'nginx', scenario: 'GET 1 KB, c=50', round: 3, error: 'check failed' },
    ],
  );
  const sdk = roundRatio(r, 'zeroproxy-sdk', GET50, 'nginx', METRICS.requestsPerSec);
  assert.deepEqual(sdk, { median: 0.75, min: 0.75, max: 0.75, rounds: 1 });
  assert.equal(roundRatio(r, 'direct', GET50, 'nginx', METRICS.requestsPerSec), null);
  assert.equal(roundRatio(r, 'haproxy', GET50, 'nginx', METRICS.requestsPerSec)?.median, 1.1);

  const text = renderReport(r);
  const row = (name: string): string[] => text.split('\n').find((l) => l.startsWith(name))!.trim().split(/\s{2,}/);
  // One common round: the ratio has no range; req/s still shows its two rounds.
  assert.deepEqual(row('zeroproxy-sdk').slice(0, 3), ['zeroproxy-sdk', '31,200 (30,000–32,400)', '×0.75']);
  assert.deepEqual(row('direct').slice(0, 4), ['direct', '50,000', '–', '×1.00']);
  assert.match(text, /zeroproxy-sdk \/ GET 1 KB, c=50 \(round 2\/3\): failed \(wrk: 12 errors\)/);
  assert.match(renderMarkdown(r), /nginx \/ GET 1 KB, c=50 \(round 3\/3\): failed \(check failed\)/);
  assert.ok(renderRequestsSvg(r).trimEnd().endsWith('</svg>'));
});

test('markdown over several rounds: medians with (min–max) for req/s and its ratios, CPU ×nginx with its range, and a note on the rounds', () => {
  const md = renderMarkdown(threeRounds());
  const lines = md.split('\n');
  assert.ok(
    lines.includes('| zeroproxy-sdk | 30,000 (24,000–32,400) | ×0.80 (0.75–0.90) | – | 2.200 | ×2.00 | – | 6.600 | ×2.00 | 0 |'),
    md,
  );
  assert.ok(lines.includes('| nginx | 36,000 (30,000–40,000) | ×1.00 | – | 1.100 | ×1.00 | – | 3.300 | ×1.00 | 0 |'), md);
  assert.ok(lines.includes('| zeroproxy-sdk | – | 39.0 | 39.0 | ×1.52 (1.30–2.00) | 9.0 |'), md);
  assert.match(md, /^> 3 interleaved rounds: .*values are medians over the rounds, \(min–max\) in parentheses; ratios are the median of per-round ratios/m);
  // The charts show medians: the bar's label is the median of per-round ratios.
  assert.match(renderRequestsSvg(threeRounds()), />×0\.80</);
  assert.match(renderRequestsSvg(threeRounds()), /median of 3 interleaved rounds of 4 s per bar/);
  assert.match(renderCpuSvg(threeRounds()), />39\.0 µs ×1\.52</);
});

test('one round: plain numbers, no ranges, a note suggesting --rounds 3', () => {
  const md = renderMarkdown(results([run('nginx', 1, 40_000, 1.0), run('zeroproxy-sdk', 1, 30_000, 2.0)]));
  assert.ok(md.split('\n').includes('| zeroproxy-sdk | 30,000 | ×0.75 | – | 2.000 | ×2.00 | – | 6.000 | ×2.00 | 0 |'), md);
  assert.match(md, /^> one round: every value is a single measurement/m);
});

test('--rounds: default 1 (also with --quick), 1..20, anything else a CommanderError', () => {
  assert.equal(parseBenchOptions([], '/tmp/x').rounds, 1);
  assert.equal(parseBenchOptions(['--quick'], '/tmp/x').rounds, 1);
  assert.equal(parseBenchOptions(['--rounds', '3'], '/tmp/x').rounds, 3);
  assert.equal(parseBenchOptions(['--rounds', '20'], '/tmp/x').rounds, 20);
  const stderr = process.stderr.write;
  process.stderr.write = () => true; // commander prints the one-line error; keep test output clean
  try {
    for (const bad of ['0', '21', 'x', '2.5']) assert.throws(() => parseBenchOptions(['--rounds', bad], '/tmp/x'), CommanderError, bad);
  } finally {
    process.stderr.write = stderr;
  }
});
