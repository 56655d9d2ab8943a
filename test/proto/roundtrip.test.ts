/**
 * Property: for many random valid messages of every type, decode(encode(m)) deep-equals m, alone and
 * batched (one ZeroMQ message of many pairs, delivered in order).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeFrames, decodeMessage, encode, encodeInto, type Message } from '../../proto/src/index.ts';
import { ALL_TYPES, createRng, randomMessage } from './random-messages.ts';

const PER_TYPE = 400;

for (const type of ALL_TYPES) {
  test(`decode(encode(m)) = m for ${PER_TYPE} random ${type} messages`, () => {
    const rng = createRng();
    for (let i = 0; i < PER_TYPE; i++) {
      const m = randomMessage(rng, type);
      const [header, body] = encode(m);
      let back: Message;
      try {
        back = decodeMessage(header!, body!);
      } catch (err) {
        assert.fail(`seed ${rng.seed}, iteration ${i}: ${JSON.stringify(m).slice(0, 300)} did not decode: ${String(err)}`);
      }
      assert.deepStrictEqual(back, m, `seed ${rng.seed}, iteration ${i}`);
    }
  });
}

test('random batches of 1..64 pairs decode to the same messages in order', () => {
  const rng = createRng();
  for (let round = 0; round < 120; round++) {
    const sent = Array.from({ length: rng.int(1, 64) }, () => randomMessage(rng, rng.pick(ALL_TYPES)));
    const frames: Buffer[] = [];
    for (const m of sent) encodeInto(frames, m);
    assert.equal(frames.length, sent.length * 2, 'two frames per message');
    const got: Message[] = [];
    decodeFrames(frames, {
      message: (m) => got.push(m),
      error: (e) => assert.fail(`seed ${rng.seed}, round ${round}: ${e.message}`),
    });
    assert.deepStrictEqual(got, sent, `seed ${rng.seed}, round ${round}`);
  }
});

test('encode gives fresh buffers: encoding again does not change frames already handed out', () => {
  // zeromq.js keeps a reference to sent Buffers (zero-copy), so a header must never be reused.
  const a = encode({ type: 'HEARTBEAT', epoch: 'first' });
  const snapshot = Buffer.from(a[0]!);
  encode({ type: 'HEARTBEAT', epoch: 'second' });
  encode({ type: 'BYE', reason: 'x'.repeat(500) });
  assert.deepStrictEqual(a[0], snapshot);
});
