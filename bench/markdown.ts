/**
 * The benchmark section of docs/benchmarks.md, rendered from one run: where and when it ran, with which
 * versions, then a markdown table per scenario (req/s, p50, p99, each with its ratio to nginx and to
 * the direct backend; medians over rounds, see round-stats.ts), the download and the scaling curve. `npm run bench` prints it between two
 * marker lines and writes it to bench/results/<date>.md, so it is pasted, never retyped.
 */
import { CPU_NOTE, cpuRows, cpuTitle, headlineCpuSample, threadRows } from './cpu-rows.ts';
import type { BenchResults, WrkRecord } from './results-model.ts';
import { roundsNote, scenarioKeys, type ScenarioKey } from './round-stats.ts';
import { SCENARIO_LABELS } from './scenarios.ts';
import { downloadRows, failureName, scalingRows, wrkRows } from './table-rows.ts';


/** Table cells may not contain `|`. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|');
}

function mdTable(head: string[], rows: string[][], rightFrom = 1): string {
  const align = head.map((_, i) => (i >= rightFrom ? '---:' : '---'));
  const line = (cells: string[]): string => `| ${cells.map(cell).join(' | ')} |`;
  return [line(head), `|${align.join('|')}|`, ...rows.map(line)].join('\n');
}

function wrkSection(r: BenchResults, sample: ScenarioKey): string {
  const { head, rows } = wrkRows(r, sample, false);
  const title = `**${SCENARIO_LABELS[sample.scenario]}, ${sample.connections} connection${sample.connections === 1 ? '' : 's'}**`;
  return `${title}\n\n${mdTable(head, rows)}`;
}

/** The headline scenario's CPU per request by process, and the zeroproxy processes' thread split. */
function cpuSection(r: BenchResults, sample: Pick<WrkRecord, 'scenario' | 'connections'>): string {
  const { head, rows } = cpuRows(r, sample);
  const threads = threadRows(r, sample);
  const split = threads.rows.length > 0 ? `\n\nBy thread (µs per request):\n\n${mdTable(threads.head, threads.rows, 2)}` : '';
  return `**${cpuTitle(sample)}**\n\n${mdTable(head, rows)}${split}\n\n${CPU_NOTE}`;
}

function downloadSection(r: BenchResults): string {
  const { head, rows } = downloadRows(r, false);
  const size = `${(r.downloads[0]!.bytes / 2 ** 20).toFixed(0)} MiB`;
  return `**Streaming download, ${size}**\n\n${mdTable(head, rows)}`;
}

function scalingSection(r: BenchResults): string {
  const first = (r.scaling ?? [])[0]!;
  const { head, rows } = scalingRows(r, false);
  const title =
    `**Scaling: router + N SDK workers** (handler waits ${first.delayMs} ms, capacity ${first.capacity} each, ` +
    `${first.connections} connections; ideal = capacity × workers / ${first.delayMs} ms)`;
  return `${title}\n\n${mdTable(head, rows)}`;
}

export function renderMarkdown(r: BenchResults): string {
  const v = r.versions;
  const m = r.machine;
  const parts = [
    `Measured ${r.date.slice(0, 10)} (${r.date})${r.quick ? ' — **quick smoke run, indicative only**' : ''} on ${m.cpuModel}, ${m.cores} cores, ` +
      `${m.memoryGiB} GiB, ${m.os} (load average ${m.loadAverage} at start); node ${v.node}, zeroproxy ${v.zeroproxy}, ` +
      `nginx ${v.nginx ?? 'missing'}, HAProxy ${v.haproxy ?? 'missing'}, wrk ${v.wrk ?? 'missing'}. ` +
      `wrk -t1, ${r.settings.durationSec} s per scenario; worker capacity ${r.settings.workerCapacity}. ` +
      'Reproduce: `npm run bench` (see bench/README.md).',
    ...r.notes.map((n) => `> ${n}`),
    `> ${roundsNote(r)}`,
  ];
  for (const key of scenarioKeys(r)) parts.push(wrkSection(r, key));
  const cpu = headlineCpuSample(r);
  if (cpu !== undefined) parts.push(cpuSection(r, cpu));
  if (r.downloads.length > 0) parts.push(downloadSection(r));
  if ((r.scaling ?? []).length > 0) parts.push(scalingSection(r));
  const missing = [
    ...r.targets.filter((t) => t.status !== 'ok').map((t) => `${t.name}: ${t.status} (${t.reason ?? ''})`),
    ...r.failures.map((f) => `${failureName(r, f)}: failed`),
  ];
  if (missing.length > 0) parts.push(`Not measured in this run: ${missing.join('; ')}.`);
  parts.push('req/s and MiB/s above ×1.00 beat the reference; latency above ×1.00 is slower than it.');
  return parts.join('\n\n') + '\n';
}
