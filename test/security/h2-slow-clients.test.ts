/**
 * HTTP/2 slow and greedy clients (issue 11 item 6), against a real router with a short
 * --header-timeout, with raw h2 frames written over node:net (no client library smooths them):
 *
 * - ten h2c connections trickling a HEADERS block one byte at a time are closed (GOAWAY) once
 *   the head has been incomplete for --header-timeout;
 * - a connection trickling the connection preface itself is closed after --header-timeout;
 * - a connection told GOAWAY while one of its streams never ends is closed hard after the grace
 *   (H2_GOAWAY_GRACE_MS), not kept until that stream's request times out;
 * - a request body trickled past --body-timeout gets RST_STREAM CANCEL (HTTP/1.1 gets 408);
 * - a 100 KB header list gets 431 like HTTP/1.1; one above the h2 ceiling (8 × --max-header-size)
 *   gets RST_STREAM ENHANCE_YOUR_CALM, the documented equivalent;
 * - on the TLS port, a trickled TLS handshake is cut after --header-timeout too (node's default
 *   was 120 s), as nginx bounds its handshake by client_header_timeout.
 */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import { before, describe, it } from 'node:test';
import { H2_GOAWAY_GRACE_MS } from '../../router/src/http/h2-sessions.ts';
import { startRouter, startWorker, useTestEnvironment, withTimeout, type RouterProcess } from '../helpers/index.ts';
import { closeH2, connectH2, hasCommand, makeSelfSignedCert } from '../frontdoor/clients.ts';
import { describeUnlessMissing } from '../helpers/skip.ts';

const HEADER_TIMEOUT_MS = 1000;
const BODY_TIMEOUT_MS = 2000;
/** How long past a bound the close may come on a loaded 2-core machine (checks run every timeout/4). */
const SLACK_MS = 10_000;
const TRICKLE_EVERY_MS = 100;

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const FRAME_HEADERS = 0x1;
const FRAME_SETTINGS = 0x4;
const FRAME_GOAWAY = 0x7;
const END_STREAM = 0x1;
const END_HEADERS = 0x4;

function frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(streamId & 0x7fffffff, 5);
  return Buffer.concat([head, payload]);
}

/** HPACK integer with an n-bit prefix (RFC 7541 §5.1). */
function hpackInt(value: number, prefixBits: number, firstByteFlags: number): Buffer {
  const max = (1 << prefixBits) - 1;
  if (value < max) return Buffer.from([firstByteFlags | value]);
  const out = [firstByteFlags | max];
  let rest = value - max;
  while (rest >= 128) {
    out.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  out.push(rest);
  return Buffer.from(out);
}

/** A literal header field without indexing, new name (RFC 7541 §6.2.2), no Huffman. */
function literal(name: string, value: string): Buffer {
  return Buffer.concat([Buffer.from([0x00]), hpackInt(name.length, 7, 0), Buffer.from(name, 'latin1'), hpackInt(value.length, 7, 0), Buffer.from(value, 'latin1')]);
}

/** A request header block: static-table :method (GET 0x82 / POST 0x83), :scheme http, :path (0x84 is "/"), :authority, extra fields. */
function headerBlock(method: 'GET' | 'POST', extra: [string, string][] = [], path = '/'): Buffer {
  // :path other than "/": literal without indexing, name from static-table entry 4 (RFC 7541 §6.2.2).
  const pathField = path === '/' ? Buffer.from([0x84]) : Buffer.concat([hpackInt(4, 4, 0x00), hpackInt(path.length, 7, 0), Buffer.from(path, 'latin1')]);
  return Buffer.concat([Buffer.from([method === 'GET' ? 0x82 : 0x83, 0x86]), pathField, literal(':authority', 'localhost'), ...extra.map(([n, v]) => literal(n, v))]);
}

interface RawH2 {
  socket: net.Socket;
  /** Resolves when the server closes the connection (FIN or reset), with every frame type received. */
  closed: Promise<number[]>;
  isClosed(): boolean;
}

async function openRaw(url: string): Promise<RawH2> {
  const { hostname, port } = new URL(url);
  const socket = net.connect({ host: hostname, port: Number(port) });
  socket.setNoDelay(true);
  let closed = false;
  const received: Buffer[] = [];
  const done = new Promise<number[]>((resolve) => {
    socket.on('data', (c: Buffer) => received.push(c));
    socket.on('error', () => undefined);
    socket.once('end', () => socket.destroy());
    socket.once('close', () => {
      closed = true;
      resolve(frameTypes(Buffer.concat(received)));
    });
  });
  await withTimeout(new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject)), 10_000, 'TCP connect');
  return { socket, closed: done, isClosed: () => closed };
}

/** The frame types in a server byte stream (the server sends no preface besides SETTINGS). */
function frameTypes(bytes: Buffer): number[] {
  const types: number[] = [];
  for (let offset = 0; offset + 9 <= bytes.length && types.length < 10_000; ) {
    types.push(bytes[offset + 3]!);
    offset += 9 + bytes.readUIntBE(offset, 3);
  }
  return types;
}

/** Writes `bytes` one at a time until the connection closes or they run out. */
async function trickle(conn: RawH2, bytes: Buffer): Promise<void> {
  for (let i = 0; i < bytes.length && !conn.isClosed(); i++) {
    conn.socket.write(bytes.subarray(i, i + 1));
    await new Promise((resolve) => setTimeout(resolve, TRICKLE_EVERY_MS));
  }
}

/** A HEADERS frame whose trickle lasts far longer than the test allows (~60 s at 100 ms a byte). */
function endlessHeaders(streamId: number): Buffer {
  return frame(FRAME_HEADERS, END_STREAM | END_HEADERS, streamId, headerBlock('GET', [['x-filler', 'y'.repeat(600)]]));
}

describe('HTTP/2 slow clients', () => {
  const env = useTestEnvironment();
  let router: RouterProcess;

  before(async () => {
    router = await startRouter(env.group, {
      bind: env.tmp.ipc('r.sock'),
      args: ['--header-timeout', String(HEADER_TIMEOUT_MS), '--body-timeout', String(BODY_TIMEOUT_MS), '--request-timeout', '120000', '--heartbeat', '250', '--no-access-log'],
    });
    await startWorker(env.group, { connect: router.bindEndpoint, handler: 'echo', id: 'h2-slow-worker' });
  });

  it('ten connections trickling a HEADERS block are told GOAWAY and closed after --header-timeout', async () => {
    const conns = await Promise.all(Array.from({ length: 10 }, () => openRaw(router.httpUrl)));
    const started = Date.now();
    for (const c of conns) c.socket.write(Buffer.concat([PREFACE, frame(FRAME_SETTINGS, 0, 0, Buffer.alloc(0))]));
    for (const c of conns) void trickle(c, endlessHeaders(1));
    try {
      const results = await withTimeout(Promise.all(conns.map((c) => c.closed)), HEADER_TIMEOUT_MS + 9 * TRICKLE_EVERY_MS + SLACK_MS, 'the router to close ten trickling h2 connections');
      for (const types of results) assert.ok(types.includes(FRAME_GOAWAY), `GOAWAY before the close (frames: ${types.join(',')})`);
      assert.ok(Date.now() - started >= HEADER_TIMEOUT_MS, 'not closed before the timeout');
      // Counted and logged (rate-limited) by reason.
      await router.proc.waitForLog((l) => l['msg'] === 'HTTP/2 slow client cut' && l['reason'] === 'header-timeout', 5000, 'the slow-client log line');
    } finally {
      for (const c of conns) c.socket.destroy();
    }
  });

  it('a connection trickling the preface is closed after --header-timeout', async () => {
    const conn = await openRaw(router.httpUrl);
    try {
      conn.socket.write(PREFACE.subarray(0, 4)); // "PRI " decides h2c at the sniff
      void trickle(conn, Buffer.concat([PREFACE.subarray(4), frame(FRAME_SETTINGS, 0, 0, Buffer.alloc(0)), endlessHeaders(1)]));
      await withTimeout(conn.closed, HEADER_TIMEOUT_MS + SLACK_MS, 'the router to close a connection trickling its preface');
    } finally {
      conn.socket.destroy();
    }
  });

  it('a connection told GOAWAY whose stream never ends is closed hard after the grace', async () => {
    const conn = await openRaw(router.httpUrl);
    try {
      // Stream 1: a GET the worker answers only after 60 s; stream 3: a trickled head.
      const slow = frame(FRAME_HEADERS, END_STREAM | END_HEADERS, 1, headerBlock('GET', [], '/slow?delay=60000'));
      conn.socket.write(Buffer.concat([PREFACE, frame(FRAME_SETTINGS, 0, 0, Buffer.alloc(0)), slow]));
      void trickle(conn, endlessHeaders(3));
      const types = await withTimeout(conn.closed, HEADER_TIMEOUT_MS + H2_GOAWAY_GRACE_MS + SLACK_MS, 'the router to close a GOAWAY session with a stream left open');
      assert.ok(types.includes(FRAME_GOAWAY), `GOAWAY before the close (frames: ${types.join(',')})`);
    } finally {
      conn.socket.destroy();
    }
  });

  it('a request body trickled past --body-timeout gets RST_STREAM CANCEL', async () => {
    const session = await connectH2(router.httpUrl);
    try {
      const stream = session.request({ ':method': 'POST', ':path': '/slow-body', 'content-length': '100000' }, { endStream: false });
      stream.on('error', () => undefined);
      stream.resume();
      const closed = new Promise<number>((resolve) => stream.once('close', () => resolve(stream.rstCode ?? 0)));
      void (async () => {
        for (let i = 0; i < 1000 && !stream.closed && !stream.destroyed; i++) {
          stream.write('z');
          await new Promise((resolve) => setTimeout(resolve, TRICKLE_EVERY_MS));
        }
      })();
      const rstCode = await withTimeout(closed, BODY_TIMEOUT_MS + SLACK_MS, 'the router to reset a trickled h2 request body');
      assert.equal(rstCode, http2.constants.NGHTTP2_CANCEL);
    } finally {
      await closeH2(session);
    }
  });

  it('a 100 KB header list gets 431; one above the h2 ceiling gets RST_STREAM ENHANCE_YOUR_CALM', async () => {
    // node's client refuses to send a header block over 64 KB unless told otherwise.
    const session = await connectH2(router.httpUrl, { maxSendHeaderBlockLength: 1 << 20 });
    try {
      const ask = (fields: number, size: number): Promise<{ status: number; rstCode: number; body: string }> =>
        withTimeout(
          new Promise((resolve) => {
            const headers: Record<string, string> = { ':path': '/big-head' };
            for (let i = 0; i < fields; i++) headers[`x-big-${i}`] = String.fromCharCode(0x61 + (i % 26)).repeat(size);
            const stream = session.request(headers);
            let status = 0;
            const chunks: Buffer[] = [];
            stream.once('response', (h) => (status = Number(h[':status'])));
            stream.on('data', (c: Buffer) => chunks.push(c));
            stream.on('error', () => undefined);
            stream.once('close', () => resolve({ status, rstCode: stream.rstCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
          }),
          20_000,
          `an h2 request with ${fields} headers of ${size} bytes`,
        );
      // One small request first: node applies the header-list limit a session announced only once
      // the client has acknowledged that SETTINGS frame, so the first stream could slip past it.
      assert.equal((await ask(1, 10)).status, 200);
      const big = await ask(10, 10 * 1024);
      assert.equal(big.status, 431, JSON.stringify(big));
      assert.match(big.body, /ZP_ERR_HEADERS_TOO_LARGE/);
      const huge = await ask(40, 3500);
      assert.equal(huge.status, 0, JSON.stringify(huge));
      assert.equal(huge.rstCode, http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
    } finally {
      await closeH2(session);
    }
  });
});

describeUnlessMissing('TLS slow clients', hasCommand('openssl', 'version') ? false : 'openssl not installed (needed to make a test certificate)', () => {
  const env = useTestEnvironment();
  let router: RouterProcess;

  before(async () => {
    const certs = await makeSelfSignedCert(env.tmp.path);
    router = await startRouter(env.group, { bind: env.tmp.ipc('r.sock'), args: ['--tls-cert', certs.cert, '--tls-key', certs.key, '--header-timeout', String(HEADER_TIMEOUT_MS), '--no-access-log'] });
  });

  it('a TLS handshake trickled byte by byte is cut after --header-timeout', async () => {
    const conn = await openRaw(router.httpUrl.replace('https:', 'http:'));
    try {
      // A TLS record header announcing a 512-byte ClientHello, then the hello one byte at a time.
      const hello = Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]), Buffer.alloc(600, 0x11)]);
      void trickle(conn, hello);
      await withTimeout(conn.closed, HEADER_TIMEOUT_MS + SLACK_MS, 'the router to cut a trickled TLS handshake');
    } finally {
      conn.socket.destroy();
    }
  });
});
