/**
 * Per-file test environment: one ProcessGroup and one temp dir, both cleaned up by an after() hook
 * registered here — so a failing test still leaves no process or socket file behind.
 */
import { after } from 'node:test';
import { ProcessGroup } from './process.ts';
import { makeTempDir, type TempDir } from './tmp.ts';

export interface TestEnvironment {
  group: ProcessGroup;
  tmp: TempDir;
}

export function useTestEnvironment(): TestEnvironment {
  const group = new ProcessGroup();
  const tmp = makeTempDir();
  after(async () => {
    await group.stopAll();
    tmp.remove();
  });
  return { group, tmp };
}
