/**
 * The run as a picture: every request's latency (log scale) at the time it started, coloured by
 * kind, failures as red crosses, each second's p99 as a line, and the chaos events as vertical
 * marks (SIGKILL red, SIGTERM orange, router restart black). Hand-written SVG, no dependency.
 */
import type { ChaosEvent } from './events.ts';
import { percentile } from './report.ts';
import type { Outcome, RequestKind } from './request.ts';

const WIDTH = 960;
const HEIGHT = 420;
const LEFT = 64;
const RIGHT = 20;
const TOP = 48;
const BOTTOM = 56;
/** Beyond this many points only every k-th success is drawn (failures always are). */
const MAX_POINTS = 6000;

const KIND_COLOR: Readonly<Record<RequestKind, string>> = { get: '#2980b9', post: '#27ae60', stream: '#8e44ad' };
const EVENT_STYLE: Readonly<Partial<Record<ChaosEvent['kind'], string>>> = {
  SIGKILL: 'stroke="#e74c3c" stroke-width="1.5"',
  SIGTERM: 'stroke="#e67e22" stroke-width="1.5" stroke-dasharray="4 3"',
  'router-stop': 'stroke="#000" stroke-width="2"',
};

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

export interface SvgInput {
  title: string;
  outcomes: readonly Outcome[];
  events: readonly ChaosEvent[];
  durationMs: number;
  summary: string;
}

export function latencySvg(input: SvgInput): string {
  const plotW = WIDTH - LEFT - RIGHT;
  const plotH = HEIGHT - TOP - BOTTOM;
  const spanMs = Math.max(1000, input.durationMs, ...input.outcomes.map((o) => o.endedAtMs));
  const latencies = input.outcomes.map((o) => Math.max(0.1, o.endedAtMs - o.startedAtMs));
  const maxLatency = Math.max(10, ...latencies);
  const minLog = -1; // 0.1 ms
  const maxLog = Math.ceil(Math.log10(maxLatency));
  const x = (ms: number): number => LEFT + (ms / spanMs) * plotW;
  const y = (latencyMs: number): number => TOP + plotH - ((Math.log10(Math.max(0.1, latencyMs)) - minLog) / (maxLog - minLog)) * plotH;
  const parts: string[] = [];

  parts.push(`<text x="${LEFT}" y="20" font-size="15" font-weight="bold">${escapeXml(input.title)}</text>`);
  parts.push(`<text x="${LEFT}" y="38" font-size="12">${escapeXml(input.summary)}</text>`);
  for (let e = minLog; e <= maxLog; e++) {
    const v = 10 ** e;
    parts.push(`<line x1="${LEFT}" x2="${WIDTH - RIGHT}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`);
    parts.push(`<text x="${LEFT - 6}" y="${y(v) + 4}" font-size="11" text-anchor="end">${v >= 1000 ? `${v / 1000} s` : `${v} ms`}</text>`);
  }
  const stepS = Math.max(1, Math.ceil(spanMs / 1000 / 12));
  for (let s = 0; s * 1000 <= spanMs; s += stepS) {
    parts.push(`<text x="${x(s * 1000)}" y="${HEIGHT - BOTTOM + 16}" font-size="11" text-anchor="middle">${s} s</text>`);
  }
  parts.push(`<text x="${LEFT + plotW / 2}" y="${HEIGHT - 4}" font-size="12" text-anchor="middle">time since start (request start) — latency to the last body byte, log scale</text>`);

  for (const e of input.events) {
    const style = EVENT_STYLE[e.kind];
    if (style) parts.push(`<line x1="${x(e.atMs)}" x2="${x(e.atMs)}" y1="${TOP}" y2="${TOP + plotH}" ${style} opacity="0.6"><title>${escapeXml(`${e.kind} ${e.target} at ${(e.atMs / 1000).toFixed(2)} s`)}</title></line>`);
  }

  const stride = Math.max(1, Math.ceil(input.outcomes.length / MAX_POINTS));
  input.outcomes.forEach((o, i) => {
    const px = x(o.startedAtMs).toFixed(1);
    const py = y(o.endedAtMs - o.startedAtMs).toFixed(1);
    if (o.result === 'ok') {
      if (i % stride === 0) parts.push(`<circle cx="${px}" cy="${py}" r="1.6" fill="${KIND_COLOR[o.plan.kind]}" opacity="0.55"/>`);
    } else {
      parts.push(`<text x="${px}" y="${py}" font-size="11" fill="#c0392b" text-anchor="middle" dominant-baseline="middle">×<title>${escapeXml(`${o.plan.method} ${o.plan.kind}: ${o.result} ${o.status ?? ''} ${o.errorCode ?? ''}`)}</title></text>`);
    }
  });

  // p99 of each second's successes: the line a reader follows through the kills.
  const buckets = new Map<number, number[]>();
  for (const o of input.outcomes) {
    if (o.result !== 'ok') continue;
    const s = Math.floor(o.startedAtMs / 1000);
    let list = buckets.get(s);
    if (list === undefined) buckets.set(s, (list = []));
    list.push(o.endedAtMs - o.startedAtMs);
  }
  const line = [...buckets.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([s, list]) => `${x(s * 1000 + 500).toFixed(1)},${y(percentile(list.sort((a, b) => a - b), 99)).toFixed(1)}`);
  if (line.length > 1) parts.push(`<polyline points="${line.join(' ')}" fill="none" stroke="#34495e" stroke-width="1.5"/>`);

  const legend: [string, string][] = [
    ['GET', `<circle r="4" fill="${KIND_COLOR.get}"/>`],
    ['POST', `<circle r="4" fill="${KIND_COLOR.post}"/>`],
    ['stream', `<circle r="4" fill="${KIND_COLOR.stream}"/>`],
    ['failed', '<text font-size="13" fill="#c0392b" text-anchor="middle" dominant-baseline="middle">×</text>'],
    ['p99 / s', '<line x1="-8" x2="8" stroke="#34495e" stroke-width="2"/>'],
    ['SIGKILL', '<line y1="-7" y2="7" stroke="#e74c3c" stroke-width="2"/>'],
    ['SIGTERM', '<line y1="-7" y2="7" stroke="#e67e22" stroke-width="2" stroke-dasharray="3 2"/>'],
    ['router restart', '<line y1="-7" y2="7" stroke="#000" stroke-width="2"/>'],
  ];
  legend.forEach(([label, mark], i) => {
    const lx = WIDTH - RIGHT - 8 * 100 + i * 100;
    parts.push(`<g transform="translate(${lx + 10},${HEIGHT - BOTTOM + 34})">${mark}<text x="12" y="4" font-size="11">${escapeXml(label)}</text></g>`);
  });
  parts.push(`<rect x="${LEFT}" y="${TOP}" width="${plotW}" height="${plotH}" fill="none" stroke="#888"/>`);

  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif">\n<rect width="100%" height="100%" fill="#fff"/>\n${parts.join('\n')}\n</svg>\n`;
}
