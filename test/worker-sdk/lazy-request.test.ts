/**
 * The lightweight Request a fetch-style handler gets (worker-sdk/src/lazy-request.ts) must behave as
 * a real one for everything a handler does. Requests go through a real ZeroMQ ROUTER (FakeRouter)
 * and a real worker; what the handler saw is compared with a real WHATWG Request built from the same
 * inputs. `fetch(request)` goes to a real HTTP server on 127.0.0.1.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import type { Req } from '../../proto/src/index.ts';
import { fetchRequestFactory, realFetchRequest } from '../../worker-sdk/src/lazy-request.ts';
import { StreamImpl, type StreamOwner } from '../../worker-sdk/src/stream.ts';
import { deferred, readResponse, req } from './fake-router.ts';
import { fetchWorkerFixture } from './worker-fixture.ts';

const { cleanups, setup } = fetchWorkerFixture();

/** Bounds a wait: a test that hangs tells nothing. */
async function within<T>(p: Promise<T>, ms = 5000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => (timer = setTimeout(() => reject(new Error(`no result within ${ms} ms`)), ms)));
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Headers iteration (the DOM.Iterable typings are not in this project's lib). */
function entries(h: Headers): [string, string][] {
  const out: [string, string][] = [];
  h.forEach((value, name) => out.push([name, value]));
  return out;
}

/** Everything a handler commonly reads, in a JSON-able form; reads the body and tries a second read. */
async function describe(r: Request): Promise<Record<string, unknown>> {
  const url = new URL(r.url);
  const before = { bodyNull: r.body === null, bodyUsed: r.bodyUsed };
  const text = await r.text();
  let second: string;
  try {
    second = `ok:${await r.text()}`;
  } catch (err) {
    second = `${(err as Error).constructor.name}: ${(err as Error).message}`;
  }
  return {
    instanceOfRequest: r instanceof Request,
    tag: Object.prototype.toString.call(r),
    method: r.method,
    url: r.url,
    parts: [url.protocol, url.host, url.pathname, url.search, url.searchParams.get('q')],
    headers: entries(r.headers),
    get: [r.headers.get('accept'), r.headers.get('Accept'), r.headers.get('x-missing'), r.headers.get('cookie')],
    has: [r.headers.has('ACCEPT'), r.headers.has('x-missing')],
    defaults: [r.cache, r.credentials, r.mode, r.redirect, r.referrer, r.referrerPolicy, r.integrity, r.keepalive, r.destination, (r as Request & { duplex?: string }).duplex],
    signal: r.signal instanceof AbortSignal && !r.signal.aborted,
    ...before,
    text,
    second,
    bodyUsedAfter: r.bodyUsed,
  };
}

const CASES: Partial<Req>[] = [
  { path: '/a/b?q=1&q=2', headers: ['host', 'example.test', 'accept', 'text/html', 'accept', 'application/json', 'cookie', 'a=1', 'cookie', 'b=2', 'x-z', ' padded '] },
  { method: 'POST', path: '/post', fin: true, body: Buffer.from('{"n":1}'), headers: ['content-type', 'application/json'] },
  { method: 'POST', path: '/empty' }, // REQ with fin and no bytes: body null, as before
  { method: 'put', path: '/lower-case-method', fin: true, body: Buffer.from('x') },
  { method: 'PATCH', path: '/%7Euser/./x/../y?q=%20', fin: true, body: Buffer.from('p') },
  { method: 'HEAD', path: '/head', authority: 'Example.TEST:80' },
  { method: 'DELETE', path: '/', scheme: 'https', authority: 'secure.test:443' },
  { method: 'OPTIONS', path: '/utf8/%C3%A9?é=ü', authority: '' },
];

test('the request a handler gets describes itself exactly like a real Request built from the same REQ', async () => {
  const seen = new Map<string, Record<string, unknown>>();
  const { router, id } = await setup(async (request, ctx) => {
    seen.set(ctx.requestId, await describe(request));
    return new Response('ok');
  });
  let stream = 1;
  for (const c of CASES) {
    const r = req(stream, c);
    await router.send(id, r);
    assert.equal((await readResponse(router, stream)).status, 200);
    // The reference: a real Request built by the SDK's previous (eager) path from the same REQ.
    const refStream = new StreamImpl(r, recordingOwner());
    refStream.start(r.body);
    const reference = await describe(realFetchRequest(refStream));
    assert.deepEqual(seen.get(r.requestId), reference, `case ${JSON.stringify(c)}`);
    stream++;
  }
  assert.equal(seen.size, CASES.length);
});

function recordingOwner(): StreamOwner {
  return { maxFrame: 262144, sendWindow: 262144, recvWindow: 262144, send() {}, ended() {} };
}

/** Node 24's undici keeps a Request's state in private fields: the SDK builds real Requests there. */
const NO_LIGHT_PATH = fetchRequestFactory() === realFetchRequest ? "this Node's undici keeps Request state private: the SDK uses real Requests" : false;

test('a REQ that a real Request would refuse is refused by the light one too (→ 400), and nothing else is', { skip: NO_LIGHT_PATH }, () => {
  const light = fetchRequestFactory();
  assert.notEqual(light, realFetchRequest, 'undici layout recognised: the light path is in use');
  const inputs: Partial<Req>[] = [
    { method: 'CONNECT' },
    { method: 'trace' },
    { method: 'bad method' },
    { method: 'GET' },
    { method: 'M-SEARCH' },
    { headers: ['bad name', 'v'] },
    { headers: ['x', 'a\nb'] },
    { headers: ['x', 'a\0b'] },
    { headers: ['x', 'ok\r\n'] },
    { headers: ['x', '\t tabbed \t'] },
    { authority: 'bad host' },
    { authority: 'h:99999' },
    { authority: '[::1]:8080' },
    { path: '/ spaces and <>' },
  ];
  for (const input of inputs) {
    const outcome = (make: (s: StreamImpl) => Request): string => {
      try {
        const r = make(new StreamImpl(req(1, input), recordingOwner()));
        return `ok ${r.method} ${r.url} ${JSON.stringify(entries(r.headers))}`;
      } catch (err) {
        return `throws ${(err as Error).constructor.name}`;
      }
    };
    assert.equal(outcome(light).startsWith('throws'), outcome(realFetchRequest).startsWith('throws'), JSON.stringify(input));
    if (!outcome(light).startsWith('throws')) assert.equal(outcome(light), outcome(realFetchRequest), JSON.stringify(input));
  }
});

test('body: read once (second read throws), stream reads count as reads, clone() before reading gives two bodies', async () => {
  const results = new Map<string, unknown>();
  const { router, id } = await setup(async (request) => {
    const path = new URL(request.url).pathname;
    const attempt = async (f: () => Promise<unknown>): Promise<string> => {
      try {
        return `ok:${JSON.stringify(await f())}`;
      } catch (err) {
        return `${(err as Error).constructor.name}`;
      }
    };
    if (path === '/json-then-arraybuffer') {
      results.set(path, [await request.json(), request.bodyUsed, await attempt(() => request.arrayBuffer()), await attempt(async () => request.clone())]);
    } else if (path === '/stream-then-text') {
      const chunks: number[] = [];
      const reader = request.body!.getReader();
      for (let r = await reader.read(); !r.done; r = await reader.read()) chunks.push(r.value.length);
      reader.releaseLock();
      results.set(path, [chunks.reduce((a, b) => a + b, 0), request.bodyUsed, await attempt(() => request.text())]);
    } else if (path === '/clone') {
      const copy = request.clone();
      results.set(path, [copy instanceof Request, await copy.text(), await request.text(), copy.signal.aborted]);
    } else if (path === '/bytes') {
      const b = await request.bytes();
      const ab = new Uint8Array(await new Request('http://x/', { method: 'POST', body: 'zz' }).arrayBuffer());
      results.set(path, [b instanceof Uint8Array, b.byteLength, b.buffer.byteLength, ab.length]);
    } else if (path === '/form') {
      const form = await request.formData();
      results.set(path, [form.get('a'), form.getAll('b')]);
    } else if (path === '/blob') {
      const blob = await request.blob();
      results.set(path, [blob.type, await blob.text()]);
    }
    return new Response('done');
  });
  const post = (stream: number, path: string, body: string, headers: string[] = []): Req => req(stream, { method: 'POST', path, body: Buffer.from(body), headers: ['host', 'example.test', ...headers] });
  await router.send(id, post(1, '/json-then-arraybuffer', '{"a":[1,2]}'));
  await readResponse(router, 1);
  assert.deepEqual(results.get('/json-then-arraybuffer'), [{ a: [1, 2] }, true, 'TypeError', 'TypeError']);

  // A body that arrives in several DATA frames, read as a stream.
  await router.send(id, req(2, { method: 'POST', path: '/stream-then-text', fin: false, body: Buffer.alloc(100) }));
  await router.send(id, { type: 'DATA', stream: 2, seq: 1, fin: true, body: Buffer.alloc(50) });
  await readResponse(router, 2);
  assert.deepEqual(results.get('/stream-then-text'), [150, true, 'TypeError']);

  await router.send(id, post(3, '/clone', 'twice'));
  await readResponse(router, 3);
  assert.deepEqual(results.get('/clone'), [true, 'twice', 'twice', false]);

  await router.send(id, post(4, '/bytes', 'abc'));
  await readResponse(router, 4);
  assert.deepEqual(results.get('/bytes'), [true, 3, 3, 2]);

  await router.send(id, post(5, '/form', 'a=1&b=x&b=y', ['content-type', 'application/x-www-form-urlencoded']));
  await readResponse(router, 5);
  assert.deepEqual(results.get('/form'), ['1', ['x', 'y']]);

  await router.send(id, post(6, '/blob', 'blobby', ['content-type', 'Text/Plain;Charset=UTF-8']));
  await readResponse(router, 6);
  assert.deepEqual(results.get('/blob'), ['text/plain;charset=utf-8', 'blobby']);
});

test('RST aborts the signal of the request, of a clone, and of new Request(request)', async () => {
  const started = deferred();
  const aborted = deferred<string[]>();
  const { router, id } = await setup(async (request) => {
    const clone = request.clone(); // before new Request(request), which takes the body over
    const copy = new Request(request);
    started.resolve();
    await new Promise<void>((resolve) => request.signal.addEventListener('abort', () => resolve()));
    await new Promise<void>((resolve) => setImmediate(resolve)); // followers abort in the same turn; be sure
    aborted.resolve([request.signal.reason?.code, String(copy.signal.aborted), String(clone.signal.aborted)]);
    throw request.signal.reason;
  });
  await router.send(id, req(1, { method: 'POST', fin: false }));
  await within(started.promise);
  await router.send(id, { type: 'RST', stream: 1, code: 'cancel', message: 'client went away' });
  assert.deepEqual(await within(aborted.promise), ['cancel', 'true', 'true']);
});

test('fetch(request) and new Request(request, init) forward method, url, headers and body to a real HTTP server', async () => {
  const received: { method: string; url: string; headers: IncomingMessage['headers']; body: string }[] = [];
  const server = createServer((incoming, outgoing) => {
    const parts: Buffer[] = [];
    incoming.on('data', (c: Buffer) => parts.push(c));
    incoming.on('end', () => {
      received.push({ method: incoming.method!, url: incoming.url!, headers: incoming.headers, body: Buffer.concat(parts).toString() });
      outgoing.setHeader('content-type', 'text/plain');
      outgoing.end(`upstream saw ${incoming.method} ${incoming.url}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  server.unref();
  const upstream = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const { router, id } = await setup(async (request) => {
    const url = new URL(request.url);
    const target = `${upstream}${url.pathname}${url.search}`;
    if (url.pathname === '/fetch-direct') {
      // The request itself, re-targeted: undici copies method, headers, body and signal from it.
      return fetch(new Request(target, request));
    }
    request.headers.set('x-added', 'by-handler'); // a middleware-style change before forwarding
    const res = await fetch(target, { method: request.method, headers: request.headers, body: request.body, duplex: 'half' } as RequestInit);
    return new Response(await res.text(), { status: res.status, headers: res.headers });
  });
  await router.send(id, req(1, { method: 'POST', path: '/fetch-direct?x=1', body: Buffer.from('payload-1'), headers: ['host', 'example.test', 'x-custom', 'c1', 'content-type', 'text/plain'] }));
  const one = await readResponse(router, 1);
  assert.equal(one.status, 200);
  assert.equal(one.body.toString(), 'upstream saw POST /fetch-direct?x=1');
  await router.send(id, req(2, { method: 'PUT', path: '/init', body: Buffer.from('payload-2'), headers: ['host', 'example.test', 'x-custom', 'c2'] }));
  const two = await readResponse(router, 2);
  assert.equal(two.body.toString(), 'upstream saw PUT /init');
  assert.equal(received.length, 2);
  assert.deepEqual([received[0]!.method, received[0]!.body, received[0]!.headers['x-custom'], received[0]!.headers['content-type']], ['POST', 'payload-1', 'c1', 'text/plain']);
  assert.deepEqual([received[1]!.method, received[1]!.body, received[1]!.headers['x-custom'], received[1]!.headers['x-added']], ['PUT', 'payload-2', 'c2', 'by-handler']);
});

test('fetch(request) of the incoming request itself reaches the URL the request names', async () => {
  // The request's own URL points at a real server here (authority = 127.0.0.1:port), as a
  // pass-through proxy handler `(req) => fetch(req)` would use it.
  const server = createServer((incoming, outgoing) => {
    let n = 0;
    incoming.on('data', (c: Buffer) => (n += c.length));
    incoming.on('end', () => outgoing.end(`${incoming.method} ${incoming.url} ${incoming.headers['x-custom']} ${n}`));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  server.unref();
  const authority = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  const { router, id } = await setup((request) => fetch(request));
  await router.send(id, req(1, { method: 'POST', authority, path: '/pass?through=1', body: Buffer.from('12345'), headers: ['host', authority, 'x-custom', 'yes'] }));
  const res = await readResponse(router, 1);
  assert.equal(res.body.toString(), 'POST /pass?through=1 yes 5');
});

/** A Hono-style app in a few lines: `app.fetch(request)` with routes, params and a middleware. */
function tinyApp(): { fetch(request: Request): Promise<Response> } {
  type Route = { method: string; pattern: RegExp; names: string[]; run(req: Request, params: Record<string, string>): Promise<Response> | Response };
  const routes: Route[] = [];
  const add = (method: string, path: string, run: Route['run']): void => {
    const names: string[] = [];
    const pattern = new RegExp(`^${path.replace(/:(\w+)/g, (_m, n: string) => (names.push(n), '([^/]+)'))}$`);
    routes.push({ method, pattern, names, run });
  };
  add('GET', '/users/:id', (req, p) => Response.json({ id: p['id'], q: new URL(req.url).searchParams.get('q'), ua: req.headers.get('user-agent') }));
  add('POST', '/users', async (req) => Response.json({ created: await req.json() }, { status: 201 }));
  return {
    async fetch(request: Request): Promise<Response> {
      const { pathname } = new URL(request.url);
      for (const r of routes) {
        const m = r.method === request.method ? r.pattern.exec(pathname) : null;
        if (!m) continue;
        const params: Record<string, string> = {};
        r.names.forEach((n, i) => (params[n] = decodeURIComponent(m[i + 1]!)));
        const res = await r.run(request, params);
        res.headers.set('x-powered-by', 'tiny'); // middleware after the route
        return res;
      }
      return new Response('not found', { status: 404 });
    },
  };
}

test('a Hono-style app.fetch(request) works as a handler: routes, params, query, headers, JSON in and out, 404', async () => {
  const app = tinyApp();
  const { router, id } = await setup((request) => app.fetch(request));
  await router.send(id, req(1, { path: '/users/a%20b?q=z', headers: ['host', 'example.test', 'user-agent', 'ua/1'] }));
  const one = await readResponse(router, 1);
  assert.equal(one.status, 200);
  assert.deepEqual(JSON.parse(one.body.toString()), { id: 'a b', q: 'z', ua: 'ua/1' });
  assert.ok(one.headers.includes('x-powered-by'));
  await router.send(id, req(2, { method: 'POST', path: '/users', body: Buffer.from('{"name":"n"}'), headers: ['content-type', 'application/json'] }));
  const two = await readResponse(router, 2);
  assert.equal(two.status, 201);
  assert.deepEqual(JSON.parse(two.body.toString()), { created: { name: 'n' } });
  await router.send(id, req(3, { path: '/nope' }));
  assert.equal((await readResponse(router, 3)).status, 404);
});

test('the worker answers 400 for a REQ no fetch Request can represent, and stays up', async () => {
  const { router, id } = await setup(() => new Response('fine'));
  await router.send(id, req(1, { headers: ['x', 'bad\nvalue'] }));
  const bad = await readResponse(router, 1);
  assert.equal(bad.status, 400);
  await router.send(id, req(2, { method: 'CONNECT' }));
  assert.equal((await readResponse(router, 2)).status, 400);
  await router.send(id, req(3));
  assert.equal((await readResponse(router, 3)).body.toString(), 'fine');
});

