/**
 * `npm test` lists its files explicitly (the project's rule), so a new test file that nobody added
 * would silently never run: every *.test.ts in the repository must be in the list, and every listed
 * file must exist.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from '../helpers/index.ts';

const SKIP_DIRS = new Set(['node_modules', 'dist', '.git']);

function testFiles(dir: string, found: string[] = []): string[] {
  for (const entry of readdirSync(path.join(REPO_ROOT, dir), { withFileTypes: true })) {
    const rel = path.posix.join(dir, entry.name);
    if (entry.isDirectory() && !SKIP_DIRS.has(entry.name)) testFiles(rel, found);
    else if (entry.isFile() && entry.name.endsWith('.test.ts')) found.push(rel);
  }
  return found;
}

test('every *.test.ts is in the npm test list, and every listed file exists', () => {
  const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: { test: string } };
  const listed = pkg.scripts.test.split(/\s+/).filter((w) => w.endsWith('.test.ts'));
  const onDisk = ['test', 'bench', 'examples'].flatMap((dir) => testFiles(dir));
  assert.deepEqual(onDisk.filter((f) => !listed.includes(f)).sort(), [], 'test files missing from the npm test list');
  assert.deepEqual(listed.filter((f) => !existsSync(path.join(REPO_ROOT, f))), [], 'listed test files that do not exist');
  assert.equal(new Set(listed).size, listed.length, 'a test file listed twice');
});
