/**
 * Rendezvous hashing with bounded load (the shard plugin's core), on 10,000 keys: a leaving worker
 * moves only its own keys, a joining one takes about 1/n and only from others, weights are honoured,
 * the bound caps a hot worker, and the mapping is a pure function of membership (two routers agree).
 * The same properties are checked again through the plugin's decide(), which ranks with bounded load
 * over the live workers' credit and in-flight counts: that is the code path requests take.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { owner, pickBounded, rank, type Member } from '../../router/src/plugins/rendezvous.ts';
import { shardPlugin, shardKey, parseKeySource } from '../../router/src/plugins/shard.ts';
import type { LiveWorker, PluginHead } from '../../router/src/plugins/types.ts';

const KEYS = Array.from({ length: 10_000 }, (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
const members = (ids: string[], weight = 1): Member[] => ids.map((id) => ({ id, weight }));
const IDS = ['api/101/a', 'api/102/b', 'api/103/c', 'api/104/d', 'api/105/e'];

function assignment(ms: Member[]): Map<string, string> {
  return new Map(KEYS.map((k) => [k, owner(k, ms)!.id]));
}

describe('rendezvous hashing (10,000 keys)', () => {
  it('spreads keys about evenly', () => {
    const counts = new Map<string, number>();
    for (const id of assignment(members(IDS)).values()) counts.set(id, (counts.get(id) ?? 0) + 1);
    for (const id of IDS) assert.ok(Math.abs(counts.get(id)! - 2000) < 300, `${id}: ${counts.get(id)}`);
  });

  it('a leaving worker moves only its own keys', () => {
    const before = assignment(members(IDS));
    const after = assignment(members(IDS.filter((id) => id !== 'api/103/c')));
    let moved = 0;
    for (const k of KEYS) {
      if (before.get(k) === 'api/103/c') moved++;
      else assert.equal(after.get(k), before.get(k), k);
    }
    assert.ok(moved > 1500, `the leaver's ${moved} keys moved`);
  });

  it('a joining worker takes about 1/n of the keys, and only keys move to it', () => {
    const before = assignment(members(IDS));
    const after = assignment(members([...IDS, 'api/106/f']));
    let moved = 0;
    for (const k of KEYS) {
      if (after.get(k) !== before.get(k)) {
        moved++;
        assert.equal(after.get(k), 'api/106/f');
      }
    }
    const share = moved / KEYS.length;
    assert.ok(share > 1 / 6 - 0.03 && share < 1 / 6 + 0.03, `moved ${share}`);
  });

  it('two routers with the same workers (in any order) map every key the same way', () => {
    const a = assignment(members(IDS));
    const b = assignment(members([...IDS].reverse()));
    assert.deepEqual([...b.entries()], [...a.entries()]);
  });

  it('a worker of weight 2 owns about twice the keys', () => {
    const ms = [...members(IDS.slice(0, 2)), { id: 'heavy', weight: 2 }];
    const counts = new Map<string, number>();
    for (const id of assignment(ms).values()) counts.set(id, (counts.get(id) ?? 0) + 1);
    assert.ok(Math.abs(counts.get('heavy')! - 5000) < 400, `heavy: ${counts.get('heavy')}`);
  });

  it('bounded load: a full owner passes the key to the next in its ranking', () => {
    const ms = members(IDS);
    const key = KEYS[0]!;
    const first = owner(key, ms)!;
    const loads = new Map(IDS.map((id) => [id, 10]));
    assert.equal(pickBounded(key, ms, (m) => loads.get(m.id)!, 1.25)!.id, first.id);
    loads.set(first.id, 100); // far above 1.25 × average
    const second = owner(key, ms.filter((m) => m !== first))!;
    assert.equal(pickBounded(key, ms, (m) => loads.get(m.id)!, 1.25)!.id, second.id);
  });

  it('bounded load: a full member (load Infinity) is skipped and does not lift the others\' bound', () => {
    const ms = members(IDS.slice(0, 4));
    const key = KEYS[1]!;
    const order = rank(key, ms);
    const loads = new Map(ms.map((m) => [m.id, 0]));
    loads.set(order[0]!.id, 10); // hot owner: ⌈1.25 × (10 + 1) / 4⌉ = 4 ≤ 10
    loads.set(order[3]!.id, Infinity); // no credit
    assert.equal(pickBounded(key, ms, (m) => loads.get(m.id)!, 1.25)!.id, order[1]!.id);
    loads.set(order[1]!.id, Infinity);
    assert.equal(pickBounded(key, ms, (m) => loads.get(m.id)!, 1.25)!.id, order[2]!.id);
    // The floor: a member may always hold this many, whatever the average.
    assert.equal(pickBounded(key, ms, (m) => loads.get(m.id)!, 1.25, () => 11)!.id, order[0]!.id);
  });
});

describe('shard plugin', () => {
  const head = (over: Partial<PluginHead> = {}): PluginHead => ({
    method: 'GET', scheme: 'http', authority: 'h', path: '/users/42/profile?tenant=t1', headers: ['x-user', 'u9', 'cookie', 'a=1; sid=s7'], remote: '10.1.2.3', requestId: 'r', ...over,
  });
  const live = (id: string, meta: Record<string, string> = {}, over: Partial<LiveWorker> = {}): LiveWorker => ({
    workerId: id, pool: 'default', meta, capacity: 8, credit: 8, inFlight: 0, draining: false, lost: false, available: true, ...over,
  });

  it('reads the key from ip, header, cookie, path segment and query', () => {
    const h = head();
    assert.equal(shardKey(h, parseKeySource('ip', [])), '10.1.2.3');
    assert.equal(shardKey(h, parseKeySource('header:X-User', [])), 'u9');
    assert.equal(shardKey(h, parseKeySource('cookie:sid', [])), 's7');
    assert.equal(shardKey(h, parseKeySource('path:2', [])), '42');
    assert.equal(shardKey(h, parseKeySource('query:tenant', [])), 't1');
    assert.equal(shardKey(h, parseKeySource('query:none', [])), undefined);
  });

  it('picks the owner among live workers, skips draining ones and honours labels; adds the headers', () => {
    const workers = [live('a', { labels: 'eu,ssd' }), live('b', { labels: 'us' }), live('c', { labels: 'eu' }, { draining: true })];
    const ctx = { routerId: 'router-1', pool: 'default', workers: () => workers };
    const out = shardPlugin.create({ labels: ['eu'] }).decide(head(), ctx);
    assert.deepEqual(out?.decision, { kind: 'one', worker: workers[0] });
    assert.deepEqual(out?.responseHeaders, { set: [['x-handled-by', 'a'], ['x-received-by', 'router-1']] });
  });

  it('without a key (fallback any) or without workers it leaves the choice to the core', () => {
    const ctx = { routerId: 'r', pool: 'default', workers: () => [] };
    assert.equal(shardPlugin.create({}).decide(head(), ctx), undefined);
    const ctx2 = { routerId: 'r', pool: 'default', workers: () => [live('a')] };
    assert.equal(shardPlugin.create({ key: 'header:x-none', fallback: 'any' }).decide(head(), ctx2), undefined);
  });
});

/** A live worker record the test can load up (the router's record is mutable too; plugins only read it). */
type MutableWorker = { -readonly [K in keyof LiveWorker]: LiveWorker[K] };

describe('shard plugin: the ranking with bounded load, as decide() runs it', () => {
  const plugin = shardPlugin.create({ key: 'header:x-key' });
  const keyHead = (key: string): PluginHead => ({ method: 'GET', scheme: 'http', authority: 'h', path: '/', headers: ['x-key', key], remote: '10.9.9.9', requestId: 'r' });
  const worker = (id: string, capacity = 8): MutableWorker => ({
    workerId: id, pool: 'default', meta: {}, capacity, credit: capacity, inFlight: 0, draining: false, lost: false, available: true,
  });
  const pool = (ids: readonly string[], capacity = 8): MutableWorker[] => ids.map((id) => worker(id, capacity));
  const decide = (key: string, workers: readonly MutableWorker[]): MutableWorker => {
    const out = plugin.decide(keyHead(key), { routerId: 'r', pool: 'default', workers: () => workers });
    assert.equal(out?.decision?.kind, 'one', `a decision for ${key}`);
    return (out!.decision as { worker: MutableWorker }).worker;
  };
  /** What the dispatcher does when it sends the request: one credit taken, one stream in flight. */
  const dispatch = (w: MutableWorker): void => {
    w.credit--;
    w.inFlight++;
    w.available = w.credit > 0;
  };
  const ranking = (key: string, workers: readonly MutableWorker[]): string[] => rank(key, members(workers.map((w) => w.workerId))).map((m) => m.id);
  const assignmentThroughPlugin = (workers: readonly MutableWorker[]): Map<string, string> => new Map(KEYS.map((k) => [k, decide(k, workers).workerId]));

  it('on idle workers every key goes to the first of its ranking (10,000 keys, spread about evenly)', () => {
    const workers = pool(IDS);
    const counts = new Map<string, number>();
    for (const k of KEYS) {
      const chosen = decide(k, workers).workerId;
      assert.equal(chosen, ranking(k, workers)[0], k);
      counts.set(chosen, (counts.get(chosen) ?? 0) + 1);
    }
    for (const id of IDS) assert.ok(Math.abs(counts.get(id)! - 2000) < 300, `${id}: ${counts.get(id)}`);
  });

  it('through the plugin, a leaving worker moves only its keys and a joining one takes only keys for itself', () => {
    const before = assignmentThroughPlugin(pool(IDS));
    const afterLeave = assignmentThroughPlugin(pool(IDS.filter((id) => id !== 'api/103/c')));
    const afterJoin = assignmentThroughPlugin(pool([...IDS, 'api/106/f']));
    for (const k of KEYS) {
      if (before.get(k) !== 'api/103/c') assert.equal(afterLeave.get(k), before.get(k), `leave: ${k}`);
      if (afterJoin.get(k) !== before.get(k)) assert.equal(afterJoin.get(k), 'api/106/f', `join: ${k}`);
    }
  });

  it('concurrent requests with one key on idle workers all go to the same worker (seed 000 stickiness)', () => {
    // Issue 11 item 9: with factor 1.25 on 4 idle workers the second concurrent request used to
    // exceed ⌈1.25 × 2 / 4⌉ = 1 and move to another worker.
    for (const key of ['10.0.0.7', 'client-a', 'client-b', 'user:42']) {
      const workers = pool(IDS.slice(0, 4), 8);
      const owned = ranking(key, workers)[0];
      for (let i = 0; i < 8; i++) {
        const chosen = decide(key, workers);
        assert.equal(chosen.workerId, owned, `${key}: request ${i + 1} of 8 concurrent ones`);
        dispatch(chosen);
      }
    }
  });

  it('under real overload the key spills along its ranking: the owner without credit, then the next one', () => {
    const key = 'hot-client';
    const workers = pool(IDS.slice(0, 4), 2);
    const order = ranking(key, workers);
    const seen: string[] = [];
    for (let i = 0; i < 6; i++) {
      const chosen = decide(key, workers);
      seen.push(chosen.workerId);
      dispatch(chosen);
    }
    assert.deepEqual(seen, [order[0], order[0], order[1], order[1], order[2], order[2]]);
    // Everybody full: the owner is named (the request waits for it in the pool's queue).
    for (let i = 0; i < 2; i++) dispatch(decide(key, workers));
    assert.equal(decide(key, workers).workerId, order[0]);
  });

  it('a worker far above its share of the load (credit above its capacity) passes the key on', () => {
    const key = 'greedy';
    const workers = pool(IDS.slice(0, 4), 4);
    const order = ranking(key, workers);
    const first = workers.find((w) => w.workerId === order[0])!;
    // It granted extra credit (CREDIT is additive) and holds 12 streams while the others hold 1:
    // ⌈1.25 × (12 + 3 + 1) / 4⌉ = 5 < 12, so it is over its bound although it still has credit.
    first.inFlight = 12;
    first.credit = 4;
    for (const w of workers) if (w !== first) dispatch(w);
    assert.equal(decide(key, workers).workerId, order[1]);
    first.inFlight = 3; // back under its capacity: the key comes home
    assert.equal(decide(key, workers).workerId, order[0]);
  });

  it('a draining worker is not ranked; a worker without credit is skipped, not dropped from the ranking', () => {
    const key = 'k-17';
    const workers = pool(IDS.slice(0, 4));
    const order = ranking(key, workers);
    const byId = (id: string) => workers.find((w) => w.workerId === id)!;
    byId(order[0]!).draining = true;
    assert.equal(decide(key, workers).workerId, order[1]);
    byId(order[1]!).credit = 0;
    assert.equal(decide(key, workers).workerId, order[2]);
    byId(order[1]!).credit = 3; // credit back: the key returns to it (draining order[0] is still out)
    assert.equal(decide(key, workers).workerId, order[1]);
  });
});
