/**
 * `npm start`: one command that runs a router and the two example workers as child processes,
 * prints where to point curl, restarts a worker that dies (kill -9 one to watch its requests move),
 * and stops them all on Ctrl-C / SIGTERM / SIGHUP or when npm (its parent) goes away (no orphans).
 *
 * Defaults: HTTP on 0.0.0.0:8080, workers' endpoint tcp://127.0.0.1:5555. Override with
 * ZEROPROXY_HTTP ("[host:]port") and ZEROPROXY_BIND (a ZeroMQ endpoint).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeExit, Supervisor } from './supervisor.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const HTTP = process.env['ZEROPROXY_HTTP'] ?? '8080';
const BIND = process.env['ZEROPROXY_BIND'] ?? 'tcp://127.0.0.1:5555';

async function stopAndExit(supervisor: Supervisor, code: number): Promise<never> {
  await supervisor.stopAll();
  console.log('[start] all stopped');
  process.exit(code);
}

async function main(): Promise<void> {
  const supervisor: Supervisor = new Supervisor(
    { cwd: ROOT, stopGraceMs: 10_000, startTimeoutMs: 30_000, restartDelayMs: 1000, maxRestarts: 20 },
    {
      fatalExit(child, status) {
        console.error(`[start] ${child.spec.name} exited unexpectedly (${describeExit(status)}); stopping the rest`);
        void stopAndExit(supervisor, 1);
      },
      notice: (message) => console.error(`[start] ${message}`),
      restarted(child) {
        console.error(`[start] ${child.spec.name} is back (pid ${child.proc.pid})`);
        console.log(JSON.stringify({ msg: 'demo worker restarted', name: child.spec.name, pid: child.proc.pid, pids: supervisor.pids }));
      },
    },
  );
  process.once('SIGINT', () => void stopAndExit(supervisor, 0));
  process.once('SIGTERM', () => void stopAndExit(supervisor, 0));
  process.once('SIGHUP', () => void stopAndExit(supervisor, 0));
  supervisor.onParentExit(() => {
    console.error('[start] the parent process (npm) is gone; stopping everything');
    void stopAndExit(supervisor, 0);
  });

  try {
    const { line: listening } = await supervisor.start({
      name: 'router',
      args: [path.join(ROOT, 'bin', 'zeroproxy.js'), 'router', '--http', HTTP, '--bind', BIND],
      ready: (l) => l['msg'] === 'router listening',
      restart: false,
    });
    const httpUrl = String(listening['http']).replace('0.0.0.0', '127.0.0.1');
    const connect = String(listening['bind']);

    const env = { ZEROPROXY_CONNECT: connect };
    const tsx = ['--import', 'tsx'];
    await Promise.all([
      supervisor.start({ name: 'echo-worker', args: [...tsx, path.join(ROOT, 'examples', 'echo-worker.ts')], env, ready: (l) => l['msg'] === 'echo worker ready', restart: true }),
      supervisor.start({ name: 'sse-worker', args: [...tsx, path.join(ROOT, 'examples', 'sse-worker.ts')], env, ready: (l) => l['msg'] === 'sse worker ready', restart: true }),
    ]);

    console.log(
      [
        '',
        `zeroproxy is up: router ${httpUrl} (workers connect to ${connect}), 2 workers registered.`,
        '',
        `  curl -i ${httpUrl}/hello?name=world`,
        `  curl -i -X POST --data 'some body' ${httpUrl}/echo`,
        `  curl -N ${httpUrl}/events          # server-sent events, one tick per second`,
        '',
        'More workers join live, e.g.:',
        `  ZEROPROXY_CONNECT=${connect} node --import tsx examples/echo-worker.ts`,
        '',
        'Kill a worker (kill -9) and the demo restarts it; Ctrl-C stops everything.',
        '',
      ].join('\n'),
    );
    // Machine-readable too, for tests and scripts: where it listens and which processes it owns.
    console.log(JSON.stringify({ msg: 'demo ready', http: httpUrl, bind: connect, pids: supervisor.pids, supervisor: process.pid }));
  } catch (err) {
    console.error(`[start] ${(err as Error).message}`);
    await stopAndExit(supervisor, 1);
  }
}

await main();
