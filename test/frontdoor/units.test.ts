/**
 * The front door's pure parts, without sockets: trace-context validation, Forwarded formatting,
 * header rewriting for HTTP/1.1 and HTTP/2 (pseudo-headers), the preface sniff decision, and the
 * readable log format used on a terminal.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatLogRecord, prettyDestination, turnBatchingDestination, wantsPrettyLogs } from '../../cli/log-output.ts';
import { forwardedElement, forwardedValue } from '../../router/src/http/forwarded.ts';
import { classifyFirstBytes } from '../../router/src/http/protocol-sniffer.ts';
import { forwardRequestHeaders } from '../../router/src/http/proxy-headers.ts';
import { forwardResponseHeaders } from '../../router/src/core/response-headers.ts';
import { isValidTraceparent, isValidTracestate } from '../../router/src/fields/trace-context.ts';

const TP = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

/** Flat header list → object (last value wins; tests use unique names). */
function toObject(list: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < list.length; i += 2) out[list[i]!] = list[i + 1]!;
  return out;
}

describe('W3C trace context', () => {
  it('accepts well-formed traceparents, including future versions with more fields', () => {
    assert.ok(isValidTraceparent(TP));
    assert.ok(isValidTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00'));
    assert.ok(isValidTraceparent('cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-holds'));
  });

  it('rejects malformed traceparents', () => {
    for (const bad of [
      '',
      'garbage',
      TP.toUpperCase(),
      `ff${TP.slice(2)}`, // version ff is invalid
      `${TP}-extra`, // version 00 is exactly 55 characters
      `00-${'0'.repeat(32)}-00f067aa0ba902b7-01`,
      `00-4bf92f3577b34da6a3ce929d0e0e4736-${'0'.repeat(16)}-01`,
      '00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01',
      ` ${TP}`,
    ]) {
      assert.equal(isValidTraceparent(bad), false, bad);
    }
  });

  it('validates tracestate list members', () => {
    assert.ok(isValidTracestate('congo=t61rcWkgMzE'));
    assert.ok(isValidTracestate('rojo=00f067aa0ba902b7, congo=t61rcWkgMzE ,,tenant@vendor=x'));
    assert.equal(isValidTracestate('UPPER=1'), false);
    assert.equal(isValidTracestate('a=1,a=2'), false, 'duplicate key');
    assert.equal(isValidTracestate('novalue'), false);
    assert.equal(isValidTracestate('k=bad,comma=x=y'), false, '"=" is not allowed in a value');
    assert.equal(isValidTracestate(Array.from({ length: 33 }, (_, i) => `k${i}=v`).join(',')), false, 'more than 32 members');
  });
});

describe('Forwarded (RFC 7239)', () => {
  it('quotes what is not a token and brackets IPv6 nodes', () => {
    assert.equal(forwardedValue('example.com'), 'example.com');
    assert.equal(forwardedValue('example.com:8080'), '"example.com:8080"');
    assert.equal(forwardedValue('a"b\\c'), '"a\\"b\\\\c"');
    assert.equal(forwardedElement('192.0.2.43', 'example.com', 'https'), 'for=192.0.2.43;host=example.com;proto=https');
    assert.equal(forwardedElement('2001:db8:cafe::17', '', 'http'), 'for="[2001:db8:cafe::17]";proto=http');
    assert.equal(forwardedElement('', 'h', 'http'), 'for=unknown;host=h;proto=http');
  });
});

describe('request headers toward the worker', () => {
  it('HTTP/1.1: hop-by-hop stripped, proxy headers appended, request id kept when valid', () => {
    const { headers, authority, requestId } = forwardRequestHeaders(
      ['Host', 'example.com', 'Connection', 'keep-alive, X-Hop', 'X-Hop', '1', 'Forwarded', 'for=192.0.2.1', 'X-Request-Id', 'abc-123', 'Accept', '*/*'],
      '10.0.0.1',
      'http',
    );
    const h = toObject(headers);
    assert.equal(authority, 'example.com');
    assert.equal(requestId, 'abc-123');
    assert.equal(h['x-hop'], undefined);
    assert.equal(h['connection'], undefined);
    assert.equal(h['host'], 'example.com');
    assert.equal(h['accept'], '*/*');
    assert.equal(h['forwarded'], 'for=192.0.2.1, for=10.0.0.1;host=example.com;proto=http');
    assert.equal(h['x-forwarded-for'], '10.0.0.1');
    assert.equal(h['x-request-id'], 'abc-123');
  });

  it('HTTP/2: pseudo-headers dropped, :authority becomes Host, cookies joined, trace headers validated', () => {
    const { headers, authority } = forwardRequestHeaders(
      [':method', 'GET', ':path', '/p', ':scheme', 'https', ':authority', 'api.example:8443', 'cookie', 'a=1', 'cookie', 'b=2', 'traceparent', TP, 'tracestate', 'x=1', 'http2-settings', 'AAA'],
      '::1',
      'https',
    );
    const h = toObject(headers);
    assert.equal(authority, 'api.example:8443');
    assert.equal(h['host'], 'api.example:8443');
    assert.equal(h['cookie'], 'a=1; b=2');
    assert.equal(h['traceparent'], TP);
    assert.equal(h['tracestate'], 'x=1');
    assert.equal(h['http2-settings'], undefined);
    assert.equal(h['forwarded'], 'for="[::1]";host="api.example:8443";proto=https');
    assert.ok(headers.every((v, i) => i % 2 === 1 || !v.startsWith(':')), 'no pseudo-header left');
  });

  it('two traceparent fields are invalid: both trace headers are dropped', () => {
    const h = toObject(forwardRequestHeaders(['traceparent', TP, 'traceparent', TP, 'tracestate', 'x=1'], '1.2.3.4', 'http').headers);
    assert.equal(h['traceparent'], undefined);
    assert.equal(h['tracestate'], undefined);
  });
});

describe('response headers toward the client', () => {
  it('strips hop-by-hop, h2-forbidden and ":"-named fields; keeps valid trace headers', () => {
    const out = toObject(
      forwardResponseHeaders(
        ['Content-Type', 'text/plain', 'Connection', 'close', 'Keep-Alive', 'timeout=5', 'Transfer-Encoding', 'chunked', 'Upgrade', 'h2c', ':status', '200', 'traceparent', TP, 'x-request-id', 'spoofed'],
        'rid',
      ),
    );
    assert.deepEqual(out, { 'content-type': 'text/plain', 'x-request-id': 'rid', traceparent: TP });
  });
});

describe('preface sniff', () => {
  it('decides h2c on "PRI " and h1 on anything else, waiting while the bytes are a short prefix', () => {
    assert.equal(classifyFirstBytes(Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n')), 'h2c');
    assert.equal(classifyFirstBytes(Buffer.from('PRI ')), 'h2c');
    assert.equal(classifyFirstBytes(Buffer.from('PR')), null);
    assert.equal(classifyFirstBytes(Buffer.from('P')), null);
    assert.equal(classifyFirstBytes(Buffer.from('POST / HTTP/1.1\r\n')), 'h1');
    assert.equal(classifyFirstBytes(Buffer.from('GET / HTTP/1.1\r\n')), 'h1');
    assert.equal(classifyFirstBytes(Buffer.from([0x16, 0x03, 0x01])), 'h1', 'garbage goes to node:http, which answers 400');
  });
});

describe('readable logs on a terminal', () => {
  it('formats access lines like nginx and other records as msg key=value', () => {
    const time = Date.UTC(2026, 0, 2, 3, 4, 5, 678);
    const access = formatLogRecord({ level: 30, time, pid: 1, hostname: 'h', msg: 'access', requestId: 'r1', method: 'GET', path: '/a b', status: 200, bytesIn: 0, bytesOut: 12, durationMs: 1.5, workerId: 'w', attempts: 1, protocol: 'HTTP/2.0', remote: '::1' });
    assert.equal(access, '03:04:05.678 INFO  GET "/a b" 200 1.5ms in=0 out=12 worker=w attempts=1 HTTP/2.0 id=r1');
    const other = formatLogRecord({ level: 40, time, pid: 1, hostname: 'h', msg: 'router listening', http: 'http://127.0.0.1:1', n: 2 });
    assert.equal(other, '03:04:05.678 WARN  router listening http=http://127.0.0.1:1 n=2');
  });

  it('a destination writes one readable line per record; JSON stays the default off a terminal', () => {
    const written: string[] = [];
    const dest = prettyDestination({ write: (s: string) => written.push(s) } as unknown as NodeJS.WritableStream);
    dest.write(`${JSON.stringify({ level: 30, time: 0, msg: 'hello', a: 1 })}\n`);
    assert.deepEqual(written, ['00:00:00.000 INFO  hello a=1\n']);
    assert.equal(wantsPrettyLogs({}, false), false);
    assert.equal(wantsPrettyLogs({}, true), true);
    assert.equal(wantsPrettyLogs({ ZEROPROXY_LOG_FORMAT: 'json' }, true), false);
    assert.equal(wantsPrettyLogs({ ZEROPROXY_LOG_FORMAT: 'pretty' }, false), true);
  });
});

describe('log lines batched per event-loop turn', () => {
  it('lines written in one turn reach the target in one write, in order, by the next turn', async () => {
    const writes: string[] = [];
    const dest = turnBatchingDestination({ write: (s: string) => writes.push(s) });
    dest.write('a\n');
    dest.write('b\n');
    dest.write('c\n');
    assert.deepEqual(writes, [], 'nothing is written before the turn ends');
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(writes, ['a\nb\nc\n']);
    dest.write('d\n');
    dest.flush(); // what process exit does
    assert.deepEqual(writes, ['a\nb\nc\n', 'd\n']);
  });

  it('a burst larger than the batch cap is written without waiting for the turn to end', () => {
    const writes: string[] = [];
    const dest = turnBatchingDestination({ write: (s: string) => writes.push(s) });
    const line = `${'x'.repeat(1023)}\n`;
    for (let i = 0; i < 200; i++) dest.write(line);
    assert.ok(writes.length >= 2, `200 KiB in one turn left in ${writes.length} write(s)`);
    assert.ok(writes.every((w) => w.length <= 64 * 1024), 'each write stays at the cap');
    dest.flush();
    assert.equal(writes.join('').length, 200 * 1024, 'no line lost or duplicated');
  });
});
