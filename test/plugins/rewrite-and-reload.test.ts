/**
 * Seed 001 (sidecar http dispatcher): its own YAML file, unchanged, routes `environment: dev` with
 * its patches visible at the worker and everything else to the default destination; destinations are
 * URLs served by bridges (HELLO meta `forward`). A real `--forward` bridge is selected by its target
 * URL. The config reloads on change and SIGHUP under load without failing a request; a bad file
 * keeps the old config; a bad file at start is exit 2 naming the line and the key.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync, renameSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { EchoReply } from '../fixtures/echo.ts';
import { headerValue, httpRequest, REPO_ROOT, runToExit, startRouter, startWorkers, useTestEnvironment, type RouterProcess } from '../helpers/index.ts';

const SEED_001 = path.join(REPO_ROOT, 'examples', 'seeds', '001-sidecar-dispatcher.yaml');

describe('rewrite plugin: the seed 001 file verbatim', () => {
  const env = useTestEnvironment();
  let router: RouterProcess;

  before(async () => {
    const bind = env.tmp.ipc('seed1.sock');
    router = await startRouter(env.group, { bind, args: ['--config', SEED_001] });
    // Echo workers standing for the seed's two destinations (a bridge announces the URL it serves).
    await startWorkers(env.group, [
      { connect: bind, id: 'example-com', handler: 'echo', args: ['--meta', 'forward=http://example.com'] },
      { connect: bind, id: 'example-org', handler: 'echo', args: ['--meta', 'forward=http://example.org'] },
    ]);
  });

  it('environment: dev gets the patches and goes to http://example.com', async () => {
    for (let i = 0; i < 5; i++) {
      const res = await httpRequest(`${router.httpUrl}/x`, { headers: { environment: 'dev' } });
      assert.equal(res.status, 200);
      const reply = JSON.parse(res.body.toString()) as EchoReply;
      assert.equal(reply.workerId, 'example-com');
      assert.equal(reply.headers['host'], 'example.com');
      assert.equal(reply.headers['dispatched'], 'true');
      assert.equal(reply.headers['environment'], 'dev');
    }
  });

  it('any other value, or none, goes to the default destination unpatched', async () => {
    for (const headers of [{}, { environment: 'prod' }] as Record<string, string>[]) {
      const res = await httpRequest(`${router.httpUrl}/y`, { headers });
      assert.equal(res.status, 200);
      const reply = JSON.parse(res.body.toString()) as EchoReply;
      assert.equal(reply.workerId, 'example-org');
      assert.equal(reply.headers['dispatched'], undefined);
      assert.notEqual(reply.headers['host'], 'example.com');
    }
  });
});

describe('config reload with a real --forward bridge', () => {
  const env = useTestEnvironment();
  let router: RouterProcess;
  let backend: Server;
  let backendUrl: string;
  let configFile: string;
  const seenStages: string[] = [];

  const writeConfig = (text: string): void => {
    // Written aside and renamed, as editors do: the watcher must see the new file.
    const tmp = `${configFile}.tmp`;
    writeFileSync(tmp, text);
    renameSync(tmp, configFile);
  };
  const configWithStage = (stage: string): string =>
    `key: environment\nrewrites:\n  dev:\n    patch:\n      - key: x-stage\n        val: ${stage}\n    destination: ${backendUrl}\ndestination: ${backendUrl}\n`;

  before(async () => {
    backend = createServer((req, res) => {
      const headers: IncomingHttpHeaders = req.headers;
      seenStages.push(String(headers['x-stage'] ?? ''));
      req.resume();
      req.on('end', () => res.end(JSON.stringify({ stage: headers['x-stage'] ?? null, host: headers['host'] })));
    });
    await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
    backendUrl = `http://127.0.0.1:${(backend.address() as AddressInfo).port}/`;
    configFile = path.join(env.tmp.path, 'dispatch.yaml');
    writeConfig(configWithStage('one'));
    const bind = env.tmp.ipc('reload.sock');
    router = await startRouter(env.group, { bind, args: ['--config', configFile] });
    await startWorkers(env.group, [{ connect: bind, id: 'bridge', forward: backendUrl }]);
  });
  after(async () => {
    backend.closeAllConnections();
    await new Promise<void>((resolve) => backend.close(() => resolve()));
  });

  const stageOf = async (): Promise<string | null> => {
    const res = await httpRequest(`${router.httpUrl}/`, { headers: { environment: 'dev' } });
    assert.equal(res.status, 200, res.body.toString());
    return (JSON.parse(res.body.toString()) as { stage: string | null }).stage;
  };

  it('the bridge is selected by the URL it forwards to, and sees the patch', async () => {
    assert.equal(await stageOf(), 'one');
  });

  it('reloads on file change under load, fails nothing, and a bad file keeps the old config', async () => {
    let stop = false;
    const statuses: number[] = [];
    const load = Array.from({ length: 4 }, async () => {
      for (let i = 0; i < 2000 && !stop; i++) {
        const res = await httpRequest(`${router.httpUrl}/load`, { headers: { environment: 'dev' } });
        statuses.push(res.status);
      }
    });
    const reloaded = (n: number) => router.proc.waitForLog(() => router.proc.findLogs((l) => l.msg === 'config reloaded').length >= n, 15_000, `${n} reload(s)`);
    const failed = (n: number) => router.proc.waitForLog(() => router.proc.findLogs((l) => l.msg === 'config reload failed: keeping the previous config').length >= n, 15_000, `${n} failed reload(s)`);
    try {
      writeConfig(configWithStage('two'));
      await reloaded(1);
      writeConfig('key: environment\nrewrites: [not, a, mapping]\n');
      const bad = await failed(1);
      assert.match(String(bad['error']), /dispatch\.yaml:2: rewrites: must be a mapping/);
      assert.equal(await stageOf(), 'two', 'the old config stays after a bad reload');
      writeConfig(configWithStage('three'));
      await reloaded(2);
    } finally {
      stop = true;
      await Promise.all(load);
    }
    assert.ok(statuses.length > 0);
    assert.deepEqual([...new Set(statuses)], [200], 'no request failed during reloads');
    assert.equal(await stageOf(), 'three');
    for (const s of seenStages) assert.ok(['one', 'two', 'three'].includes(s), `stage ${s}`);
  });

  it('reloads on SIGHUP', async () => {
    const before = router.proc.findLogs((l) => l.msg === 'config reloaded').length;
    router.proc.signal('SIGHUP');
    const line = await router.proc.waitForLog(() => router.proc.findLogs((l) => l.msg === 'config reloaded').length > before, 15_000, 'reload after SIGHUP');
    assert.ok(line);
    assert.equal(router.proc.findLogs((l) => l.msg === 'config reloaded' && l['reason'] === 'SIGHUP').length, 1);
    assert.equal(router.proc.exitInfo, undefined, 'still running');
  });

  it('a bad config at start: exit 2 with the file, line and key', async () => {
    const bad = path.join(env.tmp.path, 'bad.yaml');
    writeFileSync(bad, 'routes:\n  - match: { pathPrefix: /a }\n    plugins:\n      - plugin: shard\n        config:\n          loadFactor: 0.5\n');
    const result = await runToExit(['router', '--http', '127.0.0.1:0', '--bind', env.tmp.ipc('bad.sock'), '--config', bad], 30_000);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /bad\.yaml:6: routes\[0\]\.plugins\[0\]\.config\.loadFactor: must be between 1 and 100/);
  });
});
