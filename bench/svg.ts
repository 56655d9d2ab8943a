/**
 * The run's charts as self-contained SVG, written by hand (no dependency):
 * - req/s: one group per wrk scenario, one bar per target labelled with its req/s and its ratio to
 *   nginx, a dashed line across each group at nginx's level;
 * - CPU per request (the headline scenario): one horizontal bar per target, stacked from one
 *   labelled segment per process role, the total and its ratio to nginx's at the end, a dashed line
 *   at nginx's total — shorter is cheaper;
 * - the scaling curve: measured req/s per worker count, a dashed line at the ideal.
 * Over several rounds every value is the median and every ratio the median of per-round ratios.
 */
import type { BenchResults } from './results.ts';
import { cpuTitle } from './report.ts';
import { SCENARIO_LABELS } from './scenarios.ts';
import { cpuRuns, formatRatio, headlineCpuScenario, medianRuns, METRICS, roundRatio, scenarioKeys, servingRoles, type ScenarioKey } from './stats.ts';
import { TARGET_NAMES, type TargetName } from './targets/types.ts';

/** Colours by target and by CPU role; SPARE_COLORS for names without one (a target added later). */
const COLORS: Readonly<Record<string, string>> = {
  direct: '#7f8c8d',
  nginx: '#27ae60',
  haproxy: '#2980b9',
  'zeroproxy-sdk': '#e67e22',
  'zeroproxy-forward': '#c0392b',
  router: '#e67e22',
  worker: '#b9770e',
  bridge: '#c0392b',
  backend: '#7f8c8d',
};
const SPARE_COLORS = ['#8e44ad', '#16a085', '#d35400', '#2c3e50'];

function color(name: string, all: readonly string[]): string {
  return COLORS[name] ?? SPARE_COLORS[all.indexOf(name) % SPARE_COLORS.length]!;
}

export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

function kilo(n: number): string {
  return n >= 1000 ? `${(n / 1000).toFixed(n >= 100_000 ? 0 : 1)}k` : n.toFixed(0);
}

/** A round axis step giving about five ticks. */
function niceStep(max: number): number {
  const raw = max / 5;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? 10 * magnitude;
}

/** The opening tag, a white background, a bold title and grey subtitle lines. */
function start(width: number, height: number, x: number, title: string, subtitles: readonly string[]): string[] {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${x}" y="22" font-size="15" font-weight="bold">${escapeXml(title)}</text>`,
    ...subtitles.map((line, i) => `<text x="${x}" y="${40 + 16 * i}" fill="#555">${escapeXml(line)}</text>`),
  ];
}

/** A row of colour squares with their names, starting at (x, y), one every `spacing` px. */
function legend(names: readonly string[], x: number, y: number, spacing: number): string[] {
  return names.flatMap((name, i) => [
    `<rect x="${x + i * spacing}" y="${y}" width="12" height="12" fill="${color(name, names)}"/>`,
    `<text x="${x + i * spacing + 16}" y="${y + 10}">${escapeXml(name)}</text>`,
  ]);
}

function dashed(x1: number, x2: number, y1: number, y2: number, stroke: string): string {
  return `<line x1="${x1}" x2="${x2}" y1="${y1}" y2="${y2}" stroke="${stroke}" stroke-dasharray="5 3" stroke-width="1.5"/>`;
}

function text(x: number, y: number, content: string, attributes = 'text-anchor="middle"'): string {
  return `<text x="${x}" y="${y}" ${attributes}>${escapeXml(content)}</text>`;
}

function bar(x: number, y: number, width: number, height: number, fill: string, title: string): string {
  return `<rect x="${x}" y="${y}" width="${width}" height="${height}" fill="${fill}" stroke="#ffffff"><title>${escapeXml(title)}</title></rect>`;
}

function quick(r: BenchResults): string {
  return r.quick ? ' — quick smoke run' : '';
}

export function renderRequestsSvg(r: BenchResults): string {
  const [BAR, GAP, GROUP_GAP, LEFT, TOP, PLOT] = [46, 6, 48, 80, 96, 300];
  const groups = scenarioKeys(r).map((key) => ({ key, bars: medianRuns(r, key) }));
  const targets = TARGET_NAMES.filter((t) => r.runs.some((x) => x.target === t));
  const groupWidth = (n: number): number => n * BAR + (n - 1) * GAP;
  const plotWidth = Math.max(360, groups.reduce((w, g) => w + groupWidth(g.bars.length) + GROUP_GAP, GROUP_GAP));
  const width = LEFT + plotWidth + 30;
  const maxRps = Math.max(1, ...r.runs.map((x) => x.requestsPerSec)) * 1.15;
  const step = niceStep(maxRps);
  const yMax = Math.ceil(maxRps / step) * step;
  const y = (v: number): number => TOP + PLOT - (v / yMax) * PLOT;
  const n = r.settings.rounds;
  const perBar = n > 1 ? `median of ${n} interleaved rounds of ${r.settings.durationSec} s per bar` : `${r.settings.durationSec} s per bar`;
  const out = start(width, TOP + PLOT + 70, LEFT, `zeroproxy bench — requests per second (wrk -t1)${quick(r)}`, [
    `${r.date} · ${r.machine.cpuModel}, ${r.machine.cores} cores shared by wrk, proxy and backend · ${perBar}`,
    'Over each bar: req/s and its ratio to nginx → fastify (the dashed line). Higher is better.',
  ]);
  out.push(...legend(targets, LEFT, 66, 130));
  for (let v = 0; v <= yMax + step / 2; v += step) {
    out.push(`<line x1="${LEFT}" x2="${LEFT + plotWidth}" y1="${y(v)}" y2="${y(v)}" stroke="#e5e5e5"/>`, text(LEFT - 6, y(v) + 4, kilo(v), 'text-anchor="end" fill="#555"'));
  }
  out.push(`<line x1="${LEFT}" x2="${LEFT}" y1="${TOP}" y2="${TOP + PLOT}" stroke="#333"/>`);
  out.push(`<line x1="${LEFT}" x2="${LEFT + plotWidth}" y1="${TOP + PLOT}" y2="${TOP + PLOT}" stroke="#333"/>`);
  out.push(`<text transform="translate(18 ${TOP + PLOT / 2}) rotate(-90)" text-anchor="middle" fill="#333">requests / s</text>`);
  let x = LEFT + GROUP_GAP;
  for (const { key, bars } of groups) {
    const w = groupWidth(bars.length);
    bars.forEach((b, i) => {
      const bx = x + i * (BAR + GAP);
      const by = y(b.requestsPerSec);
      out.push(bar(bx, by, BAR, TOP + PLOT - by, color(b.target, targets), `${b.target}: ${b.requestsPerSec.toFixed(0)} req/s, p50 ${b.p50Ms.toFixed(3)} ms, p99 ${b.p99Ms.toFixed(3)} ms`));
      out.push(text(bx + BAR / 2, by - 16, kilo(b.requestsPerSec)));
      out.push(text(bx + BAR / 2, by - 4, formatRatio(roundRatio(r, b.target, key, 'nginx', METRICS.requestsPerSec), false), 'text-anchor="middle" fill="#555" font-size="10"'));
    });
    const nginx = bars.find((b) => b.target === 'nginx');
    if (nginx) out.push(dashed(x - 6, x + w + 6, y(nginx.requestsPerSec), y(nginx.requestsPerSec), COLORS['nginx']!));
    out.push(text(x + w / 2, TOP + PLOT + 18, SCENARIO_LABELS[key.scenario], 'text-anchor="middle" font-weight="bold"'));
    out.push(text(x + w / 2, TOP + PLOT + 33, `${key.connections} conn.`));
    x += w + GROUP_GAP;
  }
  if (groups.length === 0) out.push(text(LEFT + 20, TOP + 40, 'no wrk results in this run', ''));
  return [...out, '</svg>'].join('\n') + '\n';
}

/** Rough width of one character at font-size 11, to decide whether a label fits in its segment. */
const CHAR_WIDTH = 6.4;

export function renderCpuSvg(r: BenchResults): string {
  const [WIDTH, LEFT, RIGHT, TOP, ROW, BAR] = [820, 140, 150, 104, 36, 24];
  const key: ScenarioKey | undefined = headlineCpuScenario(r);
  const runs = key === undefined ? [] : cpuRuns(r, key);
  const roles = servingRoles(runs);
  const plotW = WIDTH - LEFT - RIGHT;
  const bottom = TOP + runs.length * ROW;
  const maxTotal = Math.max(1, ...runs.map((x) => x.cpuUsPerRequestTotal ?? 0));
  const step = niceStep(maxTotal);
  const xMax = Math.ceil(maxTotal / step) * step;
  const x = (us: number): number => LEFT + (us / xMax) * plotW;
  const out = start(WIDTH, TOP + Math.max(1, runs.length) * ROW + 56, 20, `zeroproxy bench — ${key ? cpuTitle(key) : 'CPU per request'}${quick(r)}`, [
    `${r.date} · ${r.machine.cpuModel}, ${r.machine.cores} cores · one segment per process, shorter is cheaper`,
    "user + system CPU of all threads (/proc) over the measured run ÷ requests; wrk, the client, not included; dashed: nginx's total",
  ]);
  out.push(...legend(roles, LEFT, 70, 100));
  for (let v = 0; v <= xMax + step / 2; v += step) {
    out.push(`<line x1="${x(v)}" x2="${x(v)}" y1="${TOP - 6}" y2="${bottom}" stroke="#e5e5e5"/>`, text(x(v), bottom + 16, String(Number(v.toFixed(2))), 'text-anchor="middle" fill="#555"'));
  }
  out.push(text(LEFT + plotW / 2, bottom + 36, 'µs of CPU per request', 'text-anchor="middle" fill="#333"'));
  runs.forEach((run, i) => {
    const y = TOP + i * ROW + (ROW - BAR) / 2;
    out.push(`<g data-target="${escapeXml(run.target)}">`, text(LEFT - 8, y + BAR / 2 + 4, run.target, 'text-anchor="end" font-weight="bold"'));
    let at = 0;
    for (const role of roles) {
      const value = run.cpuUsPerRequest?.[role];
      if (value === undefined || value <= 0) continue;
      const w = x(at + value) - x(at);
      out.push(bar(x(at), y, w, BAR, color(role, roles), `${run.target} / ${role}: ${value.toFixed(1)} µs per request`));
      const label = [`${role} ${value.toFixed(1)}`, value.toFixed(1)].find((t) => t.length * CHAR_WIDTH + 6 <= w);
      if (label !== undefined) out.push(text(x(at) + w / 2, y + BAR / 2 + 4, label, 'text-anchor="middle" fill="#ffffff"'));
      at += value;
    }
    const versus = run.target === 'nginx' ? '' : ` ${formatRatio(roundRatio(r, run.target, key!, 'nginx', METRICS.cpuUsPerRequestTotal), false)}`;
    out.push(text(x(at) + 6, y + BAR / 2 + 4, `${(run.cpuUsPerRequestTotal ?? 0).toFixed(1)} µs${versus}`, ''), '</g>');
  });
  const nginx = runs.find((run) => run.target === 'nginx')?.cpuUsPerRequestTotal;
  if (nginx !== undefined) out.push(dashed(x(nginx), x(nginx), TOP - 6, bottom, COLORS['nginx']!));
  if (runs.length === 0) out.push(text(LEFT, TOP + 20, 'no CPU numbers in this run (Linux only)', ''));
  return [...out, '</svg>'].join('\n') + '\n';
}

export function renderScalingSvg(r: BenchResults): string {
  const [WIDTH, HEIGHT, LEFT, TOP, BOTTOM] = [640, 400, 80, 70, 60];
  const points = r.scaling;
  const plotW = WIDTH - LEFT - 30;
  const plotH = HEIGHT - TOP - BOTTOM;
  const max = Math.max(1, ...points.flatMap((p) => [p.requestsPerSec, p.idealRequestsPerSec])) * 1.1;
  const y = (v: number): number => TOP + plotH - (v / max) * plotH;
  const slot = plotW / Math.max(1, points.length);
  const x = (i: number): number => LEFT + slot * i + slot / 2;
  const out = start(WIDTH, HEIGHT, LEFT, `zeroproxy scaling: router + N SDK workers${quick(r)}`, [
    `${r.date} · bars: measured req/s · dashed: ideal (capacity × workers / delay)`,
  ]);
  out.push(`<line x1="${LEFT}" y1="${TOP + plotH}" x2="${WIDTH - 30}" y2="${TOP + plotH}" stroke="#333"/>`);
  out.push(`<line x1="${LEFT}" y1="${TOP}" x2="${LEFT}" y2="${TOP + plotH}" stroke="#333"/>`);
  out.push(text(LEFT - 8, TOP - 8, 'req/s', 'text-anchor="end" fill="#555"'));
  for (let t = 0; t <= 4; t++) out.push(text(LEFT - 6, y((max / 4) * t) + 4, kilo((max / 4) * t), 'text-anchor="end" fill="#555"'));
  const barW = Math.min(60, slot * 0.6);
  points.forEach((p, i) => {
    const top = y(p.requestsPerSec);
    out.push(bar(x(i) - barW / 2, top, barW, TOP + plotH - top, COLORS['zeroproxy-sdk']!, `${p.workers} workers: ${p.requestsPerSec.toFixed(0)} req/s, ideal ${p.idealRequestsPerSec.toFixed(0)}`));
    out.push(text(x(i), top - 6, kilo(p.requestsPerSec)), text(x(i), TOP + plotH + 18, `${p.workers} worker${p.workers === 1 ? '' : 's'}`));
  });
  const ideal = points.map((p, i) => `${x(i)},${y(p.idealRequestsPerSec)}`).join(' ');
  if (points.length > 0) out.push(`<polyline points="${ideal}" fill="none" stroke="#2c3e50" stroke-width="2" stroke-dasharray="6 4"/>`);
  return [...out, '</svg>'].join('\n') + '\n';
}
