/**
 * Writes bench/results/<date>.json, <date>.svg, <date>.md (the docs/benchmarks.md block), <date>-cpu.svg (CPU
 * per request, when measured) and, when the scaling curve ran, <date>-scaling.svg — each also
 * copied to latest.*.
 */
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { renderChartSvg } from './chart-svg.ts';
import { hasCpu } from './cpu-rows.ts';
import { renderCpuSvg } from './cpu-svg.ts';
import { renderMarkdown } from './markdown.ts';
import type { BenchResults } from './results-model.ts';
import { renderScalingSvg } from './scaling-svg.ts';

export interface WrittenFiles {
  json: string;
  svg: string;
  markdown: string;
  scalingSvg?: string;
  /** Only when the run has CPU numbers (Linux). */
  cpuSvg?: string;
}

/** "2026-11-27T20:01:02.123Z" → "2026-11-27T20-01-02Z": sortable, one file per run, no ':' in names. */
export function resultsBaseName(isoDate: string): string {
  return isoDate.replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
}

export async function writeResults(dir: string, results: BenchResults): Promise<WrittenFiles> {
  await mkdir(dir, { recursive: true });
  const base = join(dir, resultsBaseName(results.date));
  const json = `${base}.json`;
  const svg = `${base}.svg`;
  await writeFile(json, JSON.stringify(results, null, 2) + '\n');
  await writeFile(svg, renderChartSvg(results));
  await copyFile(json, join(dir, 'latest.json'));
  await copyFile(svg, join(dir, 'latest.svg'));
  const markdown = `${base}.md`;
  await writeFile(markdown, renderMarkdown(results));
  await copyFile(markdown, join(dir, 'latest.md'));
  const files: WrittenFiles = { json, svg, markdown };
  if (results.runs.some(hasCpu)) {
    files.cpuSvg = `${base}-cpu.svg`;
    await writeFile(files.cpuSvg, renderCpuSvg(results));
    await copyFile(files.cpuSvg, join(dir, 'latest-cpu.svg'));
  }
  if ((results.scaling ?? []).length > 0) {
    files.scalingSvg = `${base}-scaling.svg`;
    await writeFile(files.scalingSvg, renderScalingSvg(results.scaling ?? [], `zeroproxy scaling — ${results.date}`));
    await copyFile(files.scalingSvg, join(dir, 'latest-scaling.svg'));
  }
  return files;
}
