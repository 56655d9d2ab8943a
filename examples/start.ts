/**
 * `npm start`: one command that runs a router and the two example workers as child processes,
 * prints where to point curl, and stops them all on Ctrl-C / SIGTERM (no orphans).
 *
 * Defaults: HTTP on 0.0.0.0:8080, workers' endpoint tcp://127.0.0.1:5555. Override with
 * ZEROPROXY_HTTP ("[host:]port") and ZEROPROXY_BIND (a ZeroMQ endpoint).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Supervisor } from './supervisor.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const HTTP = process.env['ZEROPROXY_HTTP'] ?? '8080';
const BIND = process.env['ZEROPROXY_BIND'] ?? 'tcp://127.0.0.1:5555';

async function stopAndExit(supervisor: Supervisor, code: number): Promise<never> {
  await supervisor.stopAll();
  console.log('[start] all stopped');
  process.exit(code);
}

async function main(): Promise<void> {
  const supervisor: Supervisor = new Supervisor({ cwd: ROOT, stopGraceMs: 10_000, startTimeoutMs: 30_000 }, (child, code) => {
    console.error(`[start] ${child.name} exited unexpectedly (code ${code}); stopping the rest`);
    void stopAndExit(supervisor, 1);
  });
  process.once('SIGINT', () => void stopAndExit(supervisor, 0));
  process.once('SIGTERM', () => void stopAndExit(supervisor, 0));

  try {
    const router = supervisor.start('router', [path.join(ROOT, 'bin', 'zeroproxy.js'), 'router', '--http', HTTP, '--bind', BIND]);
    const listening = await supervisor.waitForLine(router, (l) => l['msg'] === 'router listening');
    const httpUrl = String(listening['http']).replace('0.0.0.0', '127.0.0.1');
    const connect = String(listening['bind']);

    const workerEnv = { ZEROPROXY_CONNECT: connect };
    const tsx = ['--import', 'tsx'];
    const echo = supervisor.start('echo-worker', [...tsx, path.join(ROOT, 'examples', 'echo-worker.ts')], workerEnv);
    const sse = supervisor.start('sse-worker', [...tsx, path.join(ROOT, 'examples', 'sse-worker.ts')], workerEnv);
    await Promise.all([
      supervisor.waitForLine(echo, (l) => l['msg'] === 'echo worker ready'),
      supervisor.waitForLine(sse, (l) => l['msg'] === 'sse worker ready'),
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
        'Ctrl-C stops everything.',
        '',
      ].join('\n'),
    );
    // Machine-readable too, for tests and scripts: where it listens and which processes it owns.
    console.log(JSON.stringify({ msg: 'demo ready', http: httpUrl, bind: connect, pids: supervisor.pids }));
  } catch (err) {
    console.error(`[start] ${(err as Error).message}`);
    await stopAndExit(supervisor, 1);
  }
}

await main();
