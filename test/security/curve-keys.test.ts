/**
 * CURVE key handling without sockets: Z85 against RFC 32's vector, the public key derived from a
 * secret one equals the one libzmq generated with it, key files and allowlists parse (and refuse
 * bad input with the file and line).
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { curveKeyPair } from 'zeromq';
import { readAllowlist } from '../../router/src/security/allowlist.ts';
import { RetryBudget } from '../../router/src/security/retry-budget.ts';
import { CurveKeyError, curvePublicKey, keyOrKeyFile, readSecretKeyPair, z85Decode, z85Encode } from '../../proto/src/curve-keys.ts';
import { makeTempDir } from '../helpers/index.ts';

const tmp = makeTempDir('zp-keys-');
after(() => tmp.remove());

test('Z85 matches the RFC 32 test vector both ways', () => {
  const bytes = Buffer.from([0x86, 0x4f, 0xd2, 0x6f, 0xb5, 0x59, 0xf7, 0x5b]);
  assert.equal(z85Encode(bytes), 'HelloWorld');
  assert.deepEqual(z85Decode('HelloWorld'), bytes);
  assert.throws(() => z85Decode('Hello Worl'), CurveKeyError);
});

test('the public key derived from a secret key is the one libzmq paired with it', () => {
  for (let i = 0; i < 20; i++) {
    const pair = curveKeyPair();
    assert.equal(curvePublicKey(pair.secretKey), pair.publicKey);
  }
});

test('key files: comments skipped, keys validated, inline or file for --router-key', () => {
  const pair = curveKeyPair();
  const keyFile = path.join(tmp.path, 'a.key');
  writeFileSync(keyFile, `# comment\n\n${pair.secretKey}\n`);
  assert.deepEqual(readSecretKeyPair(keyFile), pair);
  const pubFile = path.join(tmp.path, 'a.pub');
  writeFileSync(pubFile, `${pair.publicKey}\n`);
  assert.equal(keyOrKeyFile(pubFile, 'router key'), pair.publicKey);
  assert.equal(keyOrKeyFile(pair.publicKey, 'router key'), pair.publicKey);
  const bad = path.join(tmp.path, 'bad.key');
  writeFileSync(bad, 'not-a-key\n');
  assert.throws(() => readSecretKeyPair(bad), CurveKeyError);
  assert.throws(() => readSecretKeyPair(path.join(tmp.path, 'missing.key')), /cannot read/);
});

test('allowlist: a file of keys, or a directory of *.pub files; a bad line names file and line', () => {
  const [a, b, c] = [curveKeyPair(), curveKeyPair(), curveKeyPair()];
  const file = path.join(tmp.path, 'allow.txt');
  writeFileSync(file, `# workers\n${a.publicKey}\n\n${b.publicKey}\n`);
  assert.deepEqual(readAllowlist(file), new Set([a.publicKey, b.publicKey]));
  const dir = path.join(tmp.path, 'allow.d');
  mkdirSync(dir);
  writeFileSync(path.join(dir, 'c.pub'), `${c.publicKey}\n`);
  writeFileSync(path.join(dir, 'c.key'), `${c.secretKey}\n`); // not a .pub: ignored, never trusted
  assert.deepEqual(readAllowlist(dir), new Set([c.publicKey]));
  writeFileSync(path.join(dir, 'broken.pub'), `${c.publicKey}\nshort\n`);
  assert.throws(() => readAllowlist(dir), /broken\.pub:2/);
});

test('retry budget: reserve plus percent of recent requests, forgotten after the window', () => {
  const budget = new RetryBudget(20, 2);
  const t0 = 1_000_000;
  for (let i = 0; i < 10; i++) budget.recordRequest(t0);
  // 2 (reserve) + 20% of 10 = 4 retries.
  const allowed = Array.from({ length: 6 }, () => budget.tryRetry(t0)).filter(Boolean).length;
  assert.equal(allowed, 4);
  assert.equal(budget.exhausted, 2);
  // 11 s later the window holds nothing: only the reserve again.
  const later = t0 + 11_000;
  assert.equal([budget.tryRetry(later), budget.tryRetry(later), budget.tryRetry(later)].filter(Boolean).length, 2);
});
