/**
 * `npm run chaos -- --duration <s> [--workers N] [--rate R] [--router-restarts] [--seed S]`
 *
 * Starts a router, a backend and N workers through the CLI, drives steady load, and meanwhile kills
 * a random worker (SIGKILL or SIGTERM) every ~2 s and starts its replacement — and with
 * --router-restarts, restarts the router now and then. Prints a progress line each second, then
 * the summary line `requests N ok N failed N hung N wrong-body N retried N p50 X ms p99 Y ms`, and
 * exits 1 when a request hung, a body was wrong, or a request failed in a way the guarantees do not
 * allow (report.ts); 2 on bad flags; 3 when the harness itself could not run.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ProcessGroup, makeTempDir } from '../test/helpers/index.ts';
import { ChaosCluster } from './cluster.ts';
import { EventLog } from './events.ts';
import { LoadGenerator } from './load.ts';
import { parseChaosOptions, type ChaosOptions } from './options.ts';
import { Random } from './random.ts';
import { describeOutcome, judge, passed, summaryLine } from './report.ts';
import { SeenRequests } from './seen.ts';
import { latencySvg } from './svg.ts';

/** Lists at most this many unexplained failures in detail. */
const SHOWN_FAILURES = 10;

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The chaos schedule: a worker kill every ~killEvery ms, a router restart every ~routerRestartEvery ms. */
async function actor(o: ChaosOptions, cluster: ChaosCluster, load: LoadGenerator, rng: Random, endAt: number): Promise<void> {
  let nextRestart = Date.now() + rng.jitter(o.routerRestartEveryMs, 0.25);
  while (Date.now() < endAt) {
    const gap = rng.jitter(o.killEveryMs, 0.25);
    await sleep(Math.min(gap, endAt - Date.now()));
    if (Date.now() >= endAt) return;
    if (o.routerRestarts && Date.now() >= nextRestart) {
      load.pause();
      try {
        await cluster.restartRouter();
      } finally {
        load.resume();
      }
      nextRestart = Date.now() + rng.jitter(o.routerRestartEveryMs, 0.25);
    } else {
      cluster.killOne();
    }
  }
}

async function main(): Promise<number> {
  const o = parseChaosOptions(process.argv.slice(2));
  const startedAt = Date.now();
  const events = new EventLog(startedAt);
  const rng = new Random(o.seed);
  const group = new ProcessGroup();
  const tmp = makeTempDir('zp-chaos-');
  const seen = new SeenRequests();
  const cluster = new ChaosCluster(group, { workers: o.workers, heartbeatMs: o.heartbeatMs, bind: tmp.ipc('router.sock') }, rng, events, (proc) =>
    seen.watch(proc),
  );
  say(`chaos: seed ${o.seed}, ${o.workers} workers, ${o.rate} req/s for ${o.durationS} s${o.routerRestarts ? ', router restarts' : ''}`);
  try {
    await cluster.start();
    const load = new LoadGenerator(
      { baseUrl: cluster.httpUrl, rate: o.rate, maxInFlight: o.maxInFlight, boundMs: o.requestBoundMs, runTag: `chaos-${o.seed}` },
      new Random(o.seed ^ 0x1234567),
      () => events.now(),
    );
    const loadStartMs = events.now();
    load.start();
    const endAt = Date.now() + o.durationS * 1000;
    let lastDone = 0;
    const progress = setInterval(() => {
      const done = load.outcomes.length;
      const ok = load.outcomes.filter((x) => x.result === 'ok').length;
      const fresh = events.takeNew().filter((e) => e.kind !== 'worker-start').map((e) => `${e.kind} ${e.target}${e.detail && e.kind.startsWith('router') ? ` (${e.detail})` : ''}`);
      say(
        `[${String(Math.round((events.now() - loadStartMs) / 1000)).padStart(4)} s] req/s ${done - lastDone} ok ${ok} failed ${done - ok} in-flight ${load.inFlight} workers ${cluster.upCount}/${o.workers} seen-twice ${seen.retried}${fresh.length ? ` events: ${fresh.join(', ')}` : ''}`,
      );
      lastDone = done;
    }, 1000);
    try {
      await actor(o, cluster, load, rng, endAt);
      await load.stop();
    } finally {
      clearInterval(progress);
    }
    const verdict = judge(load.outcomes, events);
    for (const [why, n] of verdict.excused) say(`allowed failures: ${why}: ${n}`);
    for (const x of verdict.unexcused.slice(0, SHOWN_FAILURES)) say(`NOT ALLOWED: ${describeOutcome(x)}`);
    for (const x of load.outcomes.filter((y) => y.result === 'hung' || y.result === 'wrong-body').slice(0, SHOWN_FAILURES)) say(`BROKEN: ${describeOutcome(x)}`);
    for (const id of cluster.reRegistrationFailures) say(`NOT ALLOWED: worker ${id} did not register again with the restarted router`);
    if (o.routerRestarts) say(`router restarts: slowest worker re-registration ${cluster.slowestReRegistrationMs} ms after the new router listened (heartbeat ${o.heartbeatMs} ms)`);
    if (load.skippedAtCap > 0) say(`note: ${load.skippedAtCap} starts skipped at the ${o.maxInFlight} in-flight cap`);
    // The router's own count when it exports one (zeroproxy_retries_total), else what the servers saw.
    const routerRetries = await cluster.routerRetries();
    say(`retries: ${routerRetries === null ? 'router exports no count' : `${routerRetries} counted by the router(s)`}, ${seen.retried} requests seen by two servers`);
    const summary = summaryLine(verdict, routerRetries ?? seen.retried);
    if (o.resultsDir !== '') {
      mkdirSync(o.resultsDir, { recursive: true });
      const file = path.join(o.resultsDir, `${new Date(startedAt).toISOString().replace(/[:.]/g, '-')}.svg`);
      writeFileSync(file, latencySvg({ title: `zeroproxy chaos — seed ${o.seed}, ${o.workers} workers, ${o.rate} req/s`, outcomes: load.outcomes, events: events.events, durationMs: events.now(), summary }));
      say(`latency chart: ${file}`);
    }
    say(summary);
    return passed(verdict) && cluster.reRegistrationFailures.length === 0 ? 0 : 1;
  } finally {
    await cluster.stop();
    tmp.remove();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`chaos: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(3);
  },
);
