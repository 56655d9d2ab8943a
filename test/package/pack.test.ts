/**
 * The SDK as a package, as a user's project gets it: `npm pack` (which builds dist/ in its prepack
 * step) gives a tarball with compiled JavaScript and .d.ts types and nothing of the repository's
 * tests, bench or fixtures; installed into an empty project, a plain-JavaScript worker importing
 * `zeroproxy/worker` runs under plain `node` (no loader) against `npx zeroproxy router` from that
 * install and answers through it; and TypeScript in that project type-checks against the types.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { httpRequest, REPO_ROOT, useTestEnvironment } from '../helpers/index.ts';

const run = promisify(execFile);
const NPM_TIMEOUT_MS = 180_000;

describe('npm pack → install into an empty project', () => {
  const env = useTestEnvironment();

  it('ships dist/ and no tests; a plain-JS worker and `npx zeroproxy router` from the install serve a request', async (t) => {
    const packDir = env.tmp.path;
    // npm pack builds dist/ in the checkout (prepack); it is removed again so no later run reads it.
    t.after(() => rmSync(path.join(REPO_ROOT, 'dist'), { recursive: true, force: true }));
    await run('npm', ['pack', '--pack-destination', packDir], { cwd: REPO_ROOT, timeout: NPM_TIMEOUT_MS });
    const tarball = readdirSync(packDir).find((f) => f.endsWith('.tgz'));
    assert.ok(tarball, 'npm pack wrote a tarball');

    const { stdout: listing } = await run('tar', ['tzf', path.join(packDir, tarball)], { timeout: 30_000 });
    const files = listing.split('\n').filter(Boolean);
    assert.ok(files.includes('package/dist/worker-sdk/src/index.js'), 'compiled SDK');
    assert.ok(files.includes('package/dist/worker-sdk/src/index.d.ts'), 'SDK types');
    assert.ok(files.includes('package/dist/router/src/admin/dashboard.html'), 'the dashboard asset');
    const unwanted = files.filter((f) => /^package\/(test|bench|examples|chaos|scripts|deploy)\//.test(f) || /\.test\.[jt]s$/.test(f) || /^package\/(router|worker-sdk|cli)\/.*\.ts$/.test(f));
    assert.deepEqual(unwanted, [], 'no tests, bench, fixtures or TypeScript sources in the tarball');

    const project = path.join(packDir, 'user-project');
    await run('mkdir', ['-p', project]);
    writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'user-project', private: true, type: 'module' }));
    const install = await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', path.join(packDir, tarball)], { cwd: project, timeout: NPM_TIMEOUT_MS });
    // Every runtime dependency supports the Node versions we do (fastify, whose light-my-request
    // needs Node 22 through cookie@2, is only the bench's backend): no engine warning for users.
    assert.doesNotMatch(`${install.stdout}${install.stderr}`, /EBADENGINE/, 'npm install of the package warns about no engine');

    writeFileSync(
      path.join(project, 'worker.mjs'),
      [
        "import { createWorker } from 'zeroproxy/worker';",
        'const worker = createWorker({',
        '  connect: process.env.ZP_CONNECT,',
        "  handler: (request) => Response.json({ from: 'plain js', path: new URL(request.url).pathname }),",
        '});',
        'await worker.ready;',
        "console.log(JSON.stringify({ msg: 'user worker ready' }));",
      ].join('\n'),
    );
    const endpoint = `ipc://${path.join(project, 'router.sock')}`;
    const router = env.group.spawnProgram('npx-router', 'npx', ['--no-install', 'zeroproxy', 'router', '--http', '127.0.0.1:0', '--bind', endpoint], { cwd: project, processGroup: true });
    const listening = await router.waitForLog((l) => l.msg === 'router listening', 60_000, 'router listening');
    const worker = env.group.spawnProgram('plain-node-worker', process.execPath, ['worker.mjs'], { cwd: project, env: { ZP_CONNECT: endpoint } });
    await worker.waitForLog((l) => l.msg === 'user worker ready', 30_000, 'user worker ready');
    const res = await httpRequest(`${String(listening['http'])}/from-the-package`);
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(res.body.toString()), { from: 'plain js', path: '/from-the-package' });

    // TypeScript in the user's project: the exported types resolve and check (no loader, no sources).
    writeFileSync(
      path.join(project, 'typed.ts'),
      [
        "import { createWorker, type WorkerOptions } from 'zeroproxy/worker';",
        "const options: WorkerOptions = { connect: 'tcp://127.0.0.1:5555', handler: (request: Request) => new Response(request.url) };",
        'export const worker = createWorker(options);',
        "// @ts-expect-error capacity is a number",
        "createWorker({ connect: 'tcp://127.0.0.1:5555', capacity: 'many', handler: () => new Response('') });",
      ].join('\n'),
    );
    writeFileSync(
      path.join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, noEmit: true, lib: ['ES2022', 'DOM'], types: ['node'], typeRoots: [path.join(REPO_ROOT, 'node_modules', '@types')] },
        files: ['typed.ts'],
      }),
    );
    const tsc = path.join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const checked = await run(process.execPath, [tsc, '-p', project], { cwd: project, timeout: 120_000 }).catch((err: { stdout?: string; message: string }) => ({ stdout: err.stdout ?? err.message }));
    assert.equal(checked.stdout.trim(), '', `tsc in the user's project: ${checked.stdout}`);
  });
});
