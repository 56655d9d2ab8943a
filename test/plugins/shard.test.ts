/**
 * Rendezvous hashing with bounded load (the shard plugin's core), on 10,000 keys: a leaving worker
 * moves only its own keys, a joining one takes about 1/n and only from others, weights are honoured,
 * the bound caps a hot worker, and the mapping is a pure function of membership (two routers agree).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { owner, pickBounded, type Member } from '../../router/src/plugins/rendezvous.ts';
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
