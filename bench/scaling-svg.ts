/**
 * The scaling curve as a self-contained SVG: measured req/s per worker count (bars, labelled) and
 * the ideal capacity × workers / delay (dashed line), so where the router saturates is visible at
 * a glance. Written by hand like chart-svg.ts: no dependency.
 */
import { escapeXml } from './chart-svg.ts';
import type { ScalingRecord } from './results-model.ts';

const WIDTH = 640;
const HEIGHT = 400;
const LEFT = 80;
const RIGHT = 30;
const TOP = 70;
const BOTTOM = 60;

function kilo(n: number): string {
  return n >= 1000 ? `${(n / 1000).toFixed(1)}k` : n.toFixed(0);
}

export function renderScalingSvg(records: readonly ScalingRecord[], title: string): string {
  const plotW = WIDTH - LEFT - RIGHT;
  const plotH = HEIGHT - TOP - BOTTOM;
  const max = Math.max(1, ...records.flatMap((r) => [r.requestsPerSec, r.idealRequestsPerSec])) * 1.1;
  const y = (v: number): number => TOP + plotH - (v / max) * plotH;
  const slot = plotW / Math.max(1, records.length);
  const x = (i: number): number => LEFT + slot * i + slot / 2;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    `<text x="${LEFT}" y="24" font-size="15" font-weight="bold">${escapeXml(title)}</text>`,
    `<text x="${LEFT}" y="44" fill="#555">bars: measured req/s · dashed: ideal (capacity × workers / delay)</text>`,
    `<line x1="${LEFT}" y1="${TOP + plotH}" x2="${WIDTH - RIGHT}" y2="${TOP + plotH}" stroke="#333"/>`,
    `<line x1="${LEFT}" y1="${TOP}" x2="${LEFT}" y2="${TOP + plotH}" stroke="#333"/>`,
    `<text x="${LEFT - 8}" y="${TOP - 8}" text-anchor="end" fill="#555">req/s</text>`,
  ];
  for (let t = 0; t <= 4; t++) {
    const v = (max / 4) * t;
    out.push(`<text x="${LEFT - 6}" y="${y(v) + 4}" text-anchor="end" fill="#555">${kilo(v)}</text>`);
  }
  const barW = Math.min(60, slot * 0.6);
  records.forEach((r, i) => {
    const top = y(r.requestsPerSec);
    out.push(`<rect x="${x(i) - barW / 2}" y="${top}" width="${barW}" height="${TOP + plotH - top}" fill="#e67e22"/>`);
    out.push(`<text x="${x(i)}" y="${top - 6}" text-anchor="middle">${kilo(r.requestsPerSec)}</text>`);
    out.push(`<text x="${x(i)}" y="${TOP + plotH + 18}" text-anchor="middle">${r.workers} worker${r.workers === 1 ? '' : 's'}</text>`);
  });
  const ideal = records.map((r, i) => `${x(i)},${y(r.idealRequestsPerSec)}`).join(' ');
  if (records.length > 0) out.push(`<polyline points="${ideal}" fill="none" stroke="#2c3e50" stroke-width="2" stroke-dasharray="6 4"/>`);
  out.push('</svg>');
  return out.join('\n') + '\n';
}
