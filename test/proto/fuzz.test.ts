/**
 * The decoder never crashes: random bytes, and mutations of every vector (bit flips, truncation,
 * extension, byte splices) either decode to a message or fail with a ProtocolError — nothing else.
 * Whatever decodes is a stable meaning: encoding it and decoding again gives the same message.
 * And one bad pair in a batch never hides the good pairs around it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProtocolError, decodeFrames, decodeMessage, encode, encodeInto, type Message } from '../../proto/src/index.ts';
import { ALL_TYPES, createRng, randomMessage, type Rng } from './random-messages.ts';
import { frameBytes, loadVectors } from './vectors-file.ts';

const vectors = loadVectors();
// Small frames only: the 1 MiB fill vectors would make every mutation slow and prove nothing new.
const samples = vectors.filter((v) => v.frames.length === 2 && v.frames.every((f) => typeof f === 'string')).map((v) => v.frames.map(frameBytes));

/** Decodes one pair; anything but a Message or a ProtocolError fails the test. */
function decodeOrProtocolError(header: Buffer, body: Buffer, context: string): Message | ProtocolError {
  try {
    return decodeMessage(header, body);
  } catch (err) {
    if (err instanceof ProtocolError) return err;
    assert.fail(`${context}: threw ${String(err)} (not a ProtocolError) for header ${header.toString('hex').slice(0, 200)}`);
  }
}

/** A decoded message must be a fixed point: encode → decode gives it back. */
function assertStable(m: Message, context: string): void {
  const [h, b] = encode(m);
  assert.deepStrictEqual(decodeMessage(h!, b!), m, `${context}: decoded meaning is not stable`);
}

function mutate(rng: Rng, input: Buffer): Buffer {
  const b = Buffer.from(input);
  switch (rng.int(0, 4)) {
    case 0: // flip 1..3 bits
      for (let k = rng.int(1, 3); k > 0 && b.length > 0; k--) {
        const i = rng.int(0, b.length - 1);
        b[i] = b[i]! ^ (1 << rng.int(0, 7));
      }
      return b;
    case 1: // truncate
      return b.subarray(0, rng.int(0, Math.max(0, b.length - 1)));
    case 2: // extend with random bytes
      return Buffer.concat([b, rng.bytes(rng.int(1, 16))]);
    case 3: // overwrite one byte with an interesting value (msgpack type markers, limits)
      if (b.length > 0) b[rng.int(0, b.length - 1)] = rng.pick([0x00, 0x7f, 0x80, 0x90, 0xa0, 0xc0, 0xc1, 0xc2, 0xc3, 0xcc, 0xce, 0xcf, 0xd3, 0xd9, 0xdc, 0xdd, 0xde, 0xdf, 0xff]);
      return b;
    default: // splice a random slice of another sample in
      {
        const other = rng.pick(samples)[0]!;
        const at = rng.int(0, b.length);
        const from = rng.int(0, other.length);
        return Buffer.concat([b.subarray(0, at), other.subarray(from, from + rng.int(0, 12)), b.subarray(at)]);
      }
  }
}

test('random bytes never crash the decoder', () => {
  const rng = createRng();
  for (let i = 0; i < 20_000; i++) {
    const header = rng.bytes(rng.int(0, 64));
    if (rng.next() < 0.5) header[0] = rng.int(0x90, 0x9f); // often look like a msgpack array
    const body = rng.next() < 0.8 ? Buffer.alloc(0) : rng.bytes(rng.int(1, 32));
    const r = decodeOrProtocolError(header, body, `seed ${rng.seed}, iteration ${i}`);
    if (!(r instanceof ProtocolError)) assertStable(r, `seed ${rng.seed}, iteration ${i}`);
  }
});

test('mutations of every vector never crash the decoder', () => {
  const rng = createRng();
  let decoded = 0;
  let rejected = 0;
  for (const [header, body] of samples) {
    for (let i = 0; i < 60; i++) {
      const h = rng.next() < 0.85 ? mutate(rng, header!) : header!;
      const b = rng.next() < 0.15 ? mutate(rng, body!) : body!;
      const r = decodeOrProtocolError(h, b, `seed ${rng.seed}`);
      if (r instanceof ProtocolError) {
        rejected++;
      } else {
        decoded++;
        assertStable(r, `seed ${rng.seed}`);
      }
    }
  }
  // Both outcomes must actually occur, or the mutations are not exercising anything.
  assert.ok(decoded > 100 && rejected > 100, `decoded ${decoded}, rejected ${rejected}`);
});

test('mutated frame lists never crash decodeFrames', () => {
  const rng = createRng();
  for (let i = 0; i < 2_000; i++) {
    const frames = Array.from({ length: rng.int(0, 9) }, () => mutate(rng, rng.pick(rng.pick(samples))));
    let calls = 0;
    decodeFrames(frames, {
      message: () => calls++,
      error: (e) => {
        assert.ok(e instanceof ProtocolError, `seed ${rng.seed}`);
        calls++;
      },
    });
    // Every pair is accounted for, or the message is rejected whole with one error.
    const expected = frames.length > 0 && frames.length % 2 === 0 ? frames.length / 2 : 1;
    assert.equal(calls, expected, `seed ${rng.seed}, ${frames.length} frames`);
  }
});

test('a batch with one bad pair still delivers every other pair, in order', () => {
  const rng = createRng();
  const badPairs = vectors
    .filter((v) => v.frames.length === 2 && v.results.length === 1 && 'error' in v.results[0]! && v.results[0].error.code !== 'ZP_ERR_FRAME_COUNT')
    .map((v) => ({ frames: v.frames.map(frameBytes), code: ('error' in v.results[0]! && v.results[0].error.code) || '' }));
  assert.ok(badPairs.length > 50);
  for (let round = 0; round < 300; round++) {
    const good = Array.from({ length: rng.int(1, 20) }, () => randomMessage(rng, rng.pick(ALL_TYPES)));
    const badAt = rng.int(0, good.length);
    const bad = rng.pick(badPairs);
    const frames: Buffer[] = [];
    good.forEach((m, i) => {
      if (i === badAt) frames.push(...bad.frames);
      encodeInto(frames, m);
    });
    if (badAt === good.length) frames.push(...bad.frames);
    const got: Message[] = [];
    const errors: string[] = [];
    decodeFrames(frames, { message: (m) => got.push(m), error: (e) => errors.push(e.code) });
    assert.deepStrictEqual(errors, [bad.code], `seed ${rng.seed}, round ${round}`);
    assert.deepStrictEqual(got, good, `seed ${rng.seed}, round ${round}`);
  }
});
