/** Writes bench/results/<date>.json and <date>.svg, plus latest.json / latest.svg copies. */
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { renderChartSvg } from './chart-svg.ts';
import type { BenchResults } from './results-model.ts';

/** "2026-11-27T20:01:02.123Z" → "2026-11-27T20-01-02Z": sortable, one file per run, no ':' in names. */
export function resultsBaseName(isoDate: string): string {
  return isoDate.replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
}

export async function writeResults(dir: string, results: BenchResults): Promise<{ json: string; svg: string }> {
  await mkdir(dir, { recursive: true });
  const base = join(dir, resultsBaseName(results.date));
  const json = `${base}.json`;
  const svg = `${base}.svg`;
  await writeFile(json, JSON.stringify(results, null, 2) + '\n');
  await writeFile(svg, renderChartSvg(results));
  await copyFile(json, join(dir, 'latest.json'));
  await copyFile(svg, join(dir, 'latest.svg'));
  return { json, svg };
}
