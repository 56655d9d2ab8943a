/** A private temporary directory per test file (ipc:// socket paths live here), removed in after(). */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface TempDir {
  path: string;
  /** An ipc:// endpoint inside this directory. Short names: unix socket paths are limited to ~107 bytes. */
  ipc(name: string): string;
  remove(): void;
}

export function makeTempDir(prefix = 'zp-'): TempDir {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  return {
    path: dir,
    ipc: (name: string) => `ipc://${path.join(dir, name)}`,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
