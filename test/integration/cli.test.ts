/** CLI usage: a bad flag or value exits 2 with one line on stderr; --help lists every flag with its default. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runToExit } from '../helpers/index.ts';

/** The help text of one option: its line plus wrapped continuation lines (commander indents them). */
function optionBlock(help: string, flag: string): string {
  const lines = help.split('\n');
  const start = lines.findIndex((l) => new RegExp(`(^|[\\s,])${flag}(?![\\w-])`).test(l));
  if (start < 0) return '';
  const block = [lines[start]!];
  for (let i = start + 1; i < lines.length && !/^\s*-/.test(lines[i]!) && lines[i]!.trim() !== ''; i++) block.push(lines[i]!);
  return block.join(' ');
}

const BAD_USAGES: Array<[string, string[]]> = [
  ['unknown router flag', ['router', '--no-such-flag']],
  ['non-numeric --queue-size', ['router', '--queue-size', 'lots']],
  ['negative --retries', ['router', '--retries', '-1']],
  ['bad --http', ['router', '--http', 'not-a-port']],
  ['bad --bind endpoint', ['router', '--bind', 'http://nope']],
  ['unknown worker flag', ['worker', '--connect', 'tcp://127.0.0.1:5555', '--forward', 'http://127.0.0.1:1', '--bogus']],
  ['bad --connect endpoint', ['worker', '--connect', 'nonsense', '--forward', 'http://127.0.0.1:1']],
  ['bad --forward URL', ['worker', '--connect', 'tcp://127.0.0.1:5555', '--forward', 'not a url']],
  ['bad --capacity', ['worker', '--connect', 'tcp://127.0.0.1:5555', '--forward', 'http://127.0.0.1:1', '--capacity', 'x']],
  ['unknown command', ['frobnicate']],
];

describe('CLI usage errors', () => {
  for (const [what, args] of BAD_USAGES) {
    it(`${what} → exit 2, one stderr line`, async () => {
      const r = await runToExit(args, 45_000);
      assert.equal(r.code, 2, `exit code for ${args.join(' ')}; stderr: ${r.stderr}`);
      const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
      assert.equal(lines.length, 1, `stderr should be one line, got:\n${r.stderr}`);
    });
  }

  it('a worker with neither --forward nor --handler → exit 2, one stderr line', async () => {
    const r = await runToExit(['worker', '--connect', 'tcp://127.0.0.1:5555'], 45_000);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stderr.split('\n').filter((l) => l.trim() !== '').length, 1, r.stderr);
  });
});

describe('CLI --help', () => {
  it('router --help lists every flag with its default', async () => {
    const r = await runToExit(['router', '--help'], 45_000);
    assert.equal(r.code, 0, r.stderr);
    const expected: Array<[string, string]> = [
      ['--http', '8080'],
      ['--bind', 'tcp://127.0.0.1:5555'],
      ['--queue-size', '1024'],
      ['--queue-timeout', '5000'],
      ['--heartbeat', '2500'],
      ['--request-timeout', '60000'],
      ['--retries', '2'],
      ['--replay-limit', '65536'],
      ['--window', '262144'],
      ['--max-body-size', '104857600'],
      ['--max-header-size', '16384'],
      ['--drain-timeout', '30000'],
      ['--log-level', 'info'],
    ];
    for (const [flag, def] of expected) {
      const block = optionBlock(r.stdout, flag);
      assert.ok(block, `${flag} missing from router --help:\n${r.stdout}`);
      assert.ok(new RegExp(`(^|[^\\w.])${def.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![\\w])`).test(block), `default ${def} missing from the ${flag} help: ${block}`);
    }
    assert.ok(optionBlock(r.stdout, '--id'), '--id missing from router --help');
  });

  it('worker --help lists every flag with its default', async () => {
    const r = await runToExit(['worker', '--help'], 45_000);
    assert.equal(r.code, 0, r.stderr);
    for (const flag of ['--connect', '--forward', '--handler', '--capacity', '--pool', '--id', '--window', '--drain-timeout', '--log-level']) {
      assert.ok(r.stdout.includes(flag), `${flag} missing from worker --help:\n${r.stdout}`);
    }
    assert.match(optionBlock(r.stdout, '--capacity'), /\b64\b/);
    // "(default: "default")": the word once for the label, once for the value.
    assert.ok((optionBlock(r.stdout, '--pool').match(/default/g) ?? []).length >= 2, optionBlock(r.stdout, '--pool'));
    assert.match(optionBlock(r.stdout, '--window'), /\b262144\b/);
    assert.match(optionBlock(r.stdout, '--drain-timeout'), /\b30000\b/);
  });
});
