/**
 * A small reader of the Prometheus text exposition format (version 0.0.4), written from the format's
 * description rather than taken from the code under test, so the tests check what a scraper sees.
 */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  samples: Sample[];
  /** `# TYPE name type` lines. */
  types: Map<string, string>;
}

function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  const re = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?/y;
  let pos = 0;
  while (pos < text.length) {
    re.lastIndex = pos;
    const m = re.exec(text);
    if (m === null) throw new Error(`bad label set: {${text}}`);
    labels[m[1]!] = m[2]!.replace(/\\(n|"|\\)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    pos = re.lastIndex;
  }
  return labels;
}

/** Values are Go floats: Prometheus accepts NaN and Inf in any case (prom-client writes "Nan"). */
function parseValue(text: string): number {
  const lower = text.toLowerCase();
  if (lower === '+inf' || lower === 'inf') return Infinity;
  if (lower === '-inf') return -Infinity;
  if (lower === 'nan') return NaN;
  const n = Number(text);
  if (text === '' || Number.isNaN(n)) throw new Error(`bad sample value: ${text}`);
  return n;
}

/** Parses a whole /metrics body; throws on any line that is not valid exposition format. */
export function parseExposition(body: string): Exposition {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const raw of body.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    if (line.startsWith('#')) {
      const t = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
      if (t) types.set(t[1]!, t[2]!);
      else if (!/^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* /.test(line)) throw new Error(`bad comment line: ${line}`);
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?$/.exec(line);
    if (!m) throw new Error(`bad sample line: ${line}`);
    samples.push({ name: m[1]!, labels: parseLabels(m[2] ?? ''), value: parseValue(m[3]!) });
  }
  return { samples, types };
}

function matches(sample: Sample, name: string, labels: Record<string, string>): boolean {
  if (sample.name !== name) return false;
  for (const [k, v] of Object.entries(labels)) if (sample.labels[k] !== v) return false;
  return true;
}

/** Sum of every sample named `name` whose labels include `labels` (0 when there is none). */
export function sumOf(exp: Exposition, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const s of exp.samples) if (matches(s, name, labels)) total += s.value;
  return total;
}

/** Whether any sample named `name` (with `labels`) is present. */
export function hasSample(exp: Exposition, name: string, labels: Record<string, string> = {}): boolean {
  return exp.samples.some((s) => matches(s, name, labels));
}
