/** CPU per request: the arithmetic on hand-made snapshots, the tables, the chart and its file. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { cpuPerRequest, type CpuSnapshot, type ProcessTicks } from '../cpu.ts';
import { renderCpuSvg } from '../cpu-svg.ts';
import { renderMarkdown } from '../markdown.ts';
import { renderReport } from '../report.ts';
import { writeResults } from '../results-file.ts';
import type { BenchResults, WrkRecord } from '../results-model.ts';
import type { TargetName } from '../targets/types.ts';

function snapshot(roles: Record<string, { root: string; processes: Record<string, ProcessTicks> }>, reapedTicks: number | null): CpuSnapshot {
  return {
    roles: new Map(Object.entries(roles).map(([role, s]) => [role, { root: s.root, processes: new Map(Object.entries(s.processes)) }])),
    reapedTicks,
  };
}

// 100 ticks per second: one tick is 10 ms. 10,000 requests: one tick is 1 µs per request.
const HZ = 100;
const REQUESTS = 10_000;

const BEFORE = snapshot(
  {
    router: { root: '10:5', processes: { '10:5': { ticks: 100, main: 60, zmqIo: 10 } } },
    nginx: { root: '20:5', processes: { '20:5': { ticks: 5 }, '21:6': { ticks: 100 } } },
    backend: { root: '30:5', processes: { '30:5': { ticks: 7 } } },
  },
  1000,
);

test('µs per request: tick delta × 10⁶ / CLK_TCK / requests, per role, summed over its processes', () => {
  const after = snapshot(
    {
      router: { root: '10:5', processes: { '10:5': { ticks: 400, main: 300, zmqIo: 40 } } },
      // The worker 21 used 200 ticks; a process that appeared during the run (22) counts from 0.
      nginx: { root: '20:5', processes: { '20:5': { ticks: 5 }, '21:6': { ticks: 300 }, '22:9': { ticks: 50 } } },
      backend: { root: '30:5', processes: { '30:5': { ticks: 57 } } },
    },
    1100,
  );
  const usage = cpuPerRequest(BEFORE, after, REQUESTS, HZ);
  assert.deepEqual(usage, {
    byRole: { router: 300, nginx: 250, backend: 50, wrk: 100 },
    total: 600,
    threads: { router: { main: 240, zmqIo: 30, other: 30 } },
  });
  // Other units: 250 ticks at CLK_TCK 250 over 4 requests = 1 s / 4 = 250,000 µs; rounded to 0.01 µs.
  const one = (ticks: number): CpuSnapshot => snapshot({ x: { root: '1:1', processes: { '1:1': { ticks } } } }, null);
  assert.equal(cpuPerRequest(one(0), one(250), 4, 250)?.byRole['x'], 250_000);
  assert.equal(cpuPerRequest(one(0), one(1), 3, 100)?.byRole['x'], 3333.33);
});

test('no number for a role that exited, was replaced or lost a process; none at all without snapshots or requests', () => {
  const after = snapshot(
    {
      // Same pid, another start time: a restarted process, not the one measured.
      router: { root: '10:77', processes: { '10:77': { ticks: 1 } } },
      // nginx's worker 21 is gone: part of its CPU would be missing.
      nginx: { root: '20:5', processes: { '20:5': { ticks: 5 } } },
    },
    null,
  );
  const usage = cpuPerRequest(BEFORE, after, REQUESTS, HZ);
  assert.deepEqual(usage, { byRole: {}, total: 0, threads: {} });
  assert.equal(cpuPerRequest(null, BEFORE, REQUESTS, HZ), null, 'not Linux');
  assert.equal(cpuPerRequest(BEFORE, null, REQUESTS, HZ), null);
  assert.equal(cpuPerRequest(BEFORE, BEFORE, 0, HZ), null, 'no request completed');
});

function run(target: TargetName, connections: number, cpu?: Record<string, number>, threads?: WrkRecord['cpuThreadsUsPerRequest']): WrkRecord {
  const rec: WrkRecord = { target, scenario: 'get-1kb', connections, requestsPerSec: 30_000, p50Ms: 1, p75Ms: 1, p90Ms: 2, p99Ms: 3, requests: 30_000, errors: 0 };
  if (cpu === undefined) return rec;
  const total = Object.entries(cpu).reduce((sum, [role, us]) => sum + (role === 'wrk' ? 0 : us), 0);
  return { ...rec, cpuUsPerRequest: cpu, cpuUsPerRequestTotal: total, ...(threads ? { cpuThreadsUsPerRequest: threads } : {}) };
}

function results(runs: WrkRecord[]): BenchResults {
  return {
    date: '2026-11-27T20:01:02.123Z',
    quick: true,
    settings: { durationSec: 1, warmupSec: 1, connections: [1, 50], downloadBytes: 2 ** 20, workerCapacity: 256, wrkThreads: 1 },
    machine: { cpuModel: 'Test <CPU> & co', cores: 2, os: 'Linux', memoryGiB: 8, loadAverage: 0.1 },
    versions: { node: 'v20', zeroproxy: '0.1.0', nginx: '1.22.1', haproxy: '2.6', wrk: '4.1.0' },
    notes: [],
    targets: [],
    runs,
    downloads: [],
    failures: [],
  };
}

const ROUTER_THREADS = { router: { main: 20, zmqIo: 2, other: 4 }, worker: { main: 9, zmqIo: 2, other: 1 } };

function cpuResults(): BenchResults {
  return results([
    run('direct', 50, { backend: 11, wrk: 9 }),
    run('nginx', 50, { nginx: 14, backend: 11, wrk: 9 }),
    run('haproxy', 50, { haproxy: 12.5, backend: 11, wrk: 9 }),
    run('zeroproxy-sdk', 50, { router: 26, worker: 12, wrk: 9 }, ROUTER_THREADS),
    run('zeroproxy-forward', 50, { router: 27, bridge: 20, backend: 11, wrk: 9 }),
    run('nginx', 1, { nginx: 40, backend: 30, wrk: 20 }),
  ]);
}

test('markdown: one CPU table for GET 1 KB at c=50, a column per role, the total and ×nginx, wrk apart; the thread split', () => {
  const md = renderMarkdown(cpuResults());
  assert.match(md, /\*\*CPU per request \(µs\), GET 1 KB, c=50\*\*/);
  assert.equal(md.match(/CPU per request/g)?.length, 1, 'only the headline scenario');
  const lines = md.split('\n');
  assert.ok(lines.includes('| target | nginx | haproxy | router | worker | bridge | backend | total | ×nginx | wrk (client) |'), md);
  assert.ok(lines.includes('| nginx | 14.0 | – | – | – | – | 11.0 | 25.0 | ×1.00 | 9.0 |'));
  assert.ok(lines.includes('| zeroproxy-sdk | – | – | 26.0 | 12.0 | – | – | 38.0 | ×1.52 | 9.0 |'));
  assert.ok(lines.includes('| zeroproxy-forward | – | – | 27.0 | – | 20.0 | 11.0 | 58.0 | ×2.32 | 9.0 |'));
  assert.ok(lines.includes('| zeroproxy-sdk | router | 20.0 | 2.0 | 4.0 | 77 % |'), 'router thread split');
  assert.ok(lines.includes('| zeroproxy-sdk | worker | 9.0 | 2.0 | 1.0 | 75 % |'));
});

test('markdown and report without CPU numbers (not Linux, older results) have no CPU section', () => {
  const r = results([run('nginx', 50), run('zeroproxy-sdk', 50)]);
  assert.doesNotMatch(renderMarkdown(r), /CPU per request/);
  assert.doesNotMatch(renderReport(r), /CPU per request/);
});

test('the terminal report has a CPU table for every scenario that has numbers', () => {
  const text = renderReport(cpuResults());
  assert.match(text, /CPU per request \(µs\), GET 1 KB, c=50\n/);
  assert.match(text, /CPU per request \(µs\), GET 1 KB, c=1\n/);
  const row = text.split('\n').find((l) => l.startsWith('zeroproxy-sdk') && l.includes('38.0'));
  assert.ok(row, text);
  assert.deepEqual(row.trim().split(/\s+/), ['zeroproxy-sdk', '–', '–', '26.0', '12.0', '–', '–', '38.0', '×1.52', '9.0']);
  assert.match(text, /by thread \(µs per request\)/);
});

/** Checks XML well-formedness by hand: every tag closed in order, one root, no stray `<` or `&`. */
function assertWellFormedXml(xml: string): void {
  const token = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<&]*(?:&(?:amp|lt|gt|quot|apos);[^"<&]*)*")*)\s*(\/?)>|([^<]+)/gy;
  const stack: string[] = [];
  let roots = 0;
  let m: RegExpExecArray | null;
  while (token.lastIndex < xml.length && (m = token.exec(xml)) !== null) {
    const [, closing, name, , selfClosing, text] = m;
    if (text !== undefined) {
      assert.ok(stack.length > 0 || text.trim() === '', `text outside the root: ${text}`);
      assert.doesNotMatch(text, /&(?!(?:amp|lt|gt|quot|apos);)/, `bare & in ${text}`);
    } else if (closing) {
      assert.equal(stack.pop(), name, `</${name}> closes the open tag`);
    } else {
      if (stack.length === 0) roots++;
      if (!selfClosing) stack.push(name!);
    }
  }
  assert.equal(token.lastIndex, xml.length, `not a tag or text at ${token.lastIndex}: ${xml.slice(token.lastIndex, token.lastIndex + 60)}`);
  assert.deepEqual(stack, [], 'every tag closed');
  assert.equal(roots, 1, 'one root element');
}

test('the CPU chart: well-formed XML, one stacked bar per target, one labelled segment per role, escaped text', () => {
  const svg = renderCpuSvg(cpuResults());
  assertWellFormedXml(svg);
  // A real XML parser too, where one is at hand.
  const python = spawnSync('python3', ['-c', 'import sys, xml.dom.minidom; xml.dom.minidom.parseString(sys.stdin.buffer.read())'], { input: svg, timeout: 10_000 });
  if (python.error === undefined) assert.equal(python.status, 0, python.stderr.toString());
  assert.deepEqual(
    [...svg.matchAll(/<g data-target="([^"]+)">/g)].map((m) => m[1]),
    ['direct', 'nginx', 'haproxy', 'zeroproxy-sdk', 'zeroproxy-forward'],
  );
  // Segments: 1 + 2 + 2 + 2 + 3 serving roles; wrk is not drawn.
  assert.equal(svg.match(/<rect [^>]*><title>/g)?.length, 10);
  assert.doesNotMatch(svg, /wrk: /);
  assert.match(svg, /<title>zeroproxy-sdk \/ router: 26\.0 µs per request<\/title>/);
  assert.match(svg, />38\.0 µs ×1\.52</);
  assert.match(svg, /Test &lt;CPU&gt; &amp; co/);
  assertWellFormedXml(renderCpuSvg(results([])));
});

test('writeResults adds <date>-cpu.svg and latest-cpu.svg only when the run has CPU numbers', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'zp-bench-cpu-'));
  try {
    const withCpu = await writeResults(dir, cpuResults());
    assert.equal(withCpu.cpuSvg, join(dir, '2026-11-27T20-01-02Z-cpu.svg'));
    assert.equal(await readFile(join(dir, 'latest-cpu.svg'), 'utf8'), renderCpuSvg(cpuResults()));
    const saved = JSON.parse(await readFile(withCpu.json, 'utf8')) as BenchResults;
    assert.deepEqual(saved.runs[3]?.cpuThreadsUsPerRequest, ROUTER_THREADS);
    const other = await mkdtemp(join(dir, 'none-'));
    const without = await writeResults(other, results([run('nginx', 50)]));
    assert.equal(without.cpuSvg, undefined);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
