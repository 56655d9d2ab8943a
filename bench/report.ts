/** The text report printed at the end of a run: where, what versions, then one table per scenario. */
import { CPU_NOTE, cpuRows, cpuSamples, cpuTitle, threadRows } from './cpu-rows.ts';
import type { BenchResults, WrkRecord } from './results-model.ts';
import { roundsNote, scenarioKeys, type ScenarioKey } from './round-stats.ts';
import { SCENARIO_LABELS } from './scenarios.ts';
import { downloadRows, failureName, scalingRows, wrkRows } from './table-rows.ts';

function pad(text: string, width: number, left = false): string {
  return left ? text.padEnd(width) : text.padStart(width);
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => pad(c, widths[i]!, i === 0)).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}


export function headerLines(r: BenchResults): string[] {
  const v = r.versions;
  return [
    `zeroproxy bench — ${r.date}${r.quick ? ' (quick smoke run: numbers are indicative only)' : ''}`,
    `machine: ${r.machine.cpuModel}, ${r.machine.cores} cores, ${r.machine.memoryGiB} GiB, ${r.machine.os}, load average ${r.machine.loadAverage} at start`,
    `versions: node ${v.node}, zeroproxy ${v.zeroproxy}, nginx ${v.nginx ?? 'missing'}, haproxy ${v.haproxy ?? 'missing'}, wrk ${v.wrk ?? 'missing'}`,
    `settings: wrk -t1, ${r.settings.durationSec} s per scenario, ${r.settings.warmupSec} s warm-up ${r.quick ? 'before the first scenario of each target' : 'per target and request kind'}; worker capacity ${r.settings.workerCapacity}`,
    ...r.notes.map((n) => `note: ${n}`),
    `note: ${roundsNote(r)}`,
  ];
}

function wrkTable(r: BenchResults, sample: ScenarioKey): string {
  const { head, rows } = wrkRows(r, sample, true);
  return `${SCENARIO_LABELS[sample.scenario]}, ${sample.connections} connection${sample.connections === 1 ? '' : 's'}\n${table(head, rows)}`;
}

/** CPU per request by process for one scenario, and the zeroproxy processes' thread split. */
function cpuTable(r: BenchResults, sample: WrkRecord): string {
  const { head, rows } = cpuRows(r, sample);
  const threads = threadRows(r, sample);
  const split = threads.rows.length > 0 ? `\nby thread (µs per request)\n${table(threads.head, threads.rows)}` : '';
  return `${cpuTitle(sample)}\n${table(head, rows)}${split}`;
}

function downloadTable(r: BenchResults): string {
  const { head, rows } = downloadRows(r, true);
  const size = r.downloads[0] ? `${(r.downloads[0].bytes / 2 ** 20).toFixed(0)} MiB` : '';
  return `Streaming download ${size} (front = the process in front of the backend; the backend itself for direct)\n${table(head, rows)}`;
}

function scalingTable(r: BenchResults): string {
  const first = (r.scaling ?? [])[0]!;
  const { head, rows } = scalingRows(r, true);
  const title = `Scaling: zeroproxy router + N SDK workers, handler waits ${first.delayMs} ms, capacity ${first.capacity} each, ${first.connections} connections (ideal = capacity × workers / ${first.delayMs} ms)`;
  return `${title}\n${table(head, rows)}`;
}

export function renderReport(r: BenchResults): string {
  const parts = [headerLines(r).join('\n')];
  for (const key of scenarioKeys(r)) parts.push(wrkTable(r, key));
  const cpu = cpuSamples(r);
  for (const sample of cpu) parts.push(cpuTable(r, sample));
  if (cpu.length > 0) parts.push(`CPU: ${CPU_NOTE}`);
  if (r.downloads.length > 0) parts.push(downloadTable(r));
  if ((r.scaling ?? []).length > 0) parts.push(scalingTable(r));
  const skipped = r.targets.filter((t) => t.status !== 'ok').map((t) => `${t.name}: ${t.status} — ${t.reason ?? ''}`);
  const failed = r.failures.map((f) => `${failureName(r, f)}: ${f.error.split('\n')[0]}`);
  if (skipped.length + failed.length > 0) parts.push(['Not measured:', ...skipped, ...failed].join('\n  '));
  parts.push('Ratios: req/s and MiB/s above ×1.00 beat the reference; latency above ×1.00 is slower than it.');
  return parts.join('\n\n');
}
