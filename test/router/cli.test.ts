/** `zeroproxy router` as a real process: flag errors, --help defaults, listening line, SIGTERM → exit 0. */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ROUTER_DEFAULTS } from '../../router/src/index.ts';

const BIN = fileURLToPath(new URL('../../bin/zeroproxy.js', import.meta.url));

test('a bad flag value exits 2 with one line on stderr', () => {
  const r = spawnSync(process.execPath, [BIN, 'router', '--queue-size', 'abc'], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.status, 2);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, /queue-size/);
});

test('--help lists every flag with its default', () => {
  const r = spawnSync(process.execPath, [BIN, 'router', '--help'], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.status, 0);
  const help = r.stdout.replace(/\s+/g, ' ');
  const expected: [string, unknown][] = [
    ['--http', `${ROUTER_DEFAULTS.httpHost}:${ROUTER_DEFAULTS.httpPort}`],
    ['--bind', ROUTER_DEFAULTS.bind],
    ['--queue-size', ROUTER_DEFAULTS.queueSize],
    ['--queue-timeout', ROUTER_DEFAULTS.queueTimeoutMs],
    ['--heartbeat', ROUTER_DEFAULTS.heartbeatMs],
    ['--request-timeout', ROUTER_DEFAULTS.requestTimeoutMs],
    ['--retries', ROUTER_DEFAULTS.retries],
    ['--replay-limit', ROUTER_DEFAULTS.replayLimit],
    ['--window', ROUTER_DEFAULTS.window],
    ['--max-body-size', ROUTER_DEFAULTS.maxBodySize],
    ['--max-header-size', ROUTER_DEFAULTS.maxHeaderSize],
    ['--drain-timeout', ROUTER_DEFAULTS.drainTimeoutMs],
    ['--log-level', ROUTER_DEFAULTS.logLevel],
  ];
  for (const [flag, value] of expected) {
    const at = help.indexOf(flag + ' ');
    assert.ok(at >= 0, `${flag} missing from --help`);
    const next = help.indexOf(' --', at + flag.length);
    const section = help.slice(at, next < 0 ? undefined : next);
    assert.ok(section.includes('default:') && section.includes(String(value)), `${flag} does not show default ${value}: ${section}`);
  }
  assert.match(help, /--id /);
});

test('the router logs "router listening" with real addresses and exits 0 on SIGTERM', async () => {
  const child = spawn(process.execPath, [BIN, 'router', '--http', '127.0.0.1:0', '--bind', 'tcp://127.0.0.1:*'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  try {
    const lines = createInterface({ input: child.stdout! });
    let listening: { http: string; bind: string } | undefined;
    for await (const line of lines) {
      const entry = JSON.parse(line) as { msg: string; http: string; bind: string };
      if (entry.msg === 'router listening') {
        listening = entry;
        break;
      }
    }
    assert.ok(listening, 'no "router listening" line');
    assert.match(listening.http, /^http:\/\/127\.0\.0\.1:[1-9]\d*$/);
    assert.match(listening.bind, /^tcp:\/\/127\.0\.0\.1:[1-9]\d*$/);
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  } finally {
    clearTimeout(killer);
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});

test('a ZeroMQ endpoint already in use: exit 2, and the message names the endpoint', async () => {
  const first = spawn(process.execPath, [BIN, 'router', '--http', '127.0.0.1:0', '--bind', 'tcp://127.0.0.1:*'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const killer = setTimeout(() => first.kill('SIGKILL'), 20_000);
  try {
    let bound: string | undefined;
    for await (const line of createInterface({ input: first.stdout! })) {
      const entry = JSON.parse(line) as { msg: string; bind: string };
      if (entry.msg === 'router listening') {
        bound = entry.bind;
        break;
      }
    }
    assert.ok(bound, 'the first router is listening');
    const second = spawnSync(process.execPath, [BIN, 'router', '--http', '127.0.0.1:0', '--bind', bound], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(second.status, 2);
    assert.ok(second.stderr.includes(bound), second.stderr);
    assert.match(second.stderr, /in use/i);
  } finally {
    clearTimeout(killer);
    first.kill('SIGKILL');
  }
});
