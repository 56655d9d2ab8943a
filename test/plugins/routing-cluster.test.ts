/**
 * Seeds 000 (ringpop sidecar) and 002/003 (balancing reverse proxy) through one real router process
 * with a config file, and real worker processes:
 * - fanout sequential / parallel: two failing targets and a good one; the client always gets the
 *   first terminal response with its body replayed whole; none terminal → 502 naming the attempts;
 *   a stopped target is skipped at once.
 * - hedge: a slow first target, the hedged second answers, the first is reset (RST cancel).
 * - shard: same client → same worker with X-Handled-By / X-Received-By; when a worker leaves only
 *   its keys move, and every key lands where the pure rendezvous function says.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { owner } from '../../router/src/plugins/rendezvous.ts';
import {
  headerValue,
  httpRequest,
  REPO_ROOT,
  sha256,
  startRouter,
  startWorkers,
  useTestEnvironment,
  type ManagedProcess,
  type RouterProcess,
} from '../helpers/index.ts';

const FLAKY = path.join(REPO_ROOT, 'test', 'plugins', 'fixtures', 'flaky.ts');
const ROUTER_ID = 'router-under-test';

const CONFIG = `
routes:
  - name: sequential
    match: { pathPrefix: /seq }
    plugins:
      - plugin: fanout
        config: { mode: sequential, targets: [bad1, bad2, good] }
  - name: parallel
    match: { pathPrefix: /par }
    plugins:
      - plugin: fanout
        config: { mode: parallel, targets: [bad1, bad2, good], terminal: "100,200,300,400" }
  - name: too-big-to-replay
    match: { pathPrefix: /big }
    plugins:
      - plugin: fanout
        config: { mode: parallel, targets: [good, bad2], bufferLimit: 1000 }
  - name: parallel-with-slow
    match: { pathPrefix: /race }
    plugins:
      - plugin: fanout
        config: { mode: parallel, targets: [slow, good] }
  - name: none-terminal
    match: { pathPrefix: /none }
    plugins:
      - plugin: fanout
        config: { mode: parallel, targets: [bad1, bad2] }
  - name: hedge
    match: { pathPrefix: /hedge }
    plugins:
      - plugin: fanout
        config: { mode: hedge, targets: [slow, good], hedgeDelayMs: 100 }
  - name: shard-by-ip
    match: { pathPrefix: /kv-ip }
    pool: kv
    plugins:
      - plugin: shard
  - name: shard-by-user
    match: { pathPrefix: /kv }
    pool: kv
    plugins:
      - plugin: shard
        config: { key: "header:x-user" }
`;

interface FlakyReply {
  workerId: string;
  status: number;
  bodyLength: number;
  bodySha256: string;
}

describe('routing plugins through a real router (seeds 000, 002, 003)', () => {
  const env = useTestEnvironment();
  let router: RouterProcess;
  const workers = new Map<string, ManagedProcess>();

  before(async () => {
    const configFile = path.join(env.tmp.path, 'routes.yaml');
    writeFileSync(configFile, CONFIG);
    const bind = env.tmp.ipc('r.sock');
    // A long queue timeout: an attempt left waiting in a queue shows up as a request timing out.
    router = await startRouter(env.group, { bind, args: ['--config', configFile, '--id', ROUTER_ID, '--heartbeat', '250', '--queue-timeout', '60000'] });
    const flaky = (id: string, pool: string, extra: NodeJS.ProcessEnv) => ({
      connect: bind,
      id,
      name: id,
      args: ['--handler', FLAKY, '--pool', pool],
      env: { ...process.env, ...extra },
    });
    const kv = (id: string) => ({ connect: bind, id, name: id, handler: 'echo', args: ['--pool', 'kv'] });
    const list = [
      flaky('bad1', 'bad1', { FLAKY_STATUS: '500' }),
      flaky('bad2', 'bad2', { FLAKY_STATUS: '503' }),
      flaky('good', 'good', {}),
      flaky('slow', 'slow', { FLAKY_DELAY_MS: '30000' }),
      kv('kv-a'),
      kv('kv-b'),
      kv('kv-c'),
    ];
    const procs = await startWorkers(env.group, list);
    list.forEach((o, i) => workers.set(o.id, procs[i]!));
  });

  const countLogs = (id: string, msg: string, requestId: string): number =>
    workers.get(id)!.findLogs((l) => l.msg === msg && l['requestId'] === requestId).length;

  for (const mode of ['seq', 'par'] as const) {
    it(`${mode === 'seq' ? 'sequential' : 'parallel'}: the first terminal response wins, the body is replayed whole to each attempt`, async () => {
      const body = randomBytes(100_000);
      for (let i = 0; i < 3; i++) {
        const requestId = `${mode}-${i}`;
        const res = await httpRequest(`${router.httpUrl}/${mode}`, { method: 'POST', body, headers: { 'x-request-id': requestId } });
        assert.equal(res.status, 200, res.body.toString());
        const reply = JSON.parse(res.body.toString()) as FlakyReply;
        assert.equal(reply.workerId, 'good');
        assert.equal(reply.bodyLength, body.length);
        assert.equal(reply.bodySha256, sha256(body));
        assert.equal(headerValue(res, 'x-zeroproxy-attempt'), '3');
        if (mode === 'seq') {
          // Failover: each failing target saw the whole body before the next was tried.
          for (const bad of ['bad1', 'bad2']) {
            const seen = workers.get(bad)!.findLogs((l) => l.msg === 'fixture request' && l['requestId'] === requestId);
            assert.equal(seen.length, 1, `${bad} saw ${requestId} once`);
            assert.equal(seen[0]!['bodyLength'], body.length);
          }
        }
      }
    });
  }

  it('parallel: the slower loser is reset the moment the winner answers; many concurrent requests all win', async () => {
    const requestId = 'race-1';
    const res = await httpRequest(`${router.httpUrl}/race`, { headers: { 'x-request-id': requestId } });
    assert.equal(res.status, 200);
    assert.equal((JSON.parse(res.body.toString()) as FlakyReply).workerId, 'good');
    const reset = await workers.get('slow')!.waitForLog((l) => l.msg === 'stream reset' && l['requestId'] === requestId, 15_000, 'RST at the slow loser');
    assert.equal(reset['code'], 'cancel');
    const results = await Promise.all(
      Array.from({ length: 10 }, async (_, c) => {
        const statuses: string[] = [];
        for (let i = 0; i < 10; i++) {
          const r = await httpRequest(`${router.httpUrl}/par`, { method: 'POST', body: `body ${c}/${i}` });
          statuses.push(`${r.status} ${(JSON.parse(r.body.toString()) as FlakyReply).workerId}`);
        }
        return statuses;
      }),
    );
    assert.deepEqual([...new Set(results.flat())], ['200 good']);
  });

  it('a body above bufferLimit is not replayed: it streams whole to the first target only', async () => {
    const body = randomBytes(300_000);
    const requestId = 'big-1';
    const res = await httpRequest(`${router.httpUrl}/big`, { method: 'POST', body, headers: { 'x-request-id': requestId } });
    assert.equal(res.status, 200, res.body.toString());
    const reply = JSON.parse(res.body.toString()) as FlakyReply;
    assert.equal(reply.workerId, 'good');
    assert.equal(reply.bodySha256, sha256(body));
    assert.equal(countLogs('bad2', 'fixture request', requestId), 0);
  });

  it('no terminal response: 502 with a body naming every attempt', async () => {
    const res = await httpRequest(`${router.httpUrl}/none`);
    assert.equal(res.status, 502);
    const reply = JSON.parse(res.body.toString()) as { error: string; attempts: { target: string; outcome: string }[] };
    assert.equal(reply.error, 'ZP_ERR_NO_TERMINAL_RESPONSE');
    assert.deepEqual(
      reply.attempts.map((a) => a.outcome).sort(),
      ['status 500', 'status 503'],
    );
    assert.deepEqual(reply.attempts.map((a) => a.target).sort(), ['pool:bad1', 'pool:bad2']);
  });

  it('hedge: the slow first attempt is reset when the hedged second answers', async () => {
    const requestId = 'hedge-1';
    const res = await httpRequest(`${router.httpUrl}/hedge`, { headers: { 'x-request-id': requestId }, timeoutMs: 15_000 });
    assert.equal(res.status, 200);
    assert.equal((JSON.parse(res.body.toString()) as FlakyReply).workerId, 'good');
    assert.equal(headerValue(res, 'x-zeroproxy-attempt'), '2');
    const slow = workers.get('slow')!;
    const reset = await slow.waitForLog((l) => l.msg === 'stream reset' && l['requestId'] === requestId, 15_000, 'RST at the slow worker');
    assert.equal(reset['code'], 'cancel');
    await slow.waitForLog((l) => l.msg === 'fixture saw abort' && l['requestId'] === requestId, 15_000, 'the handler aborted');
  });

  it('shard: the same client goes to the same worker, with X-Handled-By and X-Received-By', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 10; i++) {
      const res = await httpRequest(`${router.httpUrl}/kv-ip/${i}`);
      assert.equal(res.status, 200);
      assert.equal(headerValue(res, 'x-handled-by'), headerValue(res, 'x-worker-id'));
      assert.equal(headerValue(res, 'x-received-by'), ROUTER_ID);
      seen.add(headerValue(res, 'x-handled-by')!);
    }
    assert.equal(seen.size, 1);
    assert.equal([...seen][0], owner('127.0.0.1', ['kv-a', 'kv-b', 'kv-c'].map((id) => ({ id, weight: 1 })))!.id);
  });

  it('shard: keys follow the rendezvous function; a departed worker moves only its own keys', async () => {
    const users = Array.from({ length: 60 }, (_, i) => `user-${i}`);
    const ownerOf = async (user: string): Promise<string> => {
      const res = await httpRequest(`${router.httpUrl}/kv/${user}`, { headers: { 'x-user': user } });
      assert.equal(res.status, 200);
      return headerValue(res, 'x-handled-by')!;
    };
    const members = (ids: string[]) => ids.map((id) => ({ id, weight: 1 }));
    const beforeMap = new Map<string, string>();
    for (const u of users) beforeMap.set(u, await ownerOf(u));
    for (const u of users) assert.equal(beforeMap.get(u), owner(u, members(['kv-a', 'kv-b', 'kv-c']))!.id, `owner of ${u}`);
    const leaving = beforeMap.get(users[0]!)!;
    const exit = await workers.get(leaving)!.stop();
    assert.equal(exit.code, 0);
    const rest = ['kv-a', 'kv-b', 'kv-c'].filter((id) => id !== leaving);
    for (const u of users) {
      const now = await ownerOf(u);
      if (beforeMap.get(u) !== leaving) assert.equal(now, beforeMap.get(u), `${u} stayed on its worker`);
      else assert.equal(now, owner(u, members(rest))!.id, `${u} moved to its next owner`);
    }
  });

  it('a stopped target is skipped at once, without waiting for the queue timeout', async () => {
    const exit = await workers.get('bad1')!.stop();
    assert.equal(exit.code, 0);
    const res = await httpRequest(`${router.httpUrl}/seq`, { headers: { 'x-request-id': 'seq-after-stop' }, timeoutMs: 20_000 });
    assert.equal(res.status, 200);
    assert.equal((JSON.parse(res.body.toString()) as FlakyReply).workerId, 'good');
  });
});
