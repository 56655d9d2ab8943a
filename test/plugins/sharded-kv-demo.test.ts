/**
 * examples/sharded-kv/demo.ts runs and shows keys staying put while workers leave and join.
 *
 * The test ends by itself whatever the demo does: every wait is bounded, and the demo runs as the
 * leader of its own process group, so its kv workers go with it. (Spawned in the test's group, a
 * demo killed after a failure left its workers running and holding its stderr pipe open: the test
 * process never exited and the runner hung until it was killed.)
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { ManagedProcess, REPO_ROOT, withTimeout } from '../helpers/index.ts';

const DEMO_DONE_MS = 90_000;
const EXIT_MS = 30_000;
/** Grace between SIGTERM and SIGKILL for the demo's process group at cleanup. */
const KILL_GRACE_MS = 3000;

/** Signals the demo's whole process group (the demo and its workers); false if none is left. */
function signalGroup(pgid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, sig);
    return true;
  } catch {
    return false; // ESRCH: nothing left in the group
  }
}

describe('examples/sharded-kv', () => {
  let demo: ManagedProcess | undefined;
  let exitGuard: (() => void) | undefined;

  after(async () => {
    if (demo === undefined) return;
    const pgid = demo.pid;
    if (signalGroup(pgid, 'SIGTERM')) {
      await withTimeout(demo.exited, KILL_GRACE_MS, 'the demo to exit').catch(() => undefined);
      signalGroup(pgid, 'SIGKILL'); // workers that outlived the demo, or a demo that ignored SIGTERM
    }
    // Whatever still holds the pipes must not keep this process alive.
    demo.child.stdout?.destroy();
    demo.child.stderr?.destroy();
    if (exitGuard !== undefined) process.off('exit', exitGuard); // the group is gone: its id may be reused
  });

  it('the demo: only the departed worker’s keys move; a newcomer takes keys only for itself', { timeout: DEMO_DONE_MS + EXIT_MS + 10_000 }, async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'examples', 'sharded-kv', 'demo.ts')], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group: the demo and the workers it starts
    });
    demo = new ManagedProcess('kv-demo', child);
    // If this process dies before after() runs (killed by the runner), take the demo's group along.
    const pgid = demo.pid;
    exitGuard = () => signalGroup(pgid, 'SIGKILL');
    process.once('exit', exitGuard);
    const done = await demo.waitForLog((l) => l.msg === 'demo done', DEMO_DONE_MS, '"demo done"');
    assert.equal(done['keys'], 30);
    assert.ok(Number(done['movedOnLeave']) > 0);
    assert.equal(done['onlyDepartedKeysMoved'], true);
    assert.ok(Number(done['movedOnJoin']) > 0);
    assert.equal(done['onlyToNewcomer'], true);
    const exit = await demo.waitForExit(EXIT_MS);
    assert.equal(exit.code, 0);
  });
});
