/**
 * Reading the handler's Response (worker-sdk/src/response-source.ts): a body built from a string,
 * bytes, URLSearchParams or Response.json() is sent from its source without touching its stream;
 * every other body (streams, Blobs, FormData, a Response-like object undici did not make) is read
 * from its stream. Both must put the exact bytes, status and headers (each Set-Cookie apart) on the
 * wire. Through a real ZeroMQ ROUTER (FakeRouter) and a real worker.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sourceReader } from '../../worker-sdk/src/response-source.ts';
import { header, readResponse, req } from './fake-router.ts';
import { fetchWorkerFixture } from './worker-fixture.ts';

/**
 * Whether this Node's undici exposes a Response's body source (Node 20 does; Node 24's keeps it in
 * private fields, so the SDK reads every body from its stream there, correctly but without the shortcut).
 */
const SOURCE_SHORTCUT = sourceReader()(new Response('x')) !== null;
const NO_SHORTCUT = SOURCE_SHORTCUT ? false : "this Node's undici keeps a Response's body source private: bodies are read from their streams";

const { setup } = fetchWorkerFixture();

const backing = Buffer.from('..0123456789..');
const utf8Text = 'héllo ✓ 😀 \ud800 lone surrogate';

interface Kind {
  name: string;
  make(): Response;
  body: Buffer;
  /** True when the bytes must come from the source (the stream is never touched). */
  fromSource: boolean;
  status?: number;
}

const KINDS: Kind[] = [
  { name: 'string', make: () => new Response('plain text'), body: Buffer.from('plain text'), fromSource: true },
  { name: 'utf-8 string', make: () => new Response(utf8Text), body: Buffer.from(new TextEncoder().encode(utf8Text)), fromSource: true },
  { name: 'empty string', make: () => new Response(''), body: Buffer.alloc(0), fromSource: true },
  { name: 'Buffer', make: () => new Response(Buffer.from('buffer body')), body: Buffer.from('buffer body'), fromSource: true },
  { name: 'Uint8Array view', make: () => new Response(new Uint8Array(backing.buffer, backing.byteOffset + 2, 10)), body: Buffer.from('0123456789'), fromSource: true },
  { name: 'ArrayBuffer', make: () => new Response(new TextEncoder().encode('array buffer').buffer), body: Buffer.from('array buffer'), fromSource: true },
  { name: 'Response.json', make: () => Response.json({ a: [1, 'é'] }, { status: 201 }), body: Buffer.from('{"a":[1,"é"]}'), fromSource: true, status: 201 },
  { name: 'URLSearchParams', make: () => new Response(new URLSearchParams({ a: '1 2', b: 'é' })), body: Buffer.from('a=1+2&b=%C3%A9'), fromSource: true },
  { name: 'Blob', make: () => new Response(new Blob(['blob-', 'body'])), body: Buffer.from('blob-body'), fromSource: false },
  {
    name: 'ReadableStream',
    make: () =>
      new Response(
        new ReadableStream<Uint8Array>({
          start(c) {
            c.enqueue(new TextEncoder().encode('str'));
            c.enqueue(new TextEncoder().encode('eam'));
            c.close();
          },
        }),
      ),
    body: Buffer.from('stream'),
    fromSource: false,
  },
  { name: 'clone of a string Response', make: () => new Response('cloned').clone(), body: Buffer.from('cloned'), fromSource: true },
  { name: 'null body 204', make: () => new Response(null, { status: 204 }), body: Buffer.alloc(0), fromSource: false, status: 204 },
  { name: 'null body 304', make: () => new Response(null, { status: 304 }), body: Buffer.alloc(0), fromSource: false, status: 304 },
  { name: 'string 404', make: () => new Response('missing', { status: 404 }), body: Buffer.from('missing'), fromSource: true, status: 404 },
  { name: 'string 500', make: () => new Response('broken', { status: 500, statusText: 'Broken' }), body: Buffer.from('broken'), fromSource: true, status: 500 },
  { name: 'string 299', make: () => new Response('odd', { status: 299 }), body: Buffer.from('odd'), fromSource: true, status: 299 },
];

test('every body kind is sent byte-exact with its status; source-built bodies leave their stream untouched', async () => {
  const made = new Map<string, Response>();
  const { router, id } = await setup((request) => {
    const name = decodeURIComponent(new URL(request.url).pathname.slice(1));
    const kind = KINDS.find((k) => k.name === name)!;
    const res = kind.make();
    res.headers.append('set-cookie', 'a=1; Path=/');
    res.headers.append('set-cookie', 'b=2, with comma');
    res.headers.set('x-kind', name.replace(/[^\x20-\x7e]/g, '?'));
    made.set(name, res);
    return res;
  });
  let stream = 1;
  for (const kind of KINDS) {
    await router.send(id, req(stream, { path: `/${encodeURIComponent(kind.name)}` }));
    const res = await readResponse(router, stream);
    assert.equal(res.status, kind.status ?? 200, kind.name);
    assert.deepEqual(res.body, kind.body, kind.name);
    const cookies = res.headers.filter((_, i) => i % 2 === 1 && res.headers[i - 1] === 'set-cookie');
    assert.deepEqual(cookies, ['a=1; Path=/', 'b=2, with comma'], kind.name);
    assert.ok(header(res.headers, 'x-kind'), kind.name);
    const sent = made.get(kind.name)!;
    if (kind.fromSource && SOURCE_SHORTCUT) assert.equal(sent.bodyUsed, false, `${kind.name}: sent from its source, stream untouched`);
    stream++;
  }
});

test('the source reader gives the bytes of source-built Responses and null for everything it must not shortcut', { skip: NO_SHORTCUT }, async () => {
  const read = sourceReader();
  for (const kind of KINDS) {
    const res = kind.make();
    const bytes = read(res);
    if (kind.fromSource) {
      assert.ok(bytes, `${kind.name}: read from source`);
      assert.deepEqual(bytes, Buffer.from(await kind.make().arrayBuffer()), kind.name);
      assert.equal(res.bodyUsed, false);
      // A byte source is shared with the stream, which would detach it if read: it must be locked.
      const stringSource = /string|URLSearchParams|clone/.test(kind.name);
      if (!stringSource) await assert.rejects(async () => res.arrayBuffer(), TypeError, `${kind.name}: stream locked`);
      assert.deepEqual(bytes, kind.body, `${kind.name}: bytes intact after a read attempt`);
    } else {
      assert.equal(bytes, null, kind.name);
    }
  }
  // A body already read, or locked by a reader, is not the source any more.
  const used = new Response('used');
  await used.text();
  assert.equal(read(used), null);
  const locked = new Response('locked');
  const reader = locked.body!.getReader();
  assert.equal(read(locked), null);
  reader.releaseLock();
  // A Response-like object undici did not make has no source: the stream path takes it.
  const duck = { status: 200, headers: new Headers(), body: new Response('duck').body, bodyUsed: false } as unknown as Response;
  assert.equal(read(duck), null);
});

test('a Response-like object (not undici-made) and a half-read Response are sent from their streams', async () => {
  const { router, id } = await setup(async (request) => {
    const path = new URL(request.url).pathname;
    if (path === '/duck') {
      const headers = new Headers({ 'content-type': 'text/plain' });
      headers.append('set-cookie', 'x=1');
      headers.append('set-cookie', 'y=2');
      return { status: 202, headers, body: new Response('duck body').body, bodyUsed: false } as unknown as Response;
    }
    // Two chunks, the first read by the handler: only the rest must go out.
    const res = new Response(
      new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(new TextEncoder().encode('first,'));
          c.enqueue(new TextEncoder().encode('second'));
          c.close();
        },
      }),
    );
    const reader = res.body!.getReader();
    await reader.read();
    reader.releaseLock();
    return res;
  });
  await router.send(id, req(1, { path: '/duck' }));
  const duck = await readResponse(router, 1);
  assert.equal(duck.status, 202);
  assert.equal(duck.body.toString(), 'duck body');
  assert.deepEqual(duck.headers.filter((_, i) => i % 2 === 1 && duck.headers[i - 1] === 'set-cookie'), ['x=1', 'y=2']);
  await router.send(id, req(2, { path: '/half' }));
  assert.equal((await readResponse(router, 2)).body.toString(), 'second');
});

test('HEAD gets status and headers but no body, whatever the body kind', async () => {
  const { router, id } = await setup(() => new Response('not for HEAD', { headers: { 'x-h': '1' } }));
  await router.send(id, req(1, { method: 'HEAD' }));
  const res = await readResponse(router, 1);
  assert.equal(res.status, 200);
  assert.equal(header(res.headers, 'x-h'), '1');
  assert.equal(res.body.length, 0);
});
