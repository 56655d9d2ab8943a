#!/usr/bin/env node
// In a checkout of the repository the TypeScript sources run through tsx's loader, so there is no
// build step to forget; an installed package (npm pack / publish) ships no sources and runs the
// JavaScript that `npm run build` compiled into dist/.
import { existsSync } from 'node:fs';

if (existsSync(new URL('../cli/main.ts', import.meta.url))) {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../cli/main.ts');
} else {
  await import('../dist/cli/main.js');
}
