/**
 * Runs wrk (one thread, `--latency`) against a URL and parses what it prints. wrk is started
 * through the run's ChildSet like every other process, so Ctrl-C stops a running wrk too. A line
 * of its output that is missing or malformed is an error naming it, never a NaN in the results.
 */
import { within, type ChildSet } from './children.ts';

export interface WrkResult {
  requests: number;
  requestsPerSec: number;
  /** Latency percentiles in milliseconds. */
  p50Ms: number;
  p75Ms: number;
  p90Ms: number;
  p99Ms: number;
  /** Responses with a status outside 2xx/3xx plus socket errors (connect, read, write, timeout). */
  errors: number;
}

export interface WrkRun {
  wrkPath: string;
  url: string;
  connections: number;
  durationSec: number;
  /** A wrk Lua script (the 64 KB POST), or none for plain GET. */
  script?: string;
}

/** A request slower than this counts as a wrk timeout error instead of stalling the run. */
const REQUEST_TIMEOUT = '5s';
/** wrk itself must end: its duration plus a generous margin, then it is killed. */
const MARGIN_MS = 15_000;

/** Milliseconds per unit as [multiply, divide] so "347.00us" gives exactly 0.347. */
const TIME_UNITS_MS: Readonly<Record<string, readonly [number, number]>> = { us: [1, 1000], ms: [1, 1], s: [1000, 1], m: [60_000, 1], h: [3_600_000, 1] };

/** "748.00us" → 0.748 (ms); undefined for anything else. */
export function parseWrkTime(text: string): number | undefined {
  const m = /^([\d.]+)(us|ms|s|m|h)$/.exec(text.trim());
  if (!m) return undefined;
  const value = Number(m[1]);
  const unit = TIME_UNITS_MS[m[2]!]!;
  return Number.isFinite(value) ? (value * unit[0]) / unit[1] : undefined;
}

function missing(what: string): Error {
  return new Error(`wrk output has no parsable ${what}`);
}

function percentile(output: string, pct: string): number {
  const m = new RegExp(`^\\s*${pct}%\\s+(\\S+)\\s*$`, 'm').exec(output);
  const ms = m ? parseWrkTime(m[1]!) : undefined;
  if (ms === undefined) throw missing(`${pct}% latency`);
  return ms;
}

export function parseWrkOutput(output: string): WrkResult {
  const total = /^\s*(\d+) requests in /m.exec(output);
  if (!total) throw missing('"N requests in T" line');
  const rps = /^Requests\/sec:\s+([\d.]+)/m.exec(output);
  if (!rps) throw missing('Requests/sec');
  const non2xx = /^\s*Non-2xx or 3xx responses:\s+(\d+)/m.exec(output);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  const socketErrors = sock ? sock.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0;
  return {
    requests: Number(total[1]),
    requestsPerSec: Number(rps[1]),
    p50Ms: percentile(output, '50'),
    p75Ms: percentile(output, '75'),
    p90Ms: percentile(output, '90'),
    p99Ms: percentile(output, '99'),
    errors: (non2xx ? Number(non2xx[1]) : 0) + socketErrors,
  };
}

export async function runWrk(children: ChildSet, run: WrkRun): Promise<WrkResult> {
  const args = ['-t1', `-c${run.connections}`, `-d${run.durationSec}s`, '--latency', '--timeout', REQUEST_TIMEOUT];
  if (run.script !== undefined) args.push('-s', run.script);
  args.push(run.url);
  // Stopped by SIGTERM only when the run is interrupted: not worth a warning.
  const wrk = children.start({ name: 'wrk', command: run.wrkPath, args, cleanExits: ['exit code 0', 'SIGTERM'] });
  const outcome = await within(wrk.exited, run.durationSec * 1000 + MARGIN_MS);
  if (outcome === 'late') {
    await children.stop([wrk]);
    throw new Error(`wrk ${args.join(' ')} did not finish within ${run.durationSec} s + ${MARGIN_MS} ms`);
  }
  if (outcome !== 'exit code 0') throw new Error(`wrk ${args.join(' ')} failed (${outcome}): ${wrk.tail(Infinity).trim()}`);
  return parseWrkOutput(wrk.tail(Infinity));
}
