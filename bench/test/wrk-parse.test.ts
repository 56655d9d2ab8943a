/** wrk output parsing, on outputs captured from wrk 4.1.0 on this machine. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseWrkOutput, parseWrkTime } from '../wrk.ts';

const CLEAN = `Running 1s test @ http://127.0.0.1:38999/
  1 threads and 10 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     3.55ms    8.60ms  66.87ms   92.51%
    Req/Sec    12.48k     7.70k   22.85k    50.00%
  Latency Distribution
     50%  347.00us
     75%    2.71ms
     90%    8.32ms
     99%   51.43ms
  12784 requests in 1.04s, 1.51MB read
Requests/sec:  12322.96
Transfer/sec:      1.46MB
`;

const WITH_ERRORS = `Running 1s test @ http://127.0.0.1:38999/
  1 threads and 10 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.14ms    3.10ms  24.04ms   87.88%
    Req/Sec     6.73k     1.73k   10.29k    72.73%
  Latency Distribution
     50%  542.00us
     75%    3.04ms
     90%    5.78ms
     99%   15.03ms
  7375 requests in 1.11s, 0.91MB read
  Socket errors: connect 0, read 1229, write 0, timeout 0
  Non-2xx or 3xx responses: 2459
Requests/sec:   6671.50
Transfer/sec:    844.81KB
`;

test('a clean run: totals, req/s and percentiles in ms', () => {
  const r = parseWrkOutput(CLEAN);
  assert.equal(r.requests, 12784);
  assert.equal(r.requestsPerSec, 12322.96);
  assert.equal(r.p50Ms, 0.347);
  assert.equal(r.p75Ms, 2.71);
  assert.equal(r.p90Ms, 8.32);
  assert.equal(r.p99Ms, 51.43);
  assert.equal(r.errors, 0);
});

test('non-2xx responses and socket errors are counted as errors', () => {
  const r = parseWrkOutput(WITH_ERRORS);
  assert.equal(r.errors, 2459 + 1229);
  assert.equal(r.p50Ms, 0.542);
});

test('time units', () => {
  assert.equal(parseWrkTime('748.00us'), 0.748);
  assert.equal(parseWrkTime('1.50ms'), 1.5);
  assert.equal(parseWrkTime('2.00s'), 2000);
  assert.equal(parseWrkTime('1.00m'), 60_000);
  assert.equal(parseWrkTime('12'), undefined);
  assert.equal(parseWrkTime('fast'), undefined);
});

test('output without --latency or truncated is an error naming the missing part', () => {
  const noLatency = CLEAN.replace(/ {2}Latency Distribution[\s\S]*?(?= {2}12784)/, '');
  assert.throws(() => parseWrkOutput(noLatency), /no parsable 50% latency/);
  assert.throws(() => parseWrkOutput('unable to connect to 127.0.0.1:1 Connection refused\n'), /no parsable "N requests in T" line/);
  assert.throws(() => parseWrkOutput(CLEAN.replace(/Requests\/sec.*\n/, '')), /no parsable Requests\/sec/);
});
