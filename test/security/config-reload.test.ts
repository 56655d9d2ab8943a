/**
 * Issue 11 item 9 (first half): a config file caught empty or cut off by the watcher must not be
 * taken as "no routes" (which sends every request to pool `default`). The router keeps the config it
 * has and logs why; only an explicit `routes: []` clears the routes. At start, an empty file is a
 * config error (exit 2), not an empty routing table.
 */
import assert from 'node:assert/strict';
import { renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import type { EchoReply } from '../fixtures/echo.ts';
import { httpRequest, runToExit, startRouter, startWorkers, useTestEnvironment, type RouterProcess } from '../helpers/index.ts';

const WAIT_MS = 15_000;
const RELOADED = 'config reloaded';
const FAILED = 'config reload failed: keeping the previous config';
const ROUTES = 'routes:\n  - name: api\n    match: { pathPrefix: /api }\n    pool: api\n';

describe('config reload: an empty or cut-off file keeps the previous config', () => {
  const env = useTestEnvironment();
  let router: RouterProcess;
  let configFile: string;

  /** Writes the file in place (truncate, then write) as `>` or a non-atomic editor does. */
  const overwrite = (text: string): void => writeFileSync(configFile, text);
  /** Written aside and renamed, as careful editors do. */
  const replace = (text: string): void => {
    writeFileSync(`${configFile}.tmp`, text);
    renameSync(`${configFile}.tmp`, configFile);
  };
  const count = (msg: string): number => router.proc.findLogs((l) => l.msg === msg).length;
  /** The n-th line with message `msg` (1-based), once it has been logged. */
  const waitFor = async (msg: string, n: number): Promise<Record<string, unknown>> => {
    await router.proc.waitForLog(() => count(msg) >= n, WAIT_MS, `${n} "${msg}" line(s)`);
    return router.proc.findLogs((l) => l.msg === msg)[n - 1]!;
  };
  const poolOf = async (p: string): Promise<string> => {
    const res = await httpRequest(`${router.httpUrl}${p}`);
    assert.equal(res.status, 200, res.body.toString());
    return (JSON.parse(res.body.toString()) as EchoReply).workerId;
  };

  before(async () => {
    configFile = path.join(env.tmp.path, 'routes.yaml');
    replace(ROUTES);
    const bind = env.tmp.ipc('reload-safety.sock');
    router = await startRouter(env.group, { bind, args: ['--config', configFile] });
    await startWorkers(env.group, [
      { connect: bind, id: 'in-api', handler: 'echo', args: ['--pool', 'api'] },
      { connect: bind, id: 'in-default', handler: 'echo' },
    ]);
  });

  it('routes /api to pool api', async () => {
    assert.equal(await poolOf('/api/x'), 'in-api');
    assert.equal(await poolOf('/other'), 'in-default');
  });

  it('an empty file, whitespace or comments only, and `{}` are refused; /api still goes to pool api', async () => {
    let failed = count(FAILED);
    for (const text of ['', '\n  \n', '# being edited\n', '{}\n']) {
      overwrite(text);
      const line = await waitFor(FAILED, ++failed);
      assert.match(String(line['error']), /routes: \[\]/, `the log says why and how to clear (${JSON.stringify(text)})`);
      assert.equal(await poolOf('/api/x'), 'in-api', `after ${JSON.stringify(text)} the old routes stay`);
    }
  });

  it('a file cut off mid-route is refused and logged', async () => {
    let failed = count(FAILED);
    for (const text of [ROUTES.slice(0, ROUTES.indexOf('{') - 1), 'routes:\n  - name: api\n    match: { pathPr', 'routes:\n']) {
      overwrite(text);
      const line = await waitFor(FAILED, ++failed);
      assert.ok(typeof line['error'] === 'string' && line['error'].length > 0, 'the reason is logged');
      assert.equal(await poolOf('/api/x'), 'in-api', `after ${JSON.stringify(text)} the old routes stay`);
    }
  });

  it('an explicit `routes: []` clears the routes', async () => {
    const reloaded = count(RELOADED);
    replace('routes: []\n');
    await waitFor(RELOADED, reloaded + 1);
    assert.equal(await poolOf('/api/x'), 'in-default');
  });

  it('an empty file at start is a config error (exit 2) saying how to write "no routes"', async () => {
    const empty = path.join(env.tmp.path, 'empty.yaml');
    writeFileSync(empty, '');
    const result = await runToExit(['router', '--http', '127.0.0.1:0', '--bind', env.tmp.ipc('empty.sock'), '--config', empty], 30_000);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /empty\.yaml: the file is empty .*routes: \[\]/);
  });
});
