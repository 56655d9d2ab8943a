/**
 * CPU time per request as a self-contained SVG: one horizontal bar per target, stacked from one
 * segment per process role (nginx + backend, router + worker, …), each labelled, the total and its
 * ratio to nginx's total at the end of the bar, and a dashed line at nginx's total. Shorter is
 * cheaper. Shows the headline scenario (GET 1 KB, c=50), medians over rounds (ratios: median of
 * per-round ratios). Written by hand like chart-svg.ts.
 */
import { escapeXml, legendSvg, niceStep } from './chart-svg.ts';
import { cpuRuns, cpuTitle, headlineCpuSample, servingRoles } from './cpu-rows.ts';
import type { BenchResults } from './results-model.ts';
import { findMedianRun, formatRatioSpread, METRICS, roundRatio } from './round-stats.ts';

const ROLE_COLORS: Readonly<Record<string, string>> = {
  nginx: '#27ae60',
  haproxy: '#2980b9',
  router: '#e67e22',
  worker: '#b9770e',
  bridge: '#c0392b',
  backend: '#7f8c8d',
};
/** For roles without a colour of their own. */
const SPARE_COLORS = ['#8e44ad', '#16a085', '#d35400', '#2c3e50'];

const WIDTH = 820;
const LEFT = 140;
const RIGHT = 150;
const TOP = 104;
const ROW = 36;
const BAR = 24;
const BOTTOM = 56;
/** Rough width of one character at font-size 11, to decide whether a label fits in its segment. */
const CHAR_WIDTH = 6.4;

function roleColor(role: string, roles: readonly string[]): string {
  return ROLE_COLORS[role] ?? SPARE_COLORS[roles.indexOf(role) % SPARE_COLORS.length]!;
}

export function renderCpuSvg(r: BenchResults): string {
  const sample = headlineCpuSample(r);
  const runs = sample === undefined ? [] : cpuRuns(r, sample);
  const roles = servingRoles(runs);
  const plotW = WIDTH - LEFT - RIGHT;
  const height = TOP + Math.max(1, runs.length) * ROW + BOTTOM;
  const maxTotal = Math.max(1, ...runs.map((x) => x.cpuUsPerRequestTotal ?? 0));
  const step = niceStep(maxTotal);
  const xMax = Math.ceil(maxTotal / step) * step;
  const x = (us: number): number => LEFT + (us / xMax) * plotW;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    `<text x="20" y="22" font-size="15" font-weight="bold">${escapeXml(`zeroproxy bench — ${sample ? cpuTitle(sample) : 'CPU per request'}${r.quick ? ' — quick smoke run' : ''}`)}</text>`,
    `<text x="20" y="40" fill="#555">${escapeXml(`${r.date} · ${r.machine.cpuModel}, ${r.machine.cores} cores · one segment per process, shorter is cheaper`)}</text>`,
    `<text x="20" y="56" fill="#555">${escapeXml("user + system CPU of all threads (/proc) over the measured run ÷ requests; wrk, the client, not included; dashed: nginx's total")}</text>`,
  ];
  out.push(...legendSvg(roles.map((role) => ({ name: role, color: roleColor(role, roles) })), LEFT, 70, 100));
  for (let v = 0; v <= xMax + step / 2; v += step) {
    out.push(`<line x1="${x(v)}" x2="${x(v)}" y1="${TOP - 6}" y2="${TOP + runs.length * ROW}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${x(v)}" y="${TOP + runs.length * ROW + 16}" text-anchor="middle" fill="#555">${Number(v.toFixed(2))}</text>`);
  }
  out.push(`<text x="${LEFT + plotW / 2}" y="${TOP + runs.length * ROW + 36}" text-anchor="middle" fill="#333">µs of CPU per request</text>`);

  const nginx = sample === undefined ? undefined : findMedianRun(r, 'nginx', sample)?.cpuUsPerRequestTotal;
  runs.forEach((run, i) => {
    const y = TOP + i * ROW + (ROW - BAR) / 2;
    const total = run.cpuUsPerRequestTotal ?? 0;
    out.push(`<g data-target="${escapeXml(run.target)}">`);
    out.push(`<text x="${LEFT - 8}" y="${y + BAR / 2 + 4}" text-anchor="end" font-weight="bold">${escapeXml(run.target)}</text>`);
    let at = 0;
    for (const role of roles) {
      const value = run.cpuUsPerRequest?.[role];
      if (value === undefined || value <= 0) continue;
      const sx = x(at);
      const w = x(at + value) - sx;
      const label = [`${role} ${value.toFixed(1)}`, value.toFixed(1)].find((t) => t.length * CHAR_WIDTH + 6 <= w);
      out.push(`<rect x="${sx}" y="${y}" width="${w}" height="${BAR}" fill="${roleColor(role, roles)}" stroke="#ffffff"><title>${escapeXml(`${run.target} / ${role}: ${value.toFixed(1)} µs per request`)}</title></rect>`);
      if (label !== undefined) out.push(`<text x="${sx + w / 2}" y="${y + BAR / 2 + 4}" text-anchor="middle" fill="#ffffff">${escapeXml(label)}</text>`);
      at += value;
    }
    const versus = run.target === 'nginx' || sample === undefined ? '' : ` ${formatRatioSpread(roundRatio(r, run.target, sample, 'nginx', METRICS.cpuUsPerRequestTotal), false)}`;
    out.push(`<text x="${x(at) + 6}" y="${y + BAR / 2 + 4}">${escapeXml(`${total.toFixed(1)} µs${versus}`)}</text>`);
    out.push('</g>');
  });
  if (nginx !== undefined) {
    out.push(`<line x1="${x(nginx)}" x2="${x(nginx)}" y1="${TOP - 6}" y2="${TOP + runs.length * ROW}" stroke="${ROLE_COLORS['nginx']}" stroke-dasharray="5 3" stroke-width="1.5"/>`);
  }
  if (runs.length === 0) out.push(`<text x="${LEFT}" y="${TOP + 20}">no CPU numbers in this run (Linux only)</text>`);
  out.push('</svg>');
  return out.join('\n') + '\n';
}
