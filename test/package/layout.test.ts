/**
 * The layout's import rules, checked on the sources: the router and the worker SDK share code only
 * through proto/ (neither imports the other), and no module inside router/src or worker-sdk/src is
 * part of an import circle (type-only imports included: each layer's types have one home, so the
 * arrows run one way — http → core → workers → transport).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from '../helpers/index.ts';

function sources(dir: string, found: string[] = []): string[] {
  for (const entry of readdirSync(path.join(REPO_ROOT, dir), { withFileTypes: true })) {
    const rel = path.posix.join(dir, entry.name);
    if (entry.isDirectory()) sources(rel, found);
    else if (entry.name.endsWith('.ts')) found.push(rel);
  }
  return found;
}

/** Relative imports and re-exports of `file`, as repository paths. */
function importsOf(file: string): string[] {
  const text = readFileSync(path.join(REPO_ROOT, file), 'utf8');
  return [...text.matchAll(/^(?:import|export)\s[^;]*?from\s+'(\.[^']+)'/gm)].map((m) => path.posix.normalize(path.posix.join(path.posix.dirname(file), m[1]!)));
}

test('router/ and worker-sdk/ never import each other', () => {
  const crossing = [
    ...sources('router/src').flatMap((f) => importsOf(f).filter((i) => i.startsWith('worker-sdk/')).map((i) => `${f} → ${i}`)),
    ...sources('worker-sdk/src').flatMap((f) => importsOf(f).filter((i) => i.startsWith('router/')).map((i) => `${f} → ${i}`)),
  ];
  assert.deepEqual(crossing, []);
});

for (const root of ['router/src', 'worker-sdk/src']) {
  test(`no import circle inside ${root}`, () => {
    const files = sources(root);
    const graph = new Map(files.map((f) => [f, importsOf(f).filter((i) => i.startsWith(`${root}/`))]));
    // Depth-first search; a back edge to a module on the current path is a circle.
    const state = new Map<string, 'open' | 'done'>();
    const circles: string[] = [];
    const visit = (file: string, trail: string[]): void => {
      state.set(file, 'open');
      for (const next of graph.get(file) ?? []) {
        if (state.get(next) === 'open') circles.push([...trail.slice(trail.indexOf(next)), file, next].join(' → '));
        else if (!state.has(next)) visit(next, [...trail, file]);
      }
      state.set(file, 'done');
    };
    for (const file of files) if (!state.has(file)) visit(file, []);
    assert.deepEqual(circles, []);
  });
}
