/**
 * Micro-benchmark of the SDK's per-request cost, in process, without ZeroMQ: a real StreamImpl fed a
 * REQ and answered through (a) the low-level onStream API, (b) a fetch-style handler returning a
 * text Response, (c) the same handler also reading url, pathname and a header (what routers do),
 * (d) the same with the SDK's opt-in LightResponse, (e) a POST whose body the handler reads with
 * text(), (f) a fetch handler returning a streamed Response. Prints ns/request, best of several
 * runs: the machine is shared and noisy, so the minimum is the least disturbed figure.
 *
 * Usage: node --import tsx bench/micro/fetch-handler.ts [--requests N] [--runs R]
 */
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import type { Message, Req } from '../../proto/src/index.ts';
import { fetchHandlerToStreamHandler, LightResponse, type FetchHandler, type StreamHandler } from '../../worker-sdk/src/index.ts';
import { StreamImpl, type StreamOwner } from '../../worker-sdk/src/stream.ts';

const { values } = parseArgs({ options: { requests: { type: 'string', default: '50000' }, runs: { type: 'string', default: '7' } } });
const requests = Number(values.requests);
const runs = Number(values.runs);
if (!Number.isInteger(requests) || requests < 1 || !Number.isInteger(runs) || runs < 1) {
  process.stderr.write('usage: fetch-handler.ts [--requests N] [--runs R]\n');
  process.exit(2);
}

const BODY = 'x'.repeat(1024);
const POST_BODY = Buffer.from('y'.repeat(1024));
const CHUNK = new TextEncoder().encode(BODY);

/** Counts what the stream sends; a response must end in RES/DATA with fin or the run is wrong. */
function owner(): StreamOwner & { finished: number } {
  return {
    finished: 0,
    maxFrame: 262144,
    sendWindow: 262144,
    recvWindow: 262144,
    send(m: Message) {
      if ((m.type === 'RES' || m.type === 'DATA') && m.fin) this.finished++;
    },
    ended() {},
  };
}

function request(stream: number, post: boolean): Req {
  return {
    type: 'REQ',
    stream,
    seq: 0,
    method: post ? 'POST' : 'GET',
    scheme: 'http',
    authority: '127.0.0.1:8080',
    path: `/small?n=${stream}`,
    headers: ['host', '127.0.0.1:8080', 'user-agent', 'wrk', 'accept', '*/*', 'x-request-id', `r${stream}`],
    remote: '127.0.0.1',
    requestId: `r${stream}`,
    timeoutMs: 0,
    fin: true,
    body: post ? POST_BODY : Buffer.alloc(0),
  };
}

const logger = pino({ level: 'silent' });
const fetchPath = (h: FetchHandler): StreamHandler => fetchHandlerToStreamHandler(h, 'bench', logger);

const cases: { name: string; post: boolean; handler: StreamHandler }[] = [
  {
    name: 'low-level onStream, 1 KB',
    post: false,
    handler: (s) => {
      s.respond(200, ['content-type', 'text/plain']);
      return s.end(BODY);
    },
  },
  { name: 'fetch, text Response, 1 KB', post: false, handler: fetchPath(() => new Response(BODY, { headers: { 'content-type': 'text/plain' } })) },
  {
    name: 'fetch, reads url+header, text Response',
    post: false,
    handler: fetchPath((req) => {
      const path = new URL(req.url).pathname;
      const id = req.headers.get('x-request-id');
      return new Response(path === '/small' && id ? BODY : 'no', { headers: { 'content-type': 'text/plain' } });
    }),
  },
  {
    name: 'fetch, reads url+header, LightResponse',
    post: false,
    handler: fetchPath((req) => {
      const path = new URL(req.url).pathname;
      const id = req.headers.get('x-request-id');
      return new LightResponse(path === '/small' && id ? BODY : 'no', { headers: { 'content-type': 'text/plain' } });
    }),
  },
  { name: 'fetch, POST 1 KB read with text()', post: true, handler: fetchPath(async (req) => new Response(await req.text())) },
  {
    name: 'fetch, streamed Response, 1 KB',
    post: false,
    handler: fetchPath(
      () =>
        new Response(
          new ReadableStream<Uint8Array>({
            start(c) {
              c.enqueue(CHUNK);
              c.close();
            },
          }),
        ),
    ),
  },
];

async function run(handler: StreamHandler, post: boolean, n: number): Promise<number> {
  const o = owner();
  const start = process.hrtime.bigint();
  for (let i = 1; i <= n; i++) {
    const s = new StreamImpl(request(i, post), o);
    s.start(post ? POST_BODY : Buffer.alloc(0));
    await handler(s);
  }
  const ns = Number(process.hrtime.bigint() - start) / n;
  if (o.finished !== n) throw new Error(`only ${o.finished} of ${n} responses finished`);
  return ns;
}

for (const c of cases) {
  await run(c.handler, c.post, Math.min(requests, 5000)); // warm-up: JIT, pools
  const samples: number[] = [];
  for (let r = 0; r < runs; r++) samples.push(await run(c.handler, c.post, requests));
  samples.sort((a, b) => a - b);
  const best = samples[0]!;
  const median = samples[samples.length >> 1]!;
  process.stdout.write(`${c.name.padEnd(40)} best ${best.toFixed(0).padStart(6)} ns/req   median ${median.toFixed(0).padStart(6)} ns/req   (${runs} runs × ${requests})\n`);
}
