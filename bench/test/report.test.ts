/** The text report, the markdown block, the three charts and the results files, on hand-made result sets. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { renderMarkdown, renderReport } from '../report.ts';
import { resultsBaseName, writeResults, type BenchResults } from '../results.ts';
import { escapeXml, renderCpuSvg, renderRequestsSvg, renderScalingSvg } from '../svg.ts';
import { benchResults, wellFormedXmlProblem, wrkRun } from './fixtures.ts';

/** direct, nginx and zeroproxy-sdk at 50 connections, direct and nginx at 1; haproxy skipped; a failed download; a scaling curve. */
function sample(): BenchResults {
  const point = (workers: number, requestsPerSec: number) => ({
    workers, capacity: 16, delayMs: 5, connections: 200, idealRequestsPerSec: workers * 3200, requestsPerSec, p50Ms: 10, p99Ms: 20, errors: 0,
  });
  return benchResults(
    [
      wrkRun('direct', { requestsPerSec: 60_000, p50Ms: 0.5, p99Ms: 2 }),
      wrkRun('nginx', { requestsPerSec: 40_000, p50Ms: 1, p99Ms: 4 }),
      wrkRun('zeroproxy-sdk', { requestsPerSec: 30_000, p50Ms: 2, p99Ms: 6 }),
      wrkRun('direct', { connections: 1, requestsPerSec: 12_000, p50Ms: 0.08, p99Ms: 0.2 }),
      wrkRun('nginx', { connections: 1, requestsPerSec: 8_000, p50Ms: 0.11, p99Ms: 0.3 }),
    ],
    {
      notes: ['2 cores shared'],
      targets: [
        { name: 'direct', description: 'd', status: 'ok' },
        { name: 'nginx', description: 'n', status: 'ok' },
        { name: 'haproxy', description: 'h', status: 'skipped', reason: 'haproxy not installed' },
        { name: 'zeroproxy-sdk', description: 'z', status: 'ok' },
      ],
      downloads: [
        { target: 'direct', bytes: 100 * 2 ** 20, seconds: 0.1, mibPerSec: 1000, frontRssStartMiB: 100, frontRssPeakMiB: 101 },
        { target: 'nginx', bytes: 100 * 2 ** 20, seconds: 0.2, mibPerSec: 500, frontRssStartMiB: 15, frontRssPeakMiB: 15 },
      ],
      scaling: [point(1, 3000), point(2, 6000), point(4, 9600)],
      failures: [{ target: 'zeroproxy-sdk', scenario: 'download 100 MiB', error: 'download answered 502\nmore' }],
    },
  );
}

const ROUTER_THREADS = { router: { main: 20, zmqIo: 2, other: 4 }, worker: { main: 9, zmqIo: 2, other: 1 } };

/** Every target with CPU numbers at c=50, and nginx at c=1 too. */
function withCpu(): BenchResults {
  return benchResults([
    wrkRun('direct', { requestsPerSec: 30_000, p50Ms: 1, cpu: { backend: 11, wrk: 9 } }),
    wrkRun('nginx', { requestsPerSec: 30_000, p50Ms: 1, cpu: { nginx: 14, backend: 11, wrk: 9 } }),
    wrkRun('haproxy', { requestsPerSec: 30_000, p50Ms: 1, cpu: { haproxy: 12.5, backend: 11, wrk: 9 } }),
    wrkRun('zeroproxy-sdk', { requestsPerSec: 30_000, p50Ms: 1, cpu: { router: 26, worker: 12, wrk: 9 }, threads: ROUTER_THREADS }),
    wrkRun('zeroproxy-forward', { requestsPerSec: 30_000, p50Ms: 1, cpu: { router: 27, bridge: 20, backend: 11, wrk: 9 } }),
    wrkRun('nginx', { connections: 1, requestsPerSec: 30_000, p50Ms: 1, cpu: { nginx: 40, backend: 30, wrk: 20 } }),
  ]);
}

/** The cells of the text report's row that starts with `start` and contains `containing`. */
function textRow(text: string, start: string, containing: string): string[] {
  const row = text.split('\n').find((l) => l.startsWith(start) && l.includes(containing));
  assert.ok(row, `no row ${start} … ${containing} in\n${text}`);
  return row.trim().split(/\s{2,}/);
}

function assertWellFormed(svg: string): void {
  assert.equal(wellFormedXmlProblem(svg), undefined);
  // A real XML parser too, where one is at hand.
  const python = spawnSync('python3', ['-c', 'import sys, xml.dom.minidom; xml.dom.minidom.parseString(sys.stdin.buffer.read())'], { input: svg, timeout: 10_000 });
  if (python.error === undefined) assert.equal(python.status, 0, python.stderr.toString());
}

test('the text report: one table per scenario with ratios to nginx and direct, the download, the scaling curve, what was not measured', () => {
  const text = renderReport(sample());
  assert.match(text, /^GET 1 KB, 50 connections\ntarget +req\/s +×nginx +×direct +p50 ms/m);
  assert.match(text, /^GET 1 KB, 1 connection\n/m);
  // req/s ×nginx 0.75, ×direct 0.50; p50 ×nginx 2.00, ×direct 4.00; p99 ×nginx 1.50.
  assert.deepEqual(textRow(text, 'zeroproxy-sdk', '30,000'), ['zeroproxy-sdk', '30,000', '×0.75', '×0.50', '2.000', '×2.00', '×4.00', '6.000', '×1.50', '0']);
  assert.deepEqual(textRow(text, 'nginx', '500'), ['nginx', '500', '×1.00', '×0.50', '15.0', '15.0', '0.0']);
  assert.deepEqual(textRow(text, '4 ', '9,600'), ['4', '9,600', '12,800', '×0.75', '10.00', '20.00', '0']);
  assert.match(text, /haproxy: skipped \(haproxy not installed\)/);
  assert.match(text, /zeroproxy-sdk \/ download 100 MiB: failed \(download answered 502\)/);
  assert.match(text, /note: 2 cores shared/);
});

test('the markdown block: machine, date, versions, a table per scenario with ratios, download and scaling, what was not measured', () => {
  const md = renderMarkdown(sample());
  assert.match(md, /^Measured 2026-11-27 \(2026-11-27T20:01:02\.123Z\) on Test <CPU> & co, 2 cores/);
  assert.match(md, /nginx 1\.22\.1, HAProxy 2\.6, wrk 4\.1\.0/);
  assert.match(md, /^\*\*GET 1 KB, 50 connections\*\*$/m);
  assert.match(md, /^\| target \| req\/s \| ×nginx \| ×direct \| p50 ms \| ×nginx \| ×direct \| p99 ms \| ×nginx \| errors \|$/m);
  assert.match(md, /^\| zeroproxy-sdk \| 30,000 \| ×0\.75 \| ×0\.50 \| 2\.000 \| ×2\.00 \| ×4\.00 \| 6\.000 \| ×1\.50 \| 0 \|$/m);
  assert.match(md, /^\| nginx \| 500 \| ×1\.00 \| ×0\.50 \| 15\.0 \| 15\.0 \| 0\.0 \|$/m);
  assert.match(md, /^\| 4 \| 9,600 \| 12,800 \| ×0\.75 \| 10\.00 \| 20\.00 \| 0 \|$/m);
  assert.match(md, /Not measured in this run: haproxy: skipped \(haproxy not installed\); zeroproxy-sdk \/ download 100 MiB: failed \(download answered 502\)\./);
  // Every table row has as many cells as its header.
  for (const block of md.split('\n\n').filter((b) => b.startsWith('|'))) {
    const [head, , ...rows] = block.split('\n');
    for (const row of rows) assert.equal(row.split(' | ').length, head!.split(' | ').length, block);
  }
});

test('CPU in the markdown: one table for GET 1 KB at c=50, a column per role, the total and ×nginx, wrk apart; the thread split', () => {
  const md = renderMarkdown(withCpu());
  assert.equal(md.match(/CPU per request \(µs\)/g)?.length, 1, 'only the headline scenario');
  const lines = md.split('\n');
  assert.ok(lines.includes('**CPU per request (µs), GET 1 KB, c=50**'), md);
  assert.ok(lines.includes('| target | nginx | haproxy | router | worker | bridge | backend | total | ×nginx | wrk (client) |'), md);
  assert.ok(lines.includes('| nginx | 14.0 | – | – | – | – | 11.0 | 25.0 | ×1.00 | 9.0 |'));
  assert.ok(lines.includes('| zeroproxy-sdk | – | – | 26.0 | 12.0 | – | – | 38.0 | ×1.52 | 9.0 |'));
  assert.ok(lines.includes('| zeroproxy-forward | – | – | 27.0 | – | 20.0 | 11.0 | 58.0 | ×2.32 | 9.0 |'));
  assert.ok(lines.includes('| zeroproxy-sdk | router | 20.0 | 2.0 | 4.0 | 77 % |'), 'router thread split');
  assert.ok(lines.includes('| zeroproxy-sdk | worker | 9.0 | 2.0 | 1.0 | 75 % |'));
});

test('CPU in the text report: a table for every scenario that has numbers; none at all without numbers (not Linux)', () => {
  const text = renderReport(withCpu());
  assert.match(text, /^CPU per request \(µs\), GET 1 KB, c=50\n/m);
  assert.match(text, /^CPU per request \(µs\), GET 1 KB, c=1\n/m);
  assert.deepEqual(textRow(text, 'zeroproxy-sdk', '38.0'), ['zeroproxy-sdk', '–', '–', '26.0', '12.0', '–', '–', '38.0', '×1.52', '9.0']);
  assert.match(text, /^By thread \(µs per request\)$/m);
  const none = benchResults([wrkRun('nginx', { requestsPerSec: 1, p50Ms: 1 }), wrkRun('zeroproxy-sdk', { requestsPerSec: 1, p50Ms: 1 })]);
  assert.doesNotMatch(renderMarkdown(none), /CPU per request|By thread/);
  assert.doesNotMatch(renderReport(none), /CPU per request|By thread|CPU: /);
});

test('the req/s chart: one bar per run labelled with its ratio to nginx, a dashed nginx line per group, escaped text; an empty run still renders', () => {
  const svg = renderRequestsSvg(sample());
  assertWellFormed(svg);
  assert.equal(svg.match(/<rect [^>]*><title>/g)?.length, 5);
  assert.match(svg, />×0\.75</);
  assert.match(svg, /Test &lt;CPU&gt; &amp; co/);
  assert.equal(svg.match(/stroke-dasharray/g)?.length, 2, 'one nginx line per group that has nginx');
  const empty = renderRequestsSvg({ ...sample(), runs: [] });
  assertWellFormed(empty);
  assert.match(empty, /no wrk results/);
  assert.equal(escapeXml(`a<b>&"'`), 'a&lt;b&gt;&amp;&quot;&apos;');
});

test('the CPU chart: one stacked bar per target, one labelled segment per serving role (not wrk), the total and ×nginx', () => {
  const svg = renderCpuSvg(withCpu());
  assertWellFormed(svg);
  assert.deepEqual([...svg.matchAll(/<g data-target="([^"]+)">/g)].map((m) => m[1]), ['direct', 'nginx', 'haproxy', 'zeroproxy-sdk', 'zeroproxy-forward']);
  // Segments: 1 + 2 + 2 + 2 + 3 serving roles.
  assert.equal(svg.match(/<rect [^>]*><title>/g)?.length, 10);
  assert.doesNotMatch(svg, /wrk: /);
  assert.match(svg, /<title>zeroproxy-sdk \/ router: 26\.0 µs per request<\/title>/);
  assert.match(svg, />38\.0 µs ×1\.52</);
  assertWellFormed(renderCpuSvg(benchResults([])));
});

test('the scaling chart: a bar per point and the ideal as a dashed line', () => {
  const svg = renderScalingSvg(sample());
  assertWellFormed(svg);
  assert.equal(svg.match(/<rect [^>]*><title>/g)?.length, 3);
  assert.equal(svg.match(/<polyline /g)?.length, 1);
});

test('writeResults: <date>.json, .md, .svg, and the CPU and scaling charts only when the run has them, each copied to latest.*', async () => {
  assert.equal(resultsBaseName('2026-11-27T20:01:02.123Z'), '2026-11-27T20-01-02Z');
  const dir = await mkdtemp(join(tmpdir(), 'zp-bench-files-'));
  try {
    const all = await writeResults(join(dir, 'all'), { ...withCpu(), scaling: sample().scaling });
    const base = join(dir, 'all', '2026-11-27T20-01-02Z');
    assert.deepEqual(all, ['.json', '.md', '.svg', '-cpu.svg', '-scaling.svg'].map((suffix) => base + suffix));
    assert.equal(await readFile(join(dir, 'all', 'latest-cpu.svg'), 'utf8'), renderCpuSvg(withCpu()));
    const saved = JSON.parse(await readFile(`${base}.json`, 'utf8')) as BenchResults;
    assert.deepEqual(saved.runs[3]?.cpuThreadsUsPerRequest, ROUTER_THREADS);
    await writeResults(join(dir, 'plain'), benchResults([wrkRun('nginx', { requestsPerSec: 1, p50Ms: 1 })]));
    assert.deepEqual((await readdir(join(dir, 'plain'))).filter((f) => f.startsWith('latest')).sort(), ['latest.json', 'latest.md', 'latest.svg']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
