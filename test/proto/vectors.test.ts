/**
 * The codec against every vector in proto/vectors/vectors.json (the source of truth):
 * decoding gives the stated messages / errors in order, and encoding a canonical vector's messages
 * gives its exact bytes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DecodeErrorCodes, MessageCode, ProtocolError, RST_CODES, ERROR_CODES, WS_OPS, decodeFrames, encode, type Message } from '../../proto/src/index.ts';
import { frameBytes, loadVectors, toMessage, type VectorResult } from './vectors-file.ts';

const vectors = loadVectors();

function decodeAll(frames: Buffer[]): VectorResult[] {
  const out: VectorResult[] = [];
  decodeFrames(frames, {
    message: (m: Message) => out.push({ message: m as unknown as Record<string, unknown> }),
    error: (e: ProtocolError) => {
      assert.ok(e instanceof ProtocolError);
      out.push({ error: { code: e.code, field: e.field, stream: e.stream } });
    },
  });
  return out;
}

for (const v of vectors) {
  test(`vector ${v.name}: ${v.description}`, () => {
    const got = decodeAll(v.frames.map(frameBytes));
    assert.equal(got.length, v.results.length, 'number of results');
    v.results.forEach((want, i) => {
      const g = got[i]!;
      if ('message' in want) {
        assert.ok('message' in g, `result ${i}: expected a message, got ${JSON.stringify(g)}`);
        assert.deepStrictEqual(g.message, toMessage(want.message), `result ${i}`);
      } else {
        assert.ok('error' in g, `result ${i}: expected ${want.error.code}, got a message`);
        assert.equal(g.error.code, want.error.code, `result ${i}: code`);
        // A vector that names no field / stream expects the decoder to report none.
        assert.equal(g.error.field, want.error.field, `result ${i}: field`);
        assert.equal(g.error.stream, want.error.stream, `result ${i}: stream`);
      }
    });
    if (v.canonical) {
      const encoded = v.results.flatMap((r) => {
        assert.ok('message' in r, 'a canonical vector holds only messages');
        return encode(toMessage(r.message)).map((b) => b.toString('hex'));
      });
      assert.deepStrictEqual(encoded, v.frames, 'encode gives the exact bytes');
    }
  });
}

test('the vectors cover every message type, RST code, ERROR code and decode error code', () => {
  const messages = vectors.flatMap((v) => v.results.flatMap((r) => ('message' in r ? [r.message] : [])));
  const errors = vectors.flatMap((v) => v.results.flatMap((r) => ('error' in r ? [r.error] : [])));
  for (const type of Object.keys(MessageCode)) {
    assert.ok(
      vectors.some((v) => v.canonical && v.results.some((r) => 'message' in r && r.message.type === type)),
      `a canonical vector for ${type}`,
    );
  }
  for (const code of RST_CODES) assert.ok(messages.some((m) => m.type === 'RST' && m.code === code), `RST ${code}`);
  for (const code of ERROR_CODES) assert.ok(messages.some((m) => m.type === 'ERROR' && m.code === code), `ERROR ${code}`);
  for (const op of WS_OPS) assert.ok(messages.some((m) => m.type === 'DATA' && m.op === op), `DATA with op ${op}`);
  assert.ok(messages.some((m) => m.type === 'DATA' && m.op !== undefined && m.fin === false), 'a WebSocket fragment (fin=false)');
  assert.ok(errors.some((e) => e.code === 'ZP_ERR_FIELD' && e.field === 'op'), 'an invalid DATA.op');
  for (const code of Object.keys(DecodeErrorCodes)) assert.ok(errors.some((e) => e.code === code), `an invalid vector for ${code}`);
  assert.ok(errors.filter((e) => e.code === 'ZP_ERR_FIELD').every((e) => typeof e.field === 'string'), 'every ZP_ERR_FIELD names its field');
  assert.ok(vectors.some((v) => v.canonical && v.results.length > 1), 'a batched multi-pair vector');
  assert.ok(vectors.some((v) => v.results.length > 1 && v.results.some((r) => 'error' in r) && v.results.some((r) => 'message' in r)), 'a batch with a bad pair');
});

test('vector names are unique', () => {
  assert.equal(new Set(vectors.map((v) => v.name)).size, vectors.length);
});
