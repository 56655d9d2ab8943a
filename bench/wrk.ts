/**
 * Runs wrk (one thread, `--latency`) against a URL and parses the result. wrk is started through
 * the run's ChildSet like every other process, so Ctrl-C stops a running wrk too.
 */
import type { ChildSet } from './children.ts';
import { parseWrkOutput, type WrkResult } from './wrk-parse.ts';

export interface WrkRun {
  wrkPath: string;
  url: string;
  connections: number;
  durationSec: number;
  /** A wrk Lua script (e.g. the 64 KB POST), or none for plain GET. */
  script?: string;
}

/** A request slower than this counts as a wrk timeout error instead of stalling the run. */
const REQUEST_TIMEOUT = '5s';
/** wrk itself must end: its duration plus a generous margin, then it is killed. */
const MARGIN_MS = 15_000;

export async function runWrk(children: ChildSet, run: WrkRun): Promise<WrkResult> {
  const args = ['-t1', `-c${run.connections}`, `-d${run.durationSec}s`, '--latency', '--timeout', REQUEST_TIMEOUT];
  if (run.script !== undefined) args.push('-s', run.script);
  args.push(run.url);
  // Stopped by SIGTERM only when the run is interrupted: not worth a warning.
  const wrk = children.start({ name: 'wrk', command: run.wrkPath, args, cleanExits: ['exit code 0', 'SIGTERM'] });
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), run.durationSec * 1000 + MARGIN_MS)));
  const outcome = await Promise.race([wrk.exited, late]);
  clearTimeout(timer);
  if (outcome === 'late') {
    await children.stop([wrk]);
    throw new Error(`wrk ${args.join(' ')} did not finish within ${run.durationSec} s + ${MARGIN_MS} ms`);
  }
  if (outcome !== 'exit code 0') throw new Error(`wrk ${args.join(' ')} failed (${outcome}): ${wrk.output().trim()}`);
  return parseWrkOutput(wrk.output());
}
