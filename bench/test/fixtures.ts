/** Hand-made results for the report, chart and rounds tests: what a run with these records would write. */
import type { ThreadSplit } from '../cpu.ts';
import type { BenchResults, WrkRecord } from '../results.ts';
import type { TargetName } from '../targets/types.ts';

export interface RunSpec {
  connections?: number;
  round?: number;
  requestsPerSec: number;
  p50Ms: number;
  p99Ms?: number;
  /** µs per request by role, wrk included; the total is the sum of the others. */
  cpu?: Record<string, number>;
  threads?: Record<string, ThreadSplit>;
}

/** A GET 1 KB record (p99 = 3 × p50 unless given). */
export function wrkRun(target: TargetName, s: RunSpec): WrkRecord {
  const p99Ms = s.p99Ms ?? s.p50Ms * 3;
  const rec: WrkRecord = {
    target,
    scenario: 'get-1kb',
    connections: s.connections ?? 50,
    round: s.round ?? 1,
    requestsPerSec: s.requestsPerSec,
    p50Ms: s.p50Ms,
    p75Ms: s.p50Ms,
    p90Ms: p99Ms,
    p99Ms,
    requests: s.requestsPerSec,
    errors: 0,
  };
  if (s.cpu === undefined) return rec;
  const total = Object.entries(s.cpu).reduce((sum, [role, us]) => sum + (role === 'wrk' ? 0 : us), 0);
  return { ...rec, cpuUsPerRequest: s.cpu, cpuUsPerRequestTotal: total, ...(s.threads && { cpuThreadsUsPerRequest: s.threads }) };
}

export function benchResults(runs: WrkRecord[], more: Partial<BenchResults> = {}): BenchResults {
  return {
    date: '2026-11-27T20:01:02.123Z',
    quick: false,
    settings: { durationSec: 4, warmupSec: 3, connections: [1, 50], downloadBytes: 100 * 2 ** 20, workerCapacity: 256, wrkThreads: 1, rounds: Math.max(1, ...runs.map((x) => x.round)) },
    machine: { cpuModel: 'Test <CPU> & co', cores: 2, os: 'Linux', memoryGiB: 8, loadAverage: 0.1 },
    versions: { node: 'v20', zeroproxy: '0.1.0', nginx: '1.22.1', haproxy: '2.6', wrk: '4.1.0' },
    notes: [],
    targets: [],
    runs,
    summary: [],
    downloads: [],
    scaling: [],
    failures: [],
    ...more,
  };
}

/** Checks XML well-formedness by hand: every tag closed in order, one root, no stray `<` or `&`. */
export function wellFormedXmlProblem(xml: string): string | undefined {
  const token = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<&]*(?:&(?:amp|lt|gt|quot|apos);[^"<&]*)*")*)\s*(\/?)>|([^<]+)/gy;
  const stack: string[] = [];
  let roots = 0;
  let m: RegExpExecArray | null;
  while (token.lastIndex < xml.length && (m = token.exec(xml)) !== null) {
    const [, closing, name, , selfClosing, text] = m;
    if (text !== undefined) {
      if (stack.length === 0 && text.trim() !== '') return `text outside the root: ${text}`;
      if (/&(?!(?:amp|lt|gt|quot|apos);)/.test(text)) return `bare & in ${text}`;
    } else if (closing) {
      if (stack.pop() !== name) return `</${name}> does not close the open tag`;
    } else {
      if (stack.length === 0) roots++;
      if (!selfClosing) stack.push(name!);
    }
  }
  if (token.lastIndex !== xml.length) return `not a tag or text at ${token.lastIndex}: ${xml.slice(token.lastIndex, token.lastIndex + 60)}`;
  if (stack.length > 0) return `unclosed: ${stack.join(', ')}`;
  return roots === 1 ? undefined : `${roots} root elements`;
}
