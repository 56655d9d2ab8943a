/**
 * `npm run bench -- [flags]`: what to run and for how long. Every value has a default and a bound;
 * a bad flag prints one line and exits 2 (like the zeroproxy CLI).
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { SCALING_WORKER_COUNTS } from './scaling.ts';
import { TARGET_NAMES, type TargetName } from './targets/types.ts';

export const SCENARIO_KINDS = ['get', 'post', 'download', 'scaling'] as const;
export type ScenarioKind = (typeof SCENARIO_KINDS)[number];

export interface BenchOptions {
  quick: boolean;
  targets: TargetName[];
  /** Connection counts for the 1 KB GET; the 64 KB POST runs at 50 when 50 is among them. */
  connections: number[];
  scenarios: ScenarioKind[];
  durationSec: number;
  warmupSec: number;
  /** Interleaved rounds of every wrk scenario (measure.ts). */
  rounds: number;
  /** Warm up before every request kind (GET, POST, download); --quick warms up before the first only. */
  warmupEveryKind: boolean;
  downloadBytes: number;
  workerCapacity: number;
  /** Worker counts of the scaling curve. */
  scalingWorkers: number[];
  /** Where <date>.* and latest.* go. */
  outDir: string;
}

const DEFAULTS = { connections: [1, 50, 200], durationSec: 10, warmupSec: 3, downloadMiB: 100 } as const;
/** --quick: one connection count, 1 s scenarios, a smaller download, no scaling curve unless named — a smoke run under 30 s. */
const QUICK = { connections: [50], durationSec: 1, warmupSec: 1, downloadMiB: 32 } as const;
/** More rounds than this is a run of hours at the default duration; use a longer --duration instead. */
const MAX_ROUNDS = 20;

function intIn(min: number, max: number): (v: string) => number {
  return (v) => {
    if (!/^\d+$/.test(v)) throw new InvalidArgumentError(`"${v}" is not a whole number`);
    const n = Number(v);
    if (n < min || n > max) throw new InvalidArgumentError(`${n} is out of range ${min}..${max}`);
    return n;
  };
}

/** A comma-separated list of whole numbers in min..max, deduplicated and sorted. */
function intList(min: number, max: number): (v: string) => number[] {
  return (v) => [...new Set(v.split(',').map((s) => intIn(min, max)(s.trim())))].sort((a, b) => a - b);
}

function listOf<T extends string>(allowed: readonly T[]): (v: string) => T[] {
  return (v) => {
    const items = v.split(',').map((s) => s.trim()).filter((s) => s !== '');
    if (items.length === 0 || items.some((s) => !(allowed as readonly string[]).includes(s))) throw new InvalidArgumentError(`"${v}": choose from ${allowed.join(', ')}`);
    return [...new Set(items as T[])];
  };
}

export function parseBenchOptions(argv: readonly string[], defaultOutDir: string): BenchOptions {
  const program = new Command('bench')
    .description('zeroproxy benchmark: direct fastify vs nginx vs HAProxy vs zeroproxy, driven by wrk')
    .option('--quick', `smoke run: c=${QUICK.connections.join(',')}, ${QUICK.durationSec} s per scenario, ${QUICK.downloadMiB} MiB download, no scaling curve`)
    .option('--targets <list>', `comma-separated subset of ${TARGET_NAMES.join(',')}`, listOf(TARGET_NAMES))
    .option('--connections <list>', `wrk connection counts for the 1 KB GET (default ${DEFAULTS.connections.join(',')})`, intList(1, 10_000))
    .option('--scenarios <list>', `subset of ${SCENARIO_KINDS.join(',')}`, listOf(SCENARIO_KINDS))
    .option('--duration <s>', `seconds per measured scenario (default ${DEFAULTS.durationSec})`, intIn(1, 3600))
    .option('--warmup <s>', `seconds of warm-up per target and request kind (default ${DEFAULTS.warmupSec}; 0 = none)`, intIn(0, 600))
    .option('--rounds <n>', `measure every wrk scenario n times, targets interleaved, and report medians (1..${MAX_ROUNDS})`, intIn(1, MAX_ROUNDS), 1)
    .option('--download-mb <n>', `MiB in the streaming download (default ${DEFAULTS.downloadMiB})`, intIn(1, 4096))
    .option('--scaling-workers <list>', `worker counts of the scaling curve (default ${SCALING_WORKER_COUNTS.join(',')})`, intList(1, 64))
    .option('--capacity <n>', 'credit (concurrent streams) of each zeroproxy worker', intIn(1, 100_000), 256)
    .addOption(new Option('--out <dir>', 'results directory').default(defaultOutDir, 'bench/results'))
    .exitOverride()
    .configureOutput({ outputError: (str, write) => write(str.split('\n')[0]!.trim() + '\n') });
  program.parse([...argv], { from: 'user' });
  const f = program.opts<{
    quick?: true;
    targets?: TargetName[];
    connections?: number[];
    scenarios?: ScenarioKind[];
    duration?: number;
    warmup?: number;
    rounds: number;
    downloadMb?: number;
    scalingWorkers?: number[];
    capacity: number;
    out: string;
  }>();
  const quick = f.quick === true;
  const base = quick ? QUICK : DEFAULTS;
  return {
    quick,
    targets: f.targets ?? [...TARGET_NAMES],
    connections: f.connections ?? [...base.connections],
    scenarios: f.scenarios ?? SCENARIO_KINDS.filter((s) => !quick || s !== 'scaling'),
    durationSec: f.duration ?? base.durationSec,
    warmupSec: f.warmup ?? base.warmupSec,
    rounds: f.rounds,
    warmupEveryKind: !quick,
    downloadBytes: (f.downloadMb ?? base.downloadMiB) * 1024 * 1024,
    workerCapacity: f.capacity,
    scalingWorkers: f.scalingWorkers ?? [...SCALING_WORKER_COUNTS],
    outDir: f.out,
  };
}
