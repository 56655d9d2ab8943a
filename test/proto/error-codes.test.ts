/**
 * SPEC.md and the code agree (as fastify's errors test): every decode error code in
 * proto/src/errors.ts is documented in SPEC.md, and every ZP_ERR_ code SPEC.md names exists.
 * Same for the RST and ERROR codes in messages.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DecodeErrorCodes, ERROR_CODES, MessageCode, RST_CODES } from '../../proto/src/index.ts';

const spec = readFileSync(fileURLToPath(new URL('../../proto/SPEC.md', import.meta.url)), 'utf8');
const codeCodes = Object.keys(DecodeErrorCodes);

test('every decode error code in errors.ts is documented in SPEC.md', () => {
  for (const code of codeCodes) assert.match(spec, new RegExp(`\\b${code}\\b`), `${code} missing from SPEC.md`);
});

test('every ZP_ERR_ code SPEC.md names exists in errors.ts', () => {
  const named = new Set(spec.match(/\bZP_ERR_[A-Z0-9_]+/g) ?? []);
  assert.ok(named.size > 0);
  for (const code of named) assert.ok(codeCodes.includes(code), `SPEC.md names ${code}, which errors.ts does not define`);
});

test('every RST code, ERROR code and message type is documented in SPEC.md', () => {
  for (const code of [...RST_CODES, ...ERROR_CODES]) assert.ok(spec.includes(`\`${code}\``), `\`${code}\` missing from SPEC.md`);
  for (const [name, code] of Object.entries(MessageCode)) {
    assert.match(spec, new RegExp(`\\|\\s*${code}\\s*\\|\\s*${name}\\s*\\|`), `message table row "| ${code} | ${name} |" missing`);
  }
});
