/**
 * proto/src/msgpack.ts against @msgpack/msgpack, an independent implementation: the header writer
 * must give the same bytes for every value it can write, and the reader must decode whatever that
 * library encodes (within our limits) to the same value — and reject what SPEC §3 forbids.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Encoder, decode as libDecode, encode as libEncode } from '@msgpack/msgpack';
import { HeaderWriter, MsgpackError, unpackHeader, type UnpackLimits } from '../../proto/src/msgpack.ts';
import { createRng, type Rng } from './random-messages.ts';

const LIMITS: UnpackLimits = { maxArrayLength: 1040, maxMapLength: 256, maxDepth: 32 };
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function written(write: (w: HeaderWriter) => void, estimate = 1): string {
  const w = new HeaderWriter(estimate); // a tiny estimate also exercises the buffer growth
  write(w);
  return hex(w.finish());
}

/** Integers around every msgpack format boundary, and non-integers. */
const EDGE_NUMBERS: readonly number[] = [0, 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0xffffffff, 0x100000000, Number.MAX_SAFE_INTEGER,
    -1, -0x20, -0x21, -0x80, -0x81, -0x8000, -0x8001, -0x80000000, -0x80000001, Number.MIN_SAFE_INTEGER,
    0.5, -1.25, 1e300, 2 ** 53, -(2 ** 60), Number.NaN, Infinity];

/** The edges plus random integers of every magnitude. */
function interestingNumbers(rng: Rng): number[] {
  const random = Array.from({ length: 2000 }, () => {
    const magnitude = 2 ** rng.int(0, 53);
    return (rng.next() < 0.5 ? -1 : 1) * Math.floor(rng.next() * magnitude);
  });
  return [...EDGE_NUMBERS, ...random];
}

/** Cuts at a code point boundary: a lone surrogate is not a valid string on the wire (SPEC §3). */
const cut = (s: string, n: number): string => Array.from(s).slice(0, n).join('');

function randomString(rng: Rng, lengths: readonly number[] = [0, 1, 5, 31, 32, 33, 63, 64, 65, 100, 255, 256, 300, 70000]): string {
  const length = rng.pick(lengths);
  const alphabet = rng.next() < 0.5 ? ['a', 'Z', '0', '-'] : ['a', 'é', '中', '😀', '\u0000'];
  let s = '';
  while (s.length < length) s += rng.pick(alphabet);
  return s;
}

test('num writes the same bytes as @msgpack/msgpack for every integer format and floats', () => {
  const rng = createRng();
  for (const v of interestingNumbers(rng)) {
    assert.equal(written((w) => w.num(v)), hex(libEncode(v)), `seed ${rng.seed}: ${v}`);
  }
});

test('str, strArray, numArray, strMap, bool and arrayHeader write the same bytes as @msgpack/msgpack', () => {
  const rng = createRng();
  for (let i = 0; i < 400; i++) {
    const s = randomString(rng);
    assert.equal(written((w) => w.str(s)), hex(libEncode(s)), `seed ${rng.seed}: string of ${s.length}`);
  }
  for (const n of [0, 15, 16, 300, 1040]) {
    const a = Array.from({ length: n }, (_, k) => `h${k}`);
    assert.equal(written((w) => w.strArray(a)), hex(libEncode(a)));
    const nums = Array.from({ length: n }, (_, k) => k * 1000);
    assert.equal(written((w) => w.numArray(nums)), hex(libEncode(nums)));
  }
  for (const n of [0, 1, 15, 16, 256]) {
    const o: Record<string, string> = {};
    for (let k = 0; k < n; k++) o[`key-${k}`] = cut(randomString(rng, SHORT), 40);
    assert.equal(written((w) => w.strMap(o)), hex(libEncode(o)), `seed ${rng.seed}: map of ${n}`);
  }
  assert.equal(written((w) => w.bool(true)), hex(libEncode(true)));
  assert.equal(written((w) => w.bool(false)), hex(libEncode(false)));
  for (const n of [0, 15, 16, 0xffff, 0x10000]) {
    assert.equal(written((w) => w.arrayHeader(n)), hex(libEncode(new Array(n).fill(null))).slice(0, n < 16 ? 2 : n < 0x10000 ? 6 : 10));
  }
});

const SHORT: readonly number[] = [0, 1, 5, 31, 32, 33, 100, 255, 256, 300];

/** A random nested value made only of what headers may hold. */
function randomValue(rng: Rng, depth: number): unknown {
  const kind = rng.int(0, depth > 3 ? 4 : 6);
  switch (kind) {
    case 0: return null;
    case 1: return rng.next() < 0.5;
    case 2: return rng.next() < 0.5 ? rng.pick(EDGE_NUMBERS) : rng.int(-1e9, 1e9);
    case 3: return randomString(rng, SHORT);
    case 4: return Buffer.from(rng.bytes(rng.int(0, 40)));
    case 5: return Array.from({ length: rng.int(0, 8) }, () => randomValue(rng, depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      for (let k = rng.int(0, 8); k > 0; k--) o[cut(randomString(rng, SHORT), 10)] = randomValue(rng, depth + 1);
      return o;
    }
  }
}

test('unpackHeader decodes what @msgpack/msgpack encodes, to the same value', () => {
  const rng = createRng();
  const float32 = new Encoder({ forceFloat32: true });
  // Container sizes past the fix formats (array 16, map 16) as well as random nested values.
  const bigMap = (n: number): Record<string, number> => Object.fromEntries(Array.from({ length: n }, (_, k) => [`k${k}`, k]));
  const fixed: unknown[] = [new Array(16).fill(1), new Array(1040).fill('x'), bigMap(16), bigMap(256), 'y'.repeat(65000)];
  for (let i = 0; i < 1000 + fixed.length; i++) {
    const v = i < fixed.length ? fixed[i] : randomValue(rng, 0);
    const bytes = Buffer.from(i % 5 === 0 ? float32.encode(v) : libEncode(v));
    // Compare with Buffer for bin (the library yields a plain Uint8Array, we yield a Buffer view).
    const normalise = (x: unknown): unknown => JSON.parse(JSON.stringify(x, (_k, y: unknown) => (y instanceof Uint8Array ? { bin: hex(y) } : y)));
    assert.deepStrictEqual(normalise(unpackHeader(bytes, LIMITS)), normalise(libDecode(bytes)), `seed ${rng.seed}, value ${i}`);
  }
});

test('unpackHeader rejects what SPEC §3 forbids, with MsgpackError', () => {
  const rejects = (h: string, why: string): void => {
    assert.throws(() => unpackHeader(Buffer.from(h, 'hex'), LIMITS), MsgpackError, why);
  };
  rejects('', 'empty');
  rejects('c1', 'reserved byte');
  rejects('d40100', 'fixext 1');
  rejects('c70001', 'ext 8 of length 0');
  rejects('0101', 'trailing byte');
  rejects('81' + '01' + 'a178', 'int map key');
  rejects('81' + 'a95f5f70726f746f5f5f' + 'c0', '__proto__ map key');
  rejects('dd' + 'ffffffff', 'array longer than the limit, without allocating it');
  rejects('df' + '00000101', 'map longer than the limit');
  rejects('91'.repeat(33) + 'c0', 'nested deeper than 32');
  rejects('db' + '00010000', 'str longer than the frame');
  rejects('cf0000', 'truncated uint64');
  assert.deepStrictEqual(unpackHeader(Buffer.from('91'.repeat(32) + 'c0', 'hex'), LIMITS) !== undefined, true, 'depth 32 is fine');
});
