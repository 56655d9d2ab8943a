/**
 * Weighted rendezvous (highest random weight) hashing with bounded loads. The ranking is a pure
 * function of (key, member ids, weights): two routers seeing the same workers rank every key the
 * same way, a leaving member only moves its own keys, and a joining one takes about 1/n of them.
 */

/** cyrb53: a fast, well-mixed 53-bit string hash (public domain). */
export function hash53(text: string, seed = 0): number {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

export interface Member {
  readonly id: string;
  /** > 0; a member of weight 2 owns about twice the keys of weight 1. */
  readonly weight: number;
}

/** Score of `member` for `key`: −w / ln(u), u uniform in (0, 1) (weighted rendezvous). */
export function score(key: string, member: Member): number {
  const u = (hash53(`${key}\u0000${member.id}`) + 0.5) / 9007199254740992;
  return -member.weight / Math.log(u);
}

/** Members ordered best first for `key` (ties — practically impossible — broken by id). */
export function rank<M extends Member>(key: string, members: readonly M[]): M[] {
  const scored = members.map((m) => ({ m, s: score(key, m) }));
  scored.sort((a, b) => b.s - a.s || (a.m.id < b.m.id ? -1 : a.m.id > b.m.id ? 1 : 0));
  return scored.map((x) => x.m);
}

/** The best member for `key`. */
export function owner<M extends Member>(key: string, members: readonly M[]): M | undefined {
  let best: M | undefined;
  let bestScore = -Infinity;
  for (const m of members) {
    const s = score(key, m);
    if (s > bestScore || (s === bestScore && best !== undefined && m.id < best.id)) {
      best = m;
      bestScore = s;
    }
  }
  return best;
}

/**
 * Bounded load (Mirrokni et al., "consistent hashing with bounded loads"): a member may hold at most
 * max(⌈factor × (total + 1) × w / Σw⌉, floor(m)) requests, where total is the load of the members
 * that can take work; the key goes to the first member in its ranking under that bound. A member
 * whose load is Infinity is full whatever the bound (it is left out of the total, so one full
 * member does not lift every other member's bound to Infinity).
 *
 * Why the floor: at low load the relative bound is below 2 — on 4 idle members with factor 1.25 the
 * second concurrent request of one key already exceeds ⌈1.25 × 2 / 4⌉ = 1 and moves to another
 * member, which breaks a client's stickiness (seed 000) while every member is nearly idle. The caller
 * says how much a member may always take (the shard plugin: the worker's announced capacity).
 */
export function pickBounded<M extends Member>(
  key: string,
  members: readonly M[],
  load: (m: M) => number,
  factor: number,
  floor: (m: M) => number = () => 0,
): M | undefined {
  if (members.length === 0) return undefined;
  let total = 0;
  let weights = 0;
  for (const m of members) {
    const l = load(m);
    if (Number.isFinite(l)) total += l;
    weights += m.weight;
  }
  const ranked = rank(key, members);
  for (const m of ranked) {
    const l = load(m);
    if (!Number.isFinite(l)) continue;
    const bound = Math.max(Math.ceil((factor * (total + 1) * m.weight) / weights), floor(m));
    if (l < bound) return m;
  }
  return ranked[0];
}
