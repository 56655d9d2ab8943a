/**
 * The examples work: `npm start` (examples/start.ts) brings up a router and both SDK example workers,
 * answers curl-style requests and streams SSE ticks, and SIGINT stops every process it started. It
 * survives what it invites: kill -9 of a worker leaves it serving and the worker comes back; and
 * `kill` of npm's own pid (npm does not pass the signal on) still stops everything it started.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { request } from 'undici';
import { httpRequest, pollUntil, REPO_ROOT, useTestEnvironment, withTimeout } from '../helpers/index.ts';
import path from 'node:path';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('examples/start.ts (npm start)', () => {
  const env = useTestEnvironment();

  it('starts router + echo + SSE workers, serves, and stops them all on SIGINT', async () => {
    const demo = env.group.spawnTs('npm-start', path.join(REPO_ROOT, 'examples', 'start.ts'), [], {
      env: { ZEROPROXY_HTTP: '127.0.0.1:0', ZEROPROXY_BIND: env.tmp.ipc('demo.sock'), SSE_TICK_MS: '50' },
    });
    const ready = await demo.waitForLog((l) => l.msg === 'demo ready', 30_000, '"demo ready"');
    const httpUrl = String(ready['http']);
    const pids = ready['pids'] as number[];
    assert.equal(pids.length, 3);

    const hello = await httpRequest(`${httpUrl}/hello?name=world`);
    assert.equal(hello.status, 200);
    const echoed = JSON.parse(hello.body.toString()) as { method: string; path: string };
    assert.equal(echoed.path, '/hello?name=world');

    const post = await httpRequest(`${httpUrl}/echo`, { method: 'POST', body: 'some body' });
    assert.equal((JSON.parse(post.body.toString()) as { body: string }).body, 'some body');

    const events = await withTimeout(request(`${httpUrl}/events?count=3`), 10_000, 'SSE response head');
    assert.equal(events.statusCode, 200);
    assert.match(String(events.headers['content-type']), /text\/event-stream/);
    const text = await withTimeout(events.body.text(), 10_000, 'three ticks');
    assert.equal((text.match(/^event: tick$/gm) ?? []).length, 3, text);

    demo.signal('SIGINT');
    const exit = await demo.waitForExit(20_000);
    assert.equal(exit.code, 0);
    await pollUntil(() => (pids.every((pid) => !isAlive(pid)) ? true : undefined), 5000, 'every child of npm start to be gone');
  });

  it('kill -9 of a demo worker: the router keeps serving, says so, and the worker comes back', async () => {
    const demo = env.group.spawnTs('npm-start-kill', path.join(REPO_ROOT, 'examples', 'start.ts'), [], {
      env: { ZEROPROXY_HTTP: '127.0.0.1:0', ZEROPROXY_BIND: env.tmp.ipc('demo-kill.sock') },
    });
    const ready = await demo.waitForLog((l) => l.msg === 'demo ready', 30_000, '"demo ready"');
    const httpUrl = String(ready['http']);
    const [routerPid, echoPid] = ready['pids'] as number[];
    process.kill(echoPid!, 'SIGKILL');
    // Requests keep being answered (the SSE worker serves the echo routes too) while the echo worker is down.
    for (let i = 0; i < 10; i++) assert.equal((await httpRequest(`${httpUrl}/hello?i=${i}`)).status, 200);
    const back = await demo.waitForLog((l) => l.msg === 'demo worker restarted' && l['name'] === 'echo-worker', 20_000, 'the echo worker restarted');
    assert.notEqual(back['pid'], echoPid);
    assert.ok(isAlive(Number(back['pid'])), 'the restarted worker runs');
    assert.ok(isAlive(routerPid!), 'the router never stopped');
    assert.match(demo.describe(40), /echo-worker exited \(signal SIGKILL\)/);
    assert.equal((await httpRequest(`${httpUrl}/hello`)).status, 200);
    demo.signal('SIGINT');
    assert.equal((await demo.waitForExit(20_000)).code, 0);
  });

  it('kill of npm\'s pid (npm start in the background) leaves nothing running', async () => {
    const npm = env.group.spawnProgram('npm', 'npm', ['start'], {
      env: { ZEROPROXY_HTTP: '127.0.0.1:0', ZEROPROXY_BIND: env.tmp.ipc('demo-npm.sock') },
      processGroup: true,
    });
    const ready = await npm.waitForLog((l) => l.msg === 'demo ready', 60_000, '"demo ready"');
    const started = [Number(ready['supervisor']), ...(ready['pids'] as number[])];
    try {
      npm.signal('SIGTERM');
      await npm.waitForExit(10_000);
      await pollUntil(() => (started.every((pid) => !isAlive(pid)) ? true : undefined), 20_000, 'start.ts, the router and both workers to be gone');
    } finally {
      for (const pid of started) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    }
  });
});
