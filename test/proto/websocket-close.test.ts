/** The WebSocket close body both ends share (proto/src/websocket-close.ts, SPEC §7.7). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CLOSE_NO_STATUS, decodeClose, encodeClose, fitCloseReason, MAX_CLOSE_REASON_BYTES } from '../../proto/src/index.ts';

const body = (code: number, reason: Buffer | string = ''): Buffer => Buffer.concat([Buffer.from([code >> 8, code & 0xff]), Buffer.from(reason)]);

test('decode: empty is a close without a code; a code and a UTF-8 reason round-trip', () => {
  assert.deepEqual(decodeClose(Buffer.alloc(0)), { code: CLOSE_NO_STATUS, reason: '' });
  assert.deepEqual(decodeClose(encodeClose(4001, 'bye ✓')), { code: 4001, reason: 'bye ✓' });
  assert.deepEqual(decodeClose(encodeClose(1000)), { code: 1000, reason: '' });
});

test('decode: one byte, over 125 bytes, a reserved code or a reason that is not UTF-8 is malformed', () => {
  assert.equal(decodeClose(Buffer.from([3])), null);
  assert.equal(decodeClose(body(1000, 'x'.repeat(124))), null);
  assert.notEqual(decodeClose(body(1000, 'x'.repeat(123))), null);
  for (const code of [999, 1004, 1005, 1006, 1015, 2000, 5000]) assert.equal(decodeClose(body(code)), null, `code ${code}`);
  assert.equal(decodeClose(body(1000, Buffer.from([0xc3, 0x28]))), null);
});

test('encode: refuses what may not be sent; fitCloseReason cuts on a character boundary', () => {
  assert.deepEqual(encodeClose(undefined), Buffer.alloc(0));
  assert.throws(() => encodeClose(undefined, 'why'), RangeError);
  assert.throws(() => encodeClose(1005), RangeError);
  assert.throws(() => encodeClose(1000, 'x'.repeat(124)), RangeError);
  const fitted = fitCloseReason('é'.repeat(100));
  assert.ok(Buffer.byteLength(fitted) <= MAX_CLOSE_REASON_BYTES);
  assert.equal(fitted, 'é'.repeat(61));
  assert.deepEqual(decodeClose(encodeClose(1011, fitted)), { code: 1011, reason: fitted });
});
