/**
 * `npm run chaos -- --duration <s> [--workers N] [--rate R] [--router-restarts] [--seed S]`: flags,
 * their defaults and limits. Bad values give one line on stderr and exit code 2 (cli/parse.ts).
 */
import { Command } from 'commander';
import { parseInteger } from '../cli/parse.ts';

export interface ChaosOptions {
  /** Seconds of load (and of killing). */
  durationS: number;
  /** Workers kept running; about half are SDK workers, half `--forward` bridges. */
  workers: number;
  /** Requests started per second (open loop, bounded by maxInFlight). */
  rate: number;
  routerRestarts: boolean;
  /** Seeds the choice of requests, victims and signals, so a run can be repeated. */
  seed: number;
  /** Mean time between two worker kills (ms); each gap is drawn from ±25 % of it. */
  killEveryMs: number;
  /** Mean time between two router restarts (ms), with --router-restarts. */
  routerRestartEveryMs: number;
  /** Heartbeat the router announces: a worker killed with SIGKILL is noticed after 3 of these. */
  heartbeatMs: number;
  /** A request with no end after this long is `hung`. */
  requestBoundMs: number;
  /** At most this many requests in flight from the client; later starts wait (and are counted late). */
  maxInFlight: number;
  /** Where the latency SVG goes; '' = no SVG. */
  resultsDir: string;
}

export function parseChaosOptions(argv: string[]): ChaosOptions {
  const program = new Command('chaos')
    .description('kill workers (and routers) under load and check that every response is right')
    .requiredOption('--duration <s>', 'seconds of load', parseInteger(1, 86_400))
    .option('--workers <n>', 'workers kept running (SDK and --forward bridges)', parseInteger(2, 64), 4)
    .option('--rate <r>', 'requests started per second', parseInteger(1, 10_000), 40)
    .option('--router-restarts', 'also restart the router now and then (same endpoints)', false)
    .option('--seed <s>', 'random seed (default: random, printed)', parseInteger(0, 0xffffffff))
    .option('--kill-every <ms>', 'mean time between worker kills', parseInteger(100, 600_000), 2000)
    .option('--router-restart-every <ms>', 'mean time between router restarts', parseInteger(1000, 600_000), 10_000)
    .option('--heartbeat <ms>', 'router heartbeat interval', parseInteger(50, 60_000), 500)
    .option('--request-bound <ms>', 'a request with no end after this long is hung', parseInteger(1000, 600_000), 30_000)
    .option('--max-in-flight <n>', 'client-side cap on requests in flight', parseInteger(1, 10_000), 256)
    .option('--results-dir <dir>', "where the latency SVG goes ('' for none)", 'chaos/results')
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2))
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  program.parse(argv, { from: 'user' });
  const f = program.opts<{
    duration: number;
    workers: number;
    rate: number;
    routerRestarts: boolean;
    seed?: number;
    killEvery: number;
    routerRestartEvery: number;
    heartbeat: number;
    requestBound: number;
    maxInFlight: number;
    resultsDir: string;
  }>();
  return {
    durationS: f.duration,
    workers: f.workers,
    rate: f.rate,
    routerRestarts: f.routerRestarts,
    seed: f.seed ?? Math.floor(Math.random() * 0xffffffff),
    killEveryMs: f.killEvery,
    routerRestartEveryMs: f.routerRestartEvery,
    heartbeatMs: f.heartbeat,
    requestBoundMs: f.requestBound,
    maxInFlight: f.maxInFlight,
    resultsDir: f.resultsDir,
  };
}
