/**
 * Writes proto/vectors/vectors.json: byte-exact test vectors for the zeroproxy wire protocol.
 *
 * Run once after a deliberate protocol change:   npx tsx proto/vectors/generate.ts
 * then review the diff by hand. The committed JSON is the source of truth — test/proto/vectors.test.ts
 * checks the codec against it, so regenerating from a broken codec shows up as a diff, not a pass.
 * Format: proto/vectors/README.md.
 *
 * Valid vectors are encoded with the codec; invalid ones are built with plain msgpack (or raw bytes)
 * so that they can hold what the codec would never produce.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { encode as msgpack } from '@msgpack/msgpack';
import { encode, MessageCode, decodeFrames, ProtocolError, type Message, type MessageType } from '../src/index.ts';

type Frame = string | { fill: string; length: number };
type Result = { message: Record<string, unknown> } | { error: { code: string; field?: string; stream?: number } };
interface Vector {
  name: string;
  description: string;
  /** encode(results' messages) must give exactly `frames`. */
  canonical: boolean;
  frames: Frame[];
  results: Result[];
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const header = (fields: unknown[]): string => hex(msgpack(fields));

/** A message as JSON: bodies as hex strings, everything else as is. */
function meaning(m: Message): Record<string, unknown> {
  const out: Record<string, unknown> = { ...m };
  if ('body' in m) out.body = hex(m.body);
  return out;
}

const valid: Message[] = [
  {
    type: 'HELLO', nonce: 2718281828, workerId: 'api-1/4242/x7Kq', epoch: 'Zt3vQ9', versions: [1], pool: 'default',
    capacity: 64, window: 262144, meta: { runtime: 'node20', shard: 'eu-1' },
  },
  { type: 'HELLO', nonce: 0, workerId: 'w', epoch: 'e', versions: [1, 2], pool: 'kv', capacity: 0, window: 1, meta: {} },
  {
    type: 'WELCOME', nonce: 2718281828, routerId: 'edge-a', epoch: 'R8pL2m', version: 1, heartbeatMs: 2500,
    window: 262144, maxFrame: 262144,
  },
  { type: 'CREDIT', credit: 1 },
  { type: 'CREDIT', credit: -3 },
  { type: 'CREDIT', credit: 1000000 },
  { type: 'HEARTBEAT', epoch: 'Zt3vQ9' },
  { type: 'DRAIN', lastStream: 41 },
  { type: 'BYE', reason: 'shutdown' },
  { type: 'BYE', reason: '' },
  {
    type: 'REQ', stream: 1, seq: 0, method: 'GET', scheme: 'http', authority: 'example.com', path: '/hello?x=1',
    headers: ['accept', '*/*', 'user-agent', 'curl/8'], remote: '127.0.0.1', requestId: 'V1StGXR8_Z5jdHi6B-myT',
    timeoutMs: 60000, fin: true, body: Buffer.alloc(0),
  },
  {
    type: 'REQ', stream: 4294967295, seq: 0, method: 'POST', scheme: 'https', authority: '[::1]:8443', path: '/upload',
    headers: ['content-type', 'text/plain', 'content-length', '11'], remote: '::1', requestId: 'r-2', timeoutMs: 0,
    fin: false, body: Buffer.from('hello world'),
  },
  { type: 'DATA', stream: 1, seq: 1, fin: false, body: Buffer.from([0, 1, 2, 0xff]) },
  { type: 'DATA', stream: 1, seq: 2, fin: true, body: Buffer.alloc(0) },
  { type: 'RES', stream: 1, seq: 0, status: 200, headers: ['content-type', 'text/plain; charset=utf-8'], fin: true, body: Buffer.from('héllo') },
  { type: 'RES', stream: 7, seq: 3, status: 101, headers: [], fin: false, body: Buffer.alloc(0) },
  { type: 'WINDOW', stream: 1, seq: 1, increment: 65536 },
  { type: 'WINDOW', stream: 300, seq: 70000, increment: 2147483647 },
  ...(['cancel', 'refused', 'timeout', 'flow_control', 'protocol', 'peer_restart', 'internal'] as const).map(
    (code): Message => ({ type: 'RST', stream: 9, code, message: code === 'cancel' ? '' : `${code} example` }),
  ),
  ...(['unknown_peer', 'version', 'protocol', 'auth', 'overloaded', 'internal'] as const).map(
    (code): Message => ({ type: 'ERROR', code, message: code === 'version' ? 'router speaks versions 1' : '' }),
  ),
];

// WebSocket streams (SPEC §7.7): DATA carries the message type as header element 6.
// Kept out of `valid` so the index-based names and batches above stay as they were.
const wsClose = Buffer.concat([Buffer.from([0x03, 0xe8]), Buffer.from('bye ✓')]); // 1000 + UTF-8 reason
const wsValid: [name: string, description: string, m: Message][] = [
  ['ws-data-text', 'a WebSocket text message in one DATA (op text, fin)', { type: 'DATA', stream: 7, seq: 1, fin: true, body: Buffer.from('héllo'), op: 'text' }],
  ['ws-data-binary', 'a WebSocket binary message in one DATA (op binary, fin)', { type: 'DATA', stream: 7, seq: 2, fin: true, body: Buffer.from([0, 1, 2, 0xff]), op: 'binary' }],
  ['ws-data-ping', 'a WebSocket ping (body ≤ 125 bytes, fin)', { type: 'DATA', stream: 7, seq: 3, fin: true, body: Buffer.from('p1'), op: 'ping' }],
  ['ws-data-pong', 'a WebSocket pong (body ≤ 125 bytes, fin)', { type: 'DATA', stream: 7, seq: 4, fin: true, body: Buffer.from('p1'), op: 'pong' }],
  ['ws-data-close', 'a WebSocket close: body = 2-byte big-endian code (1000) + UTF-8 reason', { type: 'DATA', stream: 7, seq: 5, fin: true, body: wsClose, op: 'close' }],
  ['ws-data-close-empty', 'a WebSocket close with an empty body (no code)', { type: 'DATA', stream: 7, seq: 6, fin: true, body: Buffer.alloc(0), op: 'close' }],
];
const wsFragments: Message[] = [
  { type: 'DATA', stream: 9, seq: 1, fin: false, body: Buffer.from('frag'), op: 'text' },
  { type: 'DATA', stream: 9, seq: 2, fin: true, body: Buffer.from('mented'), op: 'text' },
];

function validVector(m: Message, i: number): Vector {
  return {
    name: `${m.type.toLowerCase()}-${i}`,
    description: `a valid ${m.type}`,
    canonical: true,
    frames: encode(m).map(hex),
    results: [{ message: meaning(m) }],
  };
}

const vectors: Vector[] = valid.map(validVector);

// A batch: one ZeroMQ message carrying several pairs, delivered in order.
const batch: Message[] = [valid[6]!, valid[10]!, valid[12]!, valid[16]!, valid[3]!];
vectors.push({
  name: 'batch-5-pairs',
  description: 'five (header, body) pairs in one ZeroMQ message: HEARTBEAT, REQ, DATA, WINDOW, CREDIT',
  canonical: true,
  frames: batch.flatMap((m) => encode(m).map(hex)),
  results: batch.map((m) => ({ message: meaning(m) })),
});

for (const [name, description, m] of wsValid) {
  vectors.push({ name, description, canonical: true, frames: encode(m).map(hex), results: [{ message: meaning(m) }] });
}
vectors.push({
  name: 'ws-data-fragmented',
  description: 'one WebSocket text message "fragmented" in two DATA of the same op: fin=false, then fin=true',
  canonical: true,
  frames: wsFragments.flatMap((m) => encode(m).map(hex)),
  results: wsFragments.map((m) => ({ message: meaning(m) })),
});

// Decode-only vectors: valid input the codec would never produce itself.
vectors.push({
  name: 'extra-fields-ignored',
  description: 'fields after the last defined one are ignored (room for extensions)',
  canonical: false,
  frames: [header(['ZP', 1, MessageCode.HEARTBEAT, 'Zt3vQ9', 'future', [1, 2]]), ''],
  results: [{ message: { type: 'HEARTBEAT', epoch: 'Zt3vQ9' } }],
});
vectors.push({
  name: 'hello-from-newer-worker',
  description: 'HELLO keeps its version-1 layout whatever its header version, so any router can read `versions`',
  canonical: false,
  frames: [header(['ZP', 7, MessageCode.HELLO, 5, 'w2', 'e2', [1, 7], 'default', 8, 65536, {}]), ''],
  results: [{ message: { type: 'HELLO', nonce: 5, workerId: 'w2', epoch: 'e2', versions: [1, 7], pool: 'default', capacity: 8, window: 65536, meta: {} } }],
});
vectors.push({
  name: 'wide-integer-encoding',
  description: 'integers may use a wider msgpack encoding than needed (uint32 for 5, uint16 for 1)',
  canonical: false,
  // fixarray(4) "ZP" uint16(1) fixint(3 = CREDIT) uint32(5)
  frames: ['94a25a50cd000103ce00000005', ''],
  results: [{ message: { type: 'CREDIT', credit: 5 } }],
});

function invalid(name: string, description: string, frames: Frame[], results: Result[]): void {
  vectors.push({ name, description, canonical: false, frames, results });
}
const err = (code: string, extra: { field?: string; stream?: number } = {}): Result => ({ error: { code, ...extra } });

// ZP_ERR_FRAME_COUNT: the whole ZeroMQ message is dropped.
invalid('frames-none', 'zero frames', [], [err('ZP_ERR_FRAME_COUNT')]);
invalid('frames-odd-1', 'a header without its body frame', [encode(valid[6]!).map(hex)[0]!], [err('ZP_ERR_FRAME_COUNT')]);
invalid('frames-odd-3', 'three frames: the second pair is incomplete, so nothing is delivered', [...encode(valid[6]!).map(hex), encode(valid[6]!).map(hex)[0]!], [err('ZP_ERR_FRAME_COUNT')]);
invalid('frames-too-many', '1025 pairs (2050 frames)', Array.from({ length: 2050 }, () => ''), [err('ZP_ERR_FRAME_COUNT')]);

// Size limits are checked before any parsing.
invalid('header-too-large', 'a 65537-byte header frame', [{ fill: '90', length: 65537 }, ''], [err('ZP_ERR_HEADER_TOO_LARGE')]);
invalid('body-too-large', 'a DATA whose body frame is 1 MiB + 1: the stream is reported so the receiver can reset it', [header(['ZP', 1, MessageCode.DATA, 1, 1, false]), { fill: '00', length: 1048577 }], [err('ZP_ERR_BODY_TOO_LARGE', { stream: 1 })]);
invalid('body-too-large-bad-header', 'a bad header is reported before an oversized body', ['c1', { fill: '00', length: 1048577 }], [err('ZP_ERR_MSGPACK')]);

// ZP_ERR_MSGPACK
invalid('msgpack-empty', 'an empty header frame', ['', ''], [err('ZP_ERR_MSGPACK')]);
invalid('msgpack-truncated', 'array of 3 that ends after its first element', ['93a25a50', ''], [err('ZP_ERR_MSGPACK')]);
invalid('msgpack-reserved-byte', '0xc1 is never used in msgpack', ['c1', ''], [err('ZP_ERR_MSGPACK')]);
invalid('msgpack-trailing-bytes', 'a complete header followed by an extra byte', [header(['ZP', 1, MessageCode.HEARTBEAT, 'e']) + '00', ''], [err('ZP_ERR_MSGPACK')]);
invalid('msgpack-ext', 'msgpack ext types are not allowed', ['94a25a500104d40100', ''], [err('ZP_ERR_MSGPACK')]);
invalid('msgpack-too-deep', 'containers nested 33 deep (the limit is 32)', ['91'.repeat(33) + 'c0', ''], [err('ZP_ERR_MSGPACK')]);
invalid('msgpack-array-too-long', 'an array32 claiming 2^32-1 elements (more than 1040)', ['ddffffffff', ''], [err('ZP_ERR_MSGPACK')]);
invalid('msgpack-int-map-key', 'map keys must be str', [header(['ZP', 1, MessageCode.HELLO, 1, 'w', 'e', [1], 'default', 1, 1, {}]).slice(0, -2) + '81' + '01a178', ''], [err('ZP_ERR_MSGPACK')]);
invalid('msgpack-proto-map-key', 'a map key "__proto__" is refused (§3): HELLO.meta {"__proto__": "x"}', [header(['ZP', 1, MessageCode.HELLO, 1, 'w', 'e', [1], 'default', 1, 1, {}]).slice(0, -2) + '81' + 'a9' + Buffer.from('__proto__').toString('hex') + 'a178', ''], [err('ZP_ERR_MSGPACK')]);
invalid('msgpack-map-too-long', 'a map of 257 entries (the limit is 256): HELLO.meta', [header(['ZP', 1, MessageCode.HELLO, 1, 'w', 'e', [1], 'default', 1, 1, {}]).slice(0, -2) + 'de0101' + Array.from({ length: 257 }, (_, k) => { const key = Buffer.from(`k${k}`).toString('hex'); return (0xa0 + key.length / 2).toString(16) + key + 'a0'; }).join(''), ''], [err('ZP_ERR_MSGPACK')]);

// ZP_ERR_HEADER_SHAPE
invalid('shape-not-array', 'header is a msgpack integer', ['01', ''], [err('ZP_ERR_HEADER_SHAPE')]);
invalid('shape-too-short', 'header array of 2 elements', [header(['ZP', 1]), ''], [err('ZP_ERR_HEADER_SHAPE')]);
invalid('shape-type-string', 'type is a string', [header(['ZP', 1, 'HEARTBEAT', 'e']), ''], [err('ZP_ERR_HEADER_SHAPE')]);
invalid('shape-version-zero', 'version 0', [header(['ZP', 0, MessageCode.HEARTBEAT, 'e']), ''], [err('ZP_ERR_HEADER_SHAPE')]);
invalid('shape-version-string', 'version is a string', [header(['ZP', '1', MessageCode.HEARTBEAT, 'e']), ''], [err('ZP_ERR_HEADER_SHAPE')]);

// ZP_ERR_SIGNATURE
invalid('signature-lower-case', '"zp" instead of "ZP"', [header(['zp', 1, MessageCode.HEARTBEAT, 'e']), ''], [err('ZP_ERR_SIGNATURE')]);
invalid('signature-binary', 'signature as msgpack bin, not str', [header([Buffer.from('ZP'), 1, MessageCode.HEARTBEAT, 'e']), ''], [err('ZP_ERR_SIGNATURE')]);

// ZP_ERR_VERSION
invalid('version-2', 'a HEARTBEAT of version 2', [header(['ZP', 2, MessageCode.HEARTBEAT, 'e']), ''], [err('ZP_ERR_VERSION')]);
invalid('version-2-unknown-type', 'an unsupported version is reported before an unknown type', [header(['ZP', 2, 99]), ''], [err('ZP_ERR_VERSION')]);

// ZP_ERR_UNKNOWN_TYPE
invalid('type-0', 'type code 0', [header(['ZP', 1, 0]), ''], [err('ZP_ERR_UNKNOWN_TYPE')]);
invalid('type-13', 'type code 13', [header(['ZP', 1, 13, 'x']), ''], [err('ZP_ERR_UNKNOWN_TYPE')]);

// ZP_ERR_UNEXPECTED_BODY
invalid('body-on-heartbeat', 'HEARTBEAT with a 1-byte body', [header(['ZP', 1, MessageCode.HEARTBEAT, 'e']), '00'], [err('ZP_ERR_UNEXPECTED_BODY')]);
invalid('body-on-window', 'WINDOW with a body: the stream is reported so the receiver can reset it', [header(['ZP', 1, MessageCode.WINDOW, 5, 0, 1024]), 'abcd'], [err('ZP_ERR_UNEXPECTED_BODY', { stream: 5 })]);

// ZP_ERR_FIELD: for every type, every field missing, of the wrong type, and out of range.
type Bad = readonly unknown[];
const STR: Bad = [1, null];
const U32: Bad = ['1', -1, 4294967296, 1.5];
const BOOL: Bad = [1, 'true'];
const fieldTable: Record<MessageType, [name: string, good: unknown, bad: Bad][]> = {
  HELLO: [
    ['nonce', 1, U32], ['workerId', 'w', [...STR, '', 'x'.repeat(256)]], ['epoch', 'e', [...STR, '']],
    ['versions', [1], [1, [], [0], [65536], ['1'], Array.from({ length: 17 }, () => 1)]], ['pool', 'default', [...STR, '']],
    ['capacity', 1, [...U32, 1000001]], ['window', 1, [...U32, 0, 2147483648]], ['meta', {}, [[], 'm', null, { a: 1 }, Buffer.from('m')]],
  ],
  WELCOME: [
    ['nonce', 1, U32], ['routerId', 'r', [...STR, '']], ['epoch', 'e', [...STR, '']], ['version', 1, [...U32, 0, 65536]],
    ['heartbeatMs', 2500, [9, 3600001, '2500']], ['window', 1, [0, 2147483648]], ['maxFrame', 1024, [1023, 1048577]],
  ],
  CREDIT: [['credit', 1, ['1', 1000001, -1000001, 0.5]]],
  HEARTBEAT: [['epoch', 'e', [...STR, '']]],
  DRAIN: [['lastStream', 1, U32]],
  BYE: [['reason', '', [1, 'x'.repeat(1025)]]],
  REQ: [
    ['stream', 1, [...U32, 0]], ['seq', 0, U32], ['method', 'GET', [...STR, '', 'M'.repeat(65)]], ['scheme', 'http', [...STR, '']],
    ['authority', 'a', [1]], ['path', '/', [...STR, '']], ['headers', [], ['h', ['a'], ['a', 1], { a: 'b' }]],
    ['remote', '127.0.0.1', [1]], ['requestId', 'r', [1, 'r'.repeat(201)]], ['timeoutMs', 0, U32], ['fin', true, BOOL],
  ],
  DATA: [['stream', 1, [...U32, 0]], ['seq', 0, U32], ['fin', true, BOOL]],
  RES: [['stream', 1, [...U32, 0]], ['seq', 0, U32], ['status', 200, [99, 1000, '200']], ['headers', [], ['h', ['a']]], ['fin', true, BOOL]],
  WINDOW: [['stream', 1, [...U32, 0]], ['seq', 0, U32], ['increment', 1, [...U32, 0, 2147483648]]],
  RST: [['stream', 1, [...U32, 0]], ['code', 'cancel', [...STR, 'CANCEL', 'nope']], ['message', '', [1, 'x'.repeat(1025)]]],
  ERROR: [['code', 'protocol', [...STR, 'bogus']], ['message', '', [1]]],
};
const STREAM_TYPES = new Set<MessageType>(['REQ', 'DATA', 'RES', 'WINDOW', 'RST']);
for (const [type, fields] of Object.entries(fieldTable) as [MessageType, (typeof fieldTable)[MessageType]][]) {
  const code = MessageCode[type];
  fields.forEach(([name, , bads], i) => {
    const before = fields.slice(0, i).map(([, good]) => good);
    // The stream id is reported once it has been read (the receiver resets that stream).
    const stream = STREAM_TYPES.has(type) && i > 0 ? { stream: 1 } : {};
    const cases: [string, unknown[]][] = [['missing', before], ...bads.map((b, k): [string, unknown[]] => [`bad${k}`, [...before, b]])];
    for (const [label, values] of cases) {
      const after = label === 'missing' ? [] : fields.slice(i + 1).map(([, good]) => good);
      invalid(
        `field-${type.toLowerCase()}-${name}-${label}`,
        label === 'missing' ? `${type} without ${name}` : `${type} with ${name} = ${JSON.stringify(values[values.length - 1])?.slice(0, 40)}`,
        [header(['ZP', 1, code, ...values, ...after]), ''],
        [err('ZP_ERR_FIELD', { field: name, ...stream })],
      );
    }
  });
}

// DATA.op (index 6) is optional, but when present it must be one of the WebSocket ops (a msgpack str).
const dataWith = (op: unknown): string => header(['ZP', 1, MessageCode.DATA, 1, 0, true, op]);
invalid('field-data-op-bad0', 'DATA with op = 1 (not a string)', [dataWith(1), ''], [err('ZP_ERR_FIELD', { field: 'op', stream: 1 })]);
invalid('field-data-op-bad1', 'DATA with op = nil', [dataWith(null), ''], [err('ZP_ERR_FIELD', { field: 'op', stream: 1 })]);
invalid('field-data-op-bad2', 'DATA with op = "continuation" (not an op: fragments repeat their op)', [dataWith('continuation'), ''], [err('ZP_ERR_FIELD', { field: 'op', stream: 1 })]);
invalid('field-data-op-bad3', 'DATA with op = "TEXT" (ops are lower-case)', [dataWith('TEXT'), ''], [err('ZP_ERR_FIELD', { field: 'op', stream: 1 })]);
invalid('field-data-op-bad4', 'DATA with op as msgpack bin, not str', [dataWith(Buffer.from('text')), ''], [err('ZP_ERR_FIELD', { field: 'op', stream: 1 })]);

// One bad pair in a batch does not spoil its neighbours.
invalid(
  'batch-one-bad-pair',
  'HEARTBEAT, a pair with a bad signature, CREDIT: both good pairs are delivered in order',
  [...encode(valid[6]!).map(hex), header(['XX', 1, 4, 'e']), '', ...encode(valid[3]!).map(hex)],
  [{ message: meaning(valid[6]!) }, err('ZP_ERR_SIGNATURE'), { message: meaning(valid[3]!) }],
);

// Self-check before writing: every vector decodes as it claims (the test repeats this from the JSON).
function materialize(f: Frame): Buffer {
  return typeof f === 'string' ? Buffer.from(f, 'hex') : Buffer.alloc(f.length, Buffer.from(f.fill, 'hex'));
}
for (const v of vectors) {
  const got: string[] = [];
  decodeFrames(v.frames.map(materialize), {
    message: (m) => got.push(`message:${m.type}`),
    error: (e: ProtocolError) => got.push(`error:${e.code}:${e.field ?? ''}:${e.stream ?? ''}`),
  });
  const want = v.results.map((r) => ('message' in r ? `message:${String(r.message.type)}` : `error:${r.error.code}:${r.error.field ?? ''}:${r.error.stream ?? ''}`));
  if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`vector ${v.name}: decoder gives ${got.join(',')}, expected ${want.join(',')}`);
}
const names = new Set(vectors.map((v) => v.name));
if (names.size !== vectors.length) throw new Error('duplicate vector names');

const out = fileURLToPath(new URL('./vectors.json', import.meta.url));
const doc = {
  format: 'zeroproxy-vectors',
  formatVersion: 1,
  protocolVersion: 1,
  note: 'Source of truth for the zeroproxy v1 codec. Format: proto/vectors/README.md. Generated once by proto/vectors/generate.ts.',
  vectors,
};
// One vector per line: readable, and a regenerated file diffs vector by vector.
const { vectors: list, ...head } = doc;
const body = list.map((v) => `  ${JSON.stringify(v)}`).join(',\n');
writeFileSync(out, `${JSON.stringify(head, null, 1).slice(0, -2)},\n "vectors": [\n${body}\n ]\n}\n`);
console.log(`wrote ${vectors.length} vectors to ${out}`);
