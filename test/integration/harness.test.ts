/**
 * The harness itself, against plain node processes: log lines are parsed and awaited, waits time out
 * instead of hanging, and stop() escalates to SIGKILL for a process that ignores SIGTERM.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProcessGroup, useTestEnvironment, withTimeout } from '../helpers/index.ts';

describe('test harness', () => {
  const env = useTestEnvironment();

  it('parses JSON lines and waits for one that arrives later', async () => {
    const proc = env.group.spawnNode('printer', [
      '-e',
      `console.log(JSON.stringify({msg:'one'})); console.log('not json'); setTimeout(() => console.log(JSON.stringify({msg:'two', n: 2})), 200);`,
    ]);
    const line = await proc.waitForLog((l) => l.msg === 'two', 5000);
    assert.equal(line['n'], 2);
    assert.deepEqual(proc.logs.map((l) => l.msg), ['one', 'two']);
    assert.deepEqual(proc.rawOutput, ['not json']);
    assert.equal((await proc.waitForExit(5000)).code, 0);
  });

  it('waitForLog rejects after its timeout, and at once when the process exits', async () => {
    const idle = env.group.spawnNode('idle', ['-e', 'setTimeout(() => {}, 60000)']);
    await assert.rejects(idle.waitForLog((l) => l.msg === 'never', 300), /timed out after 300 ms/);
    const quitter = env.group.spawnNode('quitter', ['-e', 'process.exit(3)']);
    await assert.rejects(quitter.waitForLog((l) => l.msg === 'never', 10_000), /exited/);
  });

  it('stop() kills a process that ignores SIGTERM', async () => {
    const group = new ProcessGroup();
    const stubborn = group.spawnNode('stubborn', ['-e', `process.on('SIGTERM', () => {}); console.log('{"msg":"ready"}'); setInterval(() => {}, 1000);`]);
    await stubborn.waitForLog((l) => l.msg === 'ready', 5000);
    const exit = await withTimeout(group.stopAll(300).then(() => stubborn.exitInfo), 5000, 'stopAll');
    assert.equal(exit?.signal, 'SIGKILL');
  });
});
