/** examples/sharded-kv/demo.ts runs and shows keys staying put while workers leave and join. */
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { REPO_ROOT, useTestEnvironment } from '../helpers/index.ts';

describe('examples/sharded-kv', () => {
  const env = useTestEnvironment();

  it('the demo: only the departed worker’s keys move; a newcomer takes keys only for itself', async () => {
    const demo = env.group.spawnTs('kv-demo', path.join(REPO_ROOT, 'examples', 'sharded-kv', 'demo.ts'));
    const done = await demo.waitForLog((l) => l.msg === 'demo done', 90_000, '"demo done"');
    assert.equal(done['keys'], 30);
    assert.ok(Number(done['movedOnLeave']) > 0);
    assert.equal(done['onlyDepartedKeysMoved'], true);
    assert.ok(Number(done['movedOnJoin']) > 0);
    assert.equal(done['onlyToNewcomer'], true);
    const exit = await demo.waitForExit(30_000);
    assert.equal(exit.code, 0);
  });
});
