/**
 * LightResponse (worker-sdk/src/light-response.ts), the opt-in cheap Response: it must behave as
 * a real Response (same properties, same errors for the same inputs) and reach the wire exactly —
 * through a real ZeroMQ ROUTER (FakeRouter) and a real worker.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LightResponse } from '../../worker-sdk/src/index.ts';
import { lightResponseParts } from '../../worker-sdk/src/light-response.ts';
import { header, readResponse, req } from './fake-router.ts';
import { fetchWorkerFixture } from './worker-fixture.ts';

const { setup } = fetchWorkerFixture();

function entries(h: Headers): [string, string][] {
  const out: [string, string][] = [];
  h.forEach((value, name) => out.push([name, value]));
  return out;
}

type Make = (R: typeof Response) => Response;

/** What user code sees of a Response, read twice where reading consumes. */
async function describe(make: Make, R: typeof Response): Promise<unknown> {
  let res: Response;
  try {
    res = make(R);
  } catch (err) {
    return `throws ${(err as Error).constructor.name}`;
  }
  const head = [res instanceof Response, Object.prototype.toString.call(res), res.status, res.ok, res.statusText, res.type, res.url, res.redirected, entries(res.headers), res.bodyUsed, res.body === null];
  const copy = res.clone();
  const text = await res.text();
  let again: string;
  try {
    again = await res.text();
  } catch (err) {
    again = `throws ${(err as Error).constructor.name}`;
  }
  return [...head, text, again, res.bodyUsed, await copy.text()];
}

const bytes = new Uint8Array([104, 105, 0, 255]);
const MAKES: [string, Make][] = [
  ['string', (R) => new R('hello')],
  ['string + headers object', (R) => new R('hello', { status: 201, headers: { 'X-A': '1', 'content-type': 'text/html' } })],
  ['string + header pairs with set-cookie', (R) => new R('c', { headers: [['set-cookie', 'a=1'], ['set-cookie', 'b=2']] })],
  ['bytes', (R) => new R(bytes)],
  ['ArrayBuffer', (R) => new R(bytes.buffer.slice(0))],
  ['null', (R) => new R(null, { status: 204 })],
  ['undefined body', (R) => new R()],
  ['statusText', (R) => new R('t', { status: 404, statusText: 'Nope' })],
  ['stream body', (R) => new R(new Blob(['blob']).stream())],
  ['Blob body', (R) => new R(new Blob(['blob'], { type: 'text/x-blob' }))],
  ['URLSearchParams', (R) => new R(new URLSearchParams({ q: 'a b' }))],
  ['json', (R) => R.json({ a: [1, 'é'] }, { status: 202, headers: { 'x-j': '1' } })],
  ['json keeps a given content-type', (R) => R.json([1], { headers: { 'content-type': 'application/vnd+json' } })],
  ['status 199 refused', (R) => new R('x', { status: 199 })],
  ['status 600 refused', (R) => new R('x', { status: 600 })],
  ['body with 204 refused', (R) => new R('x', { status: 204 })],
  ['body with 304 refused', (R) => new R(bytes, { status: 304 })],
  ['bad header name refused', (R) => new R('x', { headers: { 'bad name': 'v' } })],
  ['bad header value refused', (R) => new R('x', { headers: { x: 'a\nb' } })],
  ['json of undefined refused', (R) => R.json(undefined)],
];

test('a LightResponse looks, reads, clones and fails exactly as a real Response made from the same arguments', async () => {
  for (const [name, make] of MAKES) {
    assert.deepEqual(await describe(make, LightResponse as unknown as typeof Response), await describe(make, Response), name);
  }
});

test('the cheap kinds stay plain until something needs the real Response; others are real at once', () => {
  assert.ok(lightResponseParts(new LightResponse('s') as unknown as Response));
  assert.ok(lightResponseParts(new LightResponse(bytes) as unknown as Response));
  assert.ok(lightResponseParts(new LightResponse(null) as unknown as Response));
  assert.ok(lightResponseParts(LightResponse.json({})));
  assert.equal(lightResponseParts(new LightResponse(new Blob(['b'])) as unknown as Response), null);
  const touched = new LightResponse('s') as unknown as Response;
  void touched.body;
  assert.equal(lightResponseParts(touched), null, 'body asked for: now a real Response');
  assert.equal(lightResponseParts(new Response('real')), null);
});

test('LightResponses reach the wire exactly: body kinds, status, headers changed after construction, Set-Cookie, HEAD', async () => {
  const userBuffer = Buffer.from('original');
  const { router, id } = await setup((request) => {
    const path = new URL(request.url).pathname;
    if (path === '/text') {
      const res = new LightResponse('text body', { status: 201, headers: { 'x-a': '1' } });
      res.headers.append('set-cookie', 'a=1'); // middleware-style changes after construction
      res.headers.append('set-cookie', 'b=2');
      return res;
    }
    if (path === '/bytes') {
      const res = new LightResponse(userBuffer);
      userBuffer.write('CHANGED!'); // a real Response copies its bytes: the change must not be sent
      return res;
    }
    if (path === '/json') return LightResponse.json({ ok: true, n: 1 });
    if (path === '/null') return new LightResponse(null, { status: 204 });
    if (path === '/stream') return new LightResponse(new Blob(['from a blob']));
    if (path === '/touched') {
      const res = new LightResponse('touched');
      res.headers.set('x-t', 'yes');
      void res.statusText; // forces the real Response
      return res;
    }
    return new LightResponse('head body', { headers: { 'x-h': '1' } });
  });
  const get = async (stream: number, path: string, method = 'GET'): Promise<Awaited<ReturnType<typeof readResponse>>> => {
    await router.send(id, req(stream, { path, method }));
    return readResponse(router, stream);
  };
  const text = await get(1, '/text');
  assert.equal(text.status, 201);
  assert.equal(text.body.toString(), 'text body');
  assert.equal(header(text.headers, 'content-type'), 'text/plain;charset=UTF-8');
  assert.equal(header(text.headers, 'x-a'), '1');
  assert.deepEqual(text.headers.filter((_, i) => i % 2 === 1 && text.headers[i - 1] === 'set-cookie'), ['a=1', 'b=2']);
  assert.equal((await get(2, '/bytes')).body.toString(), 'original');
  const json = await get(3, '/json');
  assert.equal(header(json.headers, 'content-type'), 'application/json');
  assert.deepEqual(JSON.parse(json.body.toString()), { ok: true, n: 1 });
  const empty = await get(4, '/null');
  assert.deepEqual([empty.status, empty.body.length], [204, 0]);
  assert.equal((await get(5, '/stream')).body.toString(), 'from a blob');
  const touched = await get(6, '/touched');
  assert.deepEqual([touched.body.toString(), header(touched.headers, 'x-t')], ['touched', 'yes']);
  const head = await get(7, '/head', 'HEAD');
  assert.deepEqual([head.status, header(head.headers, 'x-h'), head.body.length], [200, '1', 0]);
});
