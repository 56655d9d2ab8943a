/** Ratios, the text report and the SVG chart, on a hand-made result set. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { escapeXml, renderChartSvg } from '../chart-svg.ts';
import { formatRatio, ratio } from '../ratios.ts';
import { renderMarkdown } from '../markdown.ts';
import { renderReport } from '../report.ts';
import { renderScalingSvg } from '../scaling-svg.ts';
import { resultsBaseName } from '../results-file.ts';
import type { BenchResults, WrkRecord } from '../results-model.ts';
import type { TargetName } from '../targets/types.ts';

function run(target: TargetName, connections: number, requestsPerSec: number, p50Ms: number, p99Ms: number): WrkRecord {
  return { target, scenario: 'get-1kb', connections, requestsPerSec, p50Ms, p75Ms: p50Ms, p90Ms: p99Ms, p99Ms, requests: requestsPerSec * 10, errors: 0 };
}

function sample(): BenchResults {
  return {
    date: '2026-11-27T20:01:02.123Z',
    quick: false,
    settings: { durationSec: 10, warmupSec: 3, connections: [1, 50], downloadBytes: 100 * 2 ** 20, workerCapacity: 256, wrkThreads: 1 },
    machine: { cpuModel: 'Test <CPU> & co', cores: 2, os: 'Linux', memoryGiB: 8, loadAverage: 0.1 },
    versions: { node: 'v20', zeroproxy: '0.1.0', nginx: '1.22.1', haproxy: '2.6', wrk: '4.1.0' },
    notes: ['2 cores shared'],
    targets: [
      { name: 'direct', description: 'd', status: 'ok' },
      { name: 'nginx', description: 'n', status: 'ok' },
      { name: 'haproxy', description: 'h', status: 'skipped', reason: 'haproxy not installed' },
      { name: 'zeroproxy-sdk', description: 'z', status: 'ok' },
    ],
    runs: [
      run('direct', 50, 60_000, 0.5, 2),
      run('nginx', 50, 40_000, 1, 4),
      run('zeroproxy-sdk', 50, 30_000, 2, 6),
      run('direct', 1, 12_000, 0.08, 0.2),
      run('nginx', 1, 8_000, 0.11, 0.3),
    ],
    downloads: [
      { target: 'direct', bytes: 100 * 2 ** 20, seconds: 0.1, mibPerSec: 1000, frontRssStartMiB: 100, frontRssPeakMiB: 101 },
      { target: 'nginx', bytes: 100 * 2 ** 20, seconds: 0.2, mibPerSec: 500, frontRssStartMiB: 15, frontRssPeakMiB: 15 },
    ],
    failures: [{ target: 'zeroproxy-sdk', scenario: 'download 100 MiB', error: 'download answered 502\nmore' }],
  };
}

test('ratio: value over reference; missing or zero reference gives null', () => {
  assert.equal(ratio(30, 40), 0.75);
  assert.equal(ratio(30, undefined), null);
  assert.equal(ratio(30, 0), null);
  assert.equal(formatRatio(0.75), '×0.75');
  assert.equal(formatRatio(null), '–');
});

test('the report has one table per scenario with ratios to nginx and direct, and lists what was not measured', () => {
  const text = renderReport(sample());
  assert.match(text, /GET 1 KB, 50 connections/);
  assert.match(text, /GET 1 KB, 1 connection\n/);
  const sdkRow = text.split('\n').find((l) => l.startsWith('zeroproxy-sdk') && l.includes('30,000'));
  assert.ok(sdkRow, text);
  // req/s ×nginx 0.75, ×direct 0.50; p50 ×nginx 2.00, ×direct 4.00; p99 ×nginx 1.50, ×direct 3.00.
  assert.deepEqual(sdkRow.match(/×\d+\.\d+/g), ['×0.75', '×0.50', '×2.00', '×4.00', '×1.50', '×3.00']);
  assert.match(text, /haproxy: skipped — haproxy not installed/);
  assert.match(text, /zeroproxy-sdk \/ download 100 MiB: download answered 502$/m);
  assert.match(text, /Streaming download 100 MiB/);
  assert.match(text, /2 cores shared/);
});

test('the SVG has one bar per run, labels with ratios to nginx, escaped text, balanced tags', () => {
  const svg = renderChartSvg(sample());
  assert.ok(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'));
  assert.equal((svg.match(/<rect [^>]*><title>/g) ?? []).length, 5);
  assert.match(svg, />×0\.75</);
  assert.match(svg, /Test &lt;CPU&gt; &amp; co/);
  assert.ok(!svg.includes('<CPU>'));
  for (const tag of ['svg', 'text', 'title']) {
    const open = (svg.match(new RegExp(`<${tag}[ >]`, 'g')) ?? []).length;
    const close = (svg.match(new RegExp(`</${tag}>`, 'g')) ?? []).length;
    assert.equal(open, close, `<${tag}> balanced`);
  }
  // Two nginx reference lines (one per group that has nginx).
  assert.equal((svg.match(/stroke-dasharray/g) ?? []).length, 2);
});

test('an empty run still renders a valid chart', () => {
  const svg = renderChartSvg({ ...sample(), runs: [] });
  assert.match(svg, /no wrk results/);
  assert.ok(svg.trimEnd().endsWith('</svg>'));
});

test('helpers: xml escaping and result file names', () => {
  assert.equal(escapeXml(`a<b>&"'`), 'a&lt;b&gt;&amp;&quot;&apos;');
  assert.equal(resultsBaseName('2026-11-27T20:01:02.123Z'), '2026-11-27T20-01-02Z');
});

function withScaling(): BenchResults {
  const r = sample();
  const point = (workers: number, requestsPerSec: number) => ({
    workers, capacity: 16, delayMs: 5, connections: 200, idealRequestsPerSec: workers * 3200, requestsPerSec, p50Ms: 10, p99Ms: 20, errors: 0,
  });
  r.scaling = [point(1, 3000), point(2, 6000), point(4, 9600)];
  return r;
}

test('the markdown block: machine, date, versions, a table per scenario with ratios, download and scaling', () => {
  const md = renderMarkdown(withScaling());
  assert.match(md, /^Measured 2026-11-27 \(2026-11-27T20:01:02\.123Z\) on Test <CPU> & co, 2 cores/);
  assert.match(md, /nginx 1\.22\.1, HAProxy 2\.6, wrk 4\.1\.0/);
  assert.match(md, /^\*\*GET 1 KB, 50 connections\*\*$/m);
  assert.match(md, /^\| target \| req\/s \| ×nginx \| ×direct \| p50 ms \| ×nginx \| ×direct \| p99 ms \| ×nginx \| errors \|$/m);
  // req/s ×nginx 0.75, ×direct 0.50; p50 ×nginx 2.00, ×direct 4.00; p99 ×nginx 1.50.
  assert.match(md, /^\| zeroproxy-sdk \| 30,000 \| ×0\.75 \| ×0\.50 \| 2\.000 \| ×2\.00 \| ×4\.00 \| 6\.000 \| ×1\.50 \| 0 \|$/m);
  assert.match(md, /^\| nginx \| 500 \| ×1\.00 \| ×0\.50 \| 0\.0 \|$/m);
  assert.match(md, /^\| 4 \| 9,600 \| 12,800 \| ×0\.75 \| 10\.00 \| 20\.00 \| 0 \|$/m);
  assert.match(md, /Not measured in this run: haproxy: skipped \(haproxy not installed\); zeroproxy-sdk \/ download 100 MiB: failed\./);
  // Every table row has as many cells as its header.
  for (const block of md.split('\n\n').filter((b) => b.startsWith('|'))) {
    const widths = block.split('\n').map((l) => l.split(' | ').length);
    assert.equal(new Set(widths.slice(0, 1).concat(widths.slice(2))).size, 1, block);
  }
});

test('the text report has the scaling table; the scaling SVG has a bar per point and the ideal line', () => {
  const r = withScaling();
  assert.match(renderReport(r), /^4 +9,600 +12,800 +×0\.75 +×3\.20 /m);
  const svg = renderScalingSvg(r.scaling ?? [], 'a <title>');
  assert.equal((svg.match(/<rect x=/g) ?? []).length, 3);
  assert.equal((svg.match(/<polyline /g) ?? []).length, 1);
  assert.match(svg, /a &lt;title&gt;/);
});
