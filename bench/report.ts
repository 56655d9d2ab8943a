/**
 * The tables of a run, rendered twice from the same rows: as the text report printed at the end,
 * and as the markdown block for docs/benchmarks.md (printed between two marker lines and written to
 * <date>.md, so it is pasted, never retyped). Values are medians over rounds, ratios the median of
 * per-round ratios (stats.ts). The text report has a CPU table for every scenario; the markdown only
 * for the headline one (GET 1 KB, c=50), as does the CPU chart.
 */
import { CLIENT_ROLE } from './cpu.ts';
import type { BenchResults } from './results.ts';
import { SCENARIO_LABELS } from './scenarios.ts';
import {
  cpuRuns,
  cpuScenarios,
  formatRatio,
  formatSpread,
  headlineCpuScenario,
  medianRuns,
  METRICS,
  ratio,
  roundRatio,
  scenarioKeys,
  servingRoles,
  spreadOver,
  type Metric,
  type Reference,
  type ScenarioKey,
} from './stats.ts';

/** A titled table, or a paragraph when it has no head. */
interface Section {
  title: string;
  head?: string[];
  rows?: string[][];
}

const num = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const fixed = (digits: number) => (x: number | null | undefined): string => (x === null || x === undefined ? '–' : x.toFixed(digits));
const us = fixed(1);

const CPU_NOTE =
  'user + system CPU of all threads of each process (and its children), from /proc right before and after the measured run, ' +
  'divided by the requests wrk completed; total = the serving processes (wrk, the client, is not in it); ×nginx compares totals (lower is cheaper).';

export function cpuTitle(key: ScenarioKey): string {
  return `CPU per request (µs), ${SCENARIO_LABELS[key.scenario]}, c=${key.connections}`;
}

/** One line on how many rounds the values are over, and what the numbers are. */
function roundsNote(r: BenchResults): string {
  const n = r.settings.rounds;
  if (n <= 1) return 'one round: every value is a single measurement (on a shared machine `--rounds 3` gives medians of interleaved rounds).';
  return (
    `${n} interleaved rounds: every target measured each scenario once per round, back to back, the starting target rotated each round; ` +
    'values are medians over the rounds, (min–max) in parentheses; ratios are the median of per-round ratios (each target against the reference of the same round).'
  );
}

/**
 * req/s, p50 and p99 per target, each with its ratio to nginx and to direct. Over several rounds
 * req/s and its ratios carry their min–max; the latency ratios only their median, to keep the table
 * readable (the JSON has all ranges).
 */
function wrkSection(r: BenchResults, key: ScenarioKey): Section {
  const rows = medianRuns(r, key).map((x) => {
    const versus = (reference: Reference, metric: Metric, withRange = false): string => formatRatio(roundRatio(r, x.target, key, reference, metric), withRange);
    const { requestsPerSec: rps, p50Ms: p50, p99Ms: p99 } = METRICS;
    return [
      x.target,
      formatSpread(spreadOver(r, x.target, key, rps), (n) => num.format(n)),
      versus('nginx', rps, true),
      versus('direct', rps, true),
      x.p50Ms.toFixed(3),
      versus('nginx', p50),
      versus('direct', p50),
      x.p99Ms.toFixed(3),
      versus('nginx', p99),
      String(x.errors),
    ];
  });
  const title = `${SCENARIO_LABELS[key.scenario]}, ${key.connections} connection${key.connections === 1 ? '' : 's'}`;
  return { title, head: ['target', 'req/s', '×nginx', '×direct', 'p50 ms', '×nginx', '×direct', 'p99 ms', '×nginx', 'errors'], rows };
}

/** A column per serving role, the total and its ×nginx, wrk (the client) last; then the zeroproxy processes' thread split. */
function cpuSections(r: BenchResults, key: ScenarioKey): Section[] {
  const runs = cpuRuns(r, key);
  const roles = servingRoles(runs);
  const withClient = runs.some((x) => x.cpuUsPerRequest?.[CLIENT_ROLE] !== undefined);
  const rows = runs.map((x) => [
    x.target,
    ...roles.map((role) => us(x.cpuUsPerRequest?.[role])),
    us(x.cpuUsPerRequestTotal),
    formatRatio(roundRatio(r, x.target, key, 'nginx', METRICS.cpuUsPerRequestTotal)),
    ...(withClient ? [us(x.cpuUsPerRequest?.[CLIENT_ROLE])] : []),
  ]);
  const head = ['target', ...roles, 'total', '×nginx', ...(withClient ? [`${CLIENT_ROLE} (client)`] : [])];
  const threadRows = runs.flatMap((x) =>
    Object.entries(x.cpuThreadsUsPerRequest ?? {}).map(([role, t]) => {
      const all = t.main + t.zmqIo + t.other;
      return [x.target, role, us(t.main), us(t.zmqIo), us(t.other), all > 0 ? `${((t.main / all) * 100).toFixed(0)} %` : '–'];
    }),
  );
  const threads: Section = {
    title: 'By thread (µs per request)',
    head: ['target', 'process', 'main JS thread', 'ZeroMQ I/O thread', 'other threads', 'main share'],
    rows: threadRows,
  };
  return [{ title: cpuTitle(key), head, rows }, ...(threadRows.length > 0 ? [threads] : [])];
}

/** MiB/s per target with ratios, and the RSS of the process in front: at start, at peak, growth. */
function downloadSection(r: BenchResults): Section {
  const reference = (target: Reference): number | undefined => r.downloads.find((d) => d.target === target)?.mibPerSec;
  const mib = fixed(1);
  const rows = r.downloads.map((d) => [
    d.target,
    d.mibPerSec.toFixed(0),
    formatRatio(ratio(d.mibPerSec, reference('nginx'))),
    formatRatio(ratio(d.mibPerSec, reference('direct'))),
    mib(d.frontRssStartMiB),
    mib(d.frontRssPeakMiB),
    d.frontRssStartMiB === null || d.frontRssPeakMiB === null ? '–' : mib(d.frontRssPeakMiB - d.frontRssStartMiB),
  ]);
  const title = `Streaming download, ${(r.downloads[0]!.bytes / 2 ** 20).toFixed(0)} MiB (front = the process in front of the backend; the backend itself for direct)`;
  return { title, head: ['target', 'MiB/s', '×nginx', '×direct', 'front RSS MiB', 'peak', 'growth'], rows };
}

/** req/s per worker count against the ideal. */
function scalingSection(r: BenchResults): Section {
  const first = r.scaling[0]!;
  const title =
    `Scaling: zeroproxy router + N SDK workers (handler waits ${first.delayMs} ms, capacity ${first.capacity} each, ` +
    `${first.connections} connections; ideal = capacity × workers / ${first.delayMs} ms)`;
  const rows = r.scaling.map((x) => [
    String(x.workers),
    num.format(x.requestsPerSec),
    num.format(x.idealRequestsPerSec),
    formatRatio(ratio(x.requestsPerSec, x.idealRequestsPerSec)),
    x.p50Ms.toFixed(2),
    x.p99Ms.toFixed(2),
    String(x.errors),
  ]);
  return { title, head: ['workers', 'req/s', 'ideal', '×ideal', 'p50 ms', 'p99 ms', 'errors'], rows };
}

/** Everything after the header, in order; CPU tables for `cpuKeys`. */
function sections(r: BenchResults, cpuKeys: readonly ScenarioKey[]): Section[] {
  const out = scenarioKeys(r).map((key) => wrkSection(r, key));
  for (const key of cpuKeys) out.push(...cpuSections(r, key));
  if (cpuKeys.length > 0) out.push({ title: `CPU: ${CPU_NOTE}` });
  if (r.downloads.length > 0) out.push(downloadSection(r));
  if (r.scaling.length > 0) out.push(scalingSection(r));
  const missing = [
    ...r.targets.filter((t) => t.status !== 'ok').map((t) => `${t.name}: ${t.status} (${t.reason ?? ''})`),
    ...r.failures.map((f) => {
      const round = f.round !== undefined && r.settings.rounds > 1 ? ` (round ${f.round}/${r.settings.rounds})` : '';
      return `${f.target} / ${f.scenario}${round}: failed (${f.error.split('\n')[0]})`;
    }),
  ];
  if (missing.length > 0) out.push({ title: `Not measured in this run: ${missing.join('; ')}.` });
  out.push({ title: 'Ratios: req/s and MiB/s above ×1.00 beat the reference; latency above ×1.00 is slower than it.' });
  return out;
}

function versionsLine(r: BenchResults): string {
  const v = r.versions;
  return `node ${v.node}, zeroproxy ${v.zeroproxy}, nginx ${v.nginx ?? 'missing'}, HAProxy ${v.haproxy ?? 'missing'}, wrk ${v.wrk ?? 'missing'}`;
}

function textTable(head: readonly string[], rows: readonly string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export function renderReport(r: BenchResults): string {
  const m = r.machine;
  const header = [
    `zeroproxy bench — ${r.date}${r.quick ? ' (quick smoke run: numbers are indicative only)' : ''}`,
    `machine: ${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}, load average ${m.loadAverage} at start`,
    `versions: ${versionsLine(r)}`,
    `settings: wrk -t1, ${r.settings.durationSec} s per scenario, ${r.settings.warmupSec} s warm-up ${r.quick ? 'before the first scenario of each target' : 'per target and request kind'}; worker capacity ${r.settings.workerCapacity}`,
    ...[...r.notes, roundsNote(r)].map((n) => `note: ${n}`),
  ];
  const body = sections(r, cpuScenarios(r)).map((s) => (s.head ? `${s.title}\n${textTable(s.head, s.rows ?? [])}` : s.title));
  return [header.join('\n'), ...body].join('\n\n');
}

function markdownTable(head: readonly string[], rows: readonly string[][]): string {
  // Table cells may not contain `|`. Columns of numbers (and ratios, "–") are right-aligned.
  const line = (cells: readonly string[]): string => `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
  const numeric = (i: number): boolean => rows.every((row) => /^[\d×–]/.test(row[i] ?? ''));
  return [line(head), `|${head.map((_, i) => (i > 0 && numeric(i) ? '---:' : '---')).join('|')}|`, ...rows.map(line)].join('\n');
}

export function renderMarkdown(r: BenchResults): string {
  const m = r.machine;
  const headline = headlineCpuScenario(r);
  const header = [
    `Measured ${r.date.slice(0, 10)} (${r.date})${r.quick ? ' — **quick smoke run, indicative only**' : ''} on ${m.cpuModel}, ${m.cores} cores, ` +
      `${m.memoryGiB} GiB, ${m.os} (load average ${m.loadAverage} at start); ${versionsLine(r)}. ` +
      `wrk -t1, ${r.settings.durationSec} s per scenario; worker capacity ${r.settings.workerCapacity}. ` +
      'Reproduce: `npm run bench` (see bench/README.md).',
    ...[...r.notes, roundsNote(r)].map((n) => `> ${n}`),
  ];
  const body = sections(r, headline ? [headline] : []).map((s) => (s.head ? `**${s.title}**\n\n${markdownTable(s.head, s.rows ?? [])}` : s.title));
  return [...header, ...body].join('\n\n') + '\n';
}
