/**
 * A self-contained SVG bar chart of req/s: one group per wrk scenario (GET 1 KB at each connection
 * count, the 64 KB POST), one bar per target, each bar labelled with its req/s and its ratio to
 * nginx, and a dashed line across each group at nginx's level. Over several rounds every bar is the
 * median and its ratio the median of per-round ratios (round-stats.ts). Written by hand: no dependency.
 */
import type { BenchResults, WrkRecord } from './results-model.ts';
import { findMedianRun, formatRatioSpread, medianRuns, METRICS, roundCount, roundRatio } from './round-stats.ts';
import { SCENARIO_LABELS } from './scenarios.ts';
import { TARGET_NAMES, type TargetName } from './targets/types.ts';

const COLORS: Readonly<Record<TargetName, string>> = {
  direct: '#7f8c8d',
  nginx: '#27ae60',
  haproxy: '#2980b9',
  'zeroproxy-sdk': '#e67e22',
  'zeroproxy-forward': '#c0392b',
};

const BAR = 46;
const BAR_GAP = 6;
const GROUP_GAP = 48;
const LEFT = 80;
const RIGHT = 30;
const TOP = 96;
const PLOT_HEIGHT = 300;
const BOTTOM = 70;

export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

function kilo(n: number): string {
  return n >= 1000 ? `${(n / 1000).toFixed(n >= 100_000 ? 0 : 1)}k` : n.toFixed(0);
}

/** A row of colour squares with their names, starting at (x, y), one every `spacing` px. */
export function legendSvg(items: readonly { name: string; color: string }[], x: number, y: number, spacing: number): string[] {
  return items.flatMap((item, i) => [
    `<rect x="${x + i * spacing}" y="${y}" width="12" height="12" fill="${item.color}"/>`,
    `<text x="${x + i * spacing + 16}" y="${y + 10}">${escapeXml(item.name)}</text>`,
  ]);
}

/** A round axis step giving about five ticks (the CPU chart uses it too). */
export function niceStep(max: number): number {
  const raw = max / 5;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw);
  return step ?? 10 * magnitude;
}

interface Group {
  sample: WrkRecord;
  bars: WrkRecord[];
}

function groupsOf(runs: readonly WrkRecord[]): Group[] {
  const groups: Group[] = [];
  for (const run of runs) {
    let g = groups.find((x) => x.sample.scenario === run.scenario && x.sample.connections === run.connections);
    if (!g) groups.push((g = { sample: run, bars: [] }));
    g.bars.push(run);
  }
  for (const g of groups) g.bars.sort((a, b) => TARGET_NAMES.indexOf(a.target) - TARGET_NAMES.indexOf(b.target));
  return groups;
}

export function renderChartSvg(r: BenchResults): string {
  const runs = medianRuns(r);
  const groups = groupsOf(runs);
  const targets = TARGET_NAMES.filter((t) => runs.some((x) => x.target === t));
  const groupWidth = (n: number): number => n * BAR + (n - 1) * BAR_GAP;
  const plotWidth = Math.max(360, groups.reduce((w, g) => w + groupWidth(g.bars.length) + GROUP_GAP, GROUP_GAP));
  const width = LEFT + plotWidth + RIGHT;
  const height = TOP + PLOT_HEIGHT + BOTTOM;
  const maxRps = Math.max(1, ...runs.map((x) => x.requestsPerSec));
  const rounds = roundCount(r);
  const perBar = rounds > 1 ? `median of ${rounds} interleaved rounds of ${r.settings.durationSec} s per bar` : `${r.settings.durationSec} s per bar`;
  const step = niceStep(maxRps * 1.15);
  const yMax = Math.ceil((maxRps * 1.15) / step) * step;
  const y = (v: number): number => TOP + PLOT_HEIGHT - (v / yMax) * PLOT_HEIGHT;
  const out: string[] = [];

  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`);
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(`<text x="${LEFT}" y="22" font-size="15" font-weight="bold">zeroproxy bench — requests per second (wrk -t1)${r.quick ? ' — quick smoke run' : ''}</text>`);
  out.push(`<text x="${LEFT}" y="40" fill="#555">${escapeXml(`${r.date} · ${r.machine.cpuModel}, ${r.machine.cores} cores shared by wrk, proxy and backend · ${perBar}`)}</text>`);
  out.push(`<text x="${LEFT}" y="56" fill="#555">${escapeXml('Over each bar: req/s and its ratio to nginx → fastify (the dashed line). Higher is better.')}</text>`);

  // Legend.
  out.push(...legendSvg(targets.map((t) => ({ name: t, color: COLORS[t] })), LEFT, 66, 130));

  // Axis and grid.
  for (let v = 0; v <= yMax + step / 2; v += step) {
    out.push(`<line x1="${LEFT}" x2="${LEFT + plotWidth}" y1="${y(v)}" y2="${y(v)}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${LEFT - 6}" y="${y(v) + 4}" text-anchor="end" fill="#555">${kilo(v)}</text>`);
  }
  out.push(`<line x1="${LEFT}" x2="${LEFT}" y1="${TOP}" y2="${TOP + PLOT_HEIGHT}" stroke="#333"/>`);
  out.push(`<line x1="${LEFT}" x2="${LEFT + plotWidth}" y1="${TOP + PLOT_HEIGHT}" y2="${TOP + PLOT_HEIGHT}" stroke="#333"/>`);
  out.push(`<text transform="translate(18 ${TOP + PLOT_HEIGHT / 2}) rotate(-90)" text-anchor="middle" fill="#333">requests / s</text>`);

  let x = LEFT + GROUP_GAP;
  for (const g of groups) {
    const w = groupWidth(g.bars.length);
    const nginx = findMedianRun(r, 'nginx', g.sample);
    g.bars.forEach((bar, i) => {
      const bx = x + i * (BAR + BAR_GAP);
      const by = y(bar.requestsPerSec);
      const cx = bx + BAR / 2;
      out.push(`<rect x="${bx}" y="${by}" width="${BAR}" height="${TOP + PLOT_HEIGHT - by}" fill="${COLORS[bar.target]}"><title>${escapeXml(`${bar.target}: ${bar.requestsPerSec.toFixed(0)} req/s, p50 ${bar.p50Ms.toFixed(3)} ms, p99 ${bar.p99Ms.toFixed(3)} ms`)}</title></rect>`);
      out.push(`<text x="${cx}" y="${by - 16}" text-anchor="middle">${kilo(bar.requestsPerSec)}</text>`);
      out.push(`<text x="${cx}" y="${by - 4}" text-anchor="middle" fill="#555" font-size="10">${escapeXml(formatRatioSpread(roundRatio(r, bar.target, g.sample, 'nginx', METRICS.requestsPerSec), false))}</text>`);
    });
    if (nginx) {
      const ny = y(nginx.requestsPerSec);
      out.push(`<line x1="${x - 6}" x2="${x + w + 6}" y1="${ny}" y2="${ny}" stroke="${COLORS.nginx}" stroke-dasharray="5 3" stroke-width="1.5"/>`);
    }
    out.push(`<text x="${x + w / 2}" y="${TOP + PLOT_HEIGHT + 18}" text-anchor="middle" font-weight="bold">${escapeXml(SCENARIO_LABELS[g.sample.scenario])}</text>`);
    out.push(`<text x="${x + w / 2}" y="${TOP + PLOT_HEIGHT + 33}" text-anchor="middle">${g.sample.connections} conn.</text>`);
    x += w + GROUP_GAP;
  }
  if (groups.length === 0) out.push(`<text x="${LEFT + 20}" y="${TOP + 40}">no wrk results in this run</text>`);
  out.push('</svg>');
  return out.join('\n') + '\n';
}
