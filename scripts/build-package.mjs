#!/usr/bin/env node
// Builds what `npm pack` ships (the prepack script): dist/ = the router, worker SDK, protocol and CLI
// compiled by tsc (tsconfig.build.json), plus the assets tsc does not copy. Plain Node, no tsx: it runs
// before anything else is set up.
import { execFileSync } from 'node:child_process';
import { copyFileSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');
rmSync(dist, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json')], { stdio: 'inherit' });

// tsc rewrites `./x.ts` to `./x.js` in the JavaScript it emits but not in declaration files; a
// consumer's TypeScript would then look for ./x.ts, which is not shipped.
function* files(dir) {
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) yield* files(full);
    else yield full;
  }
}
const relativeTs = /((?:from|import)\s*\(?\s*['"])(\.{1,2}\/[^'"]+)\.ts(['"])/g;
for (const file of files(dist)) {
  if (!file.endsWith('.d.ts')) continue;
  const text = readFileSync(file, 'utf8');
  const fixed = text.replace(relativeTs, '$1$2.js$3');
  if (fixed !== text) writeFileSync(file, fixed);
}

// Files the compiled code reads at run time.
copyFileSync(path.join(root, 'router/src/admin/dashboard.html'), path.join(dist, 'router/src/admin/dashboard.html'));
console.log(`built ${path.relative(root, dist)}/`);
