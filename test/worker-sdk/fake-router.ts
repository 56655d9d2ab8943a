/**
 * A router stand-in for SDK tests: a REAL zmq.Router speaking the protocol through the codec.
 * It records everything the worker sends and lets a test wait for a given message (with a timeout).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import * as zmq from 'zeromq';
import { decodeFrames, encodeInto, type Hello, type Message, type Req } from '../../proto/src/index.ts';

export interface Received {
  from: string;
  m: Message;
}

type Of<T extends Message['type']> = Extract<Message, { type: T }>;

export const DEFAULT_WAIT_MS = 5000;

/** A fresh ipc:// endpoint in a temp dir: its name is known before anything binds it. */
export function ipcEndpoint(): { endpoint: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'zp-sdk-'));
  return { endpoint: `ipc://${join(dir, 'router.sock')}`, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export class FakeRouter {
  readonly socket = new zmq.Router({ mandatory: true, handover: true, linger: 0, sendTimeout: 2000 });
  readonly received: Received[] = [];
  /** Every message ever received, in order (never consumed). */
  readonly log: Received[] = [];
  private waiters: (() => void)[] = [];
  private closed = false;
  endpoint = '';

  static async bind(endpoint = 'tcp://127.0.0.1:*'): Promise<FakeRouter> {
    const r = new FakeRouter();
    await r.socket.bind(endpoint);
    r.endpoint = r.socket.lastEndpoint!;
    void r.receiveLoop();
    return r;
  }

  private async receiveLoop(): Promise<void> {
    try {
      for await (const [sender, ...frames] of this.socket) {
        const from = sender!.toString();
        decodeFrames(frames, {
          message: (m) => {
            // Workers connect with a random routing id (SPEC §2): tests address them by workerId.
            if (m.type === 'HELLO') this.routes.set(m.workerId, from);
            this.received.push({ from, m });
            this.log.push({ from, m });
          },
          error: (e) => {
            throw e;
          },
        });
        const w = this.waiters;
        this.waiters = [];
        for (const f of w) f();
      }
    } catch (err) {
      if (!this.closed) throw err;
    }
  }

  /** workerId → routing id of the connection its latest HELLO came on. */
  private readonly routes = new Map<string, string>();

  /** The routing id to put in the envelope of a raw send to `workerId` (it is random per connection). */
  routingIdOf(workerId: string): string {
    return this.routes.get(workerId) ?? workerId;
  }

  /** Sends all `messages` to `to` (a workerId seen in a HELLO, or a routing id) as one ZeroMQ message (a batch). */
  async send(workerIdOrRoutingId: string, ...messages: Message[]): Promise<void> {
    const to = this.routes.get(workerIdOrRoutingId) ?? workerIdOrRoutingId;
    const frames: Buffer[] = [];
    for (const m of messages) encodeInto(frames, m);
    // zeromq.js allows one pending send per socket: concurrent senders in a test go one by one.
    const run = this.sendChain.then(() => this.socket.send([to, ...frames]));
    this.sendChain = run.catch(() => {});
    await run;
  }
  private sendChain: Promise<void> = Promise.resolve();

  /** Removes and returns the first received message of `type` matching `filter`; waits for it. */
  async next<T extends Message['type']>(type: T, filter: (m: Of<T>) => boolean = () => true, timeoutMs = DEFAULT_WAIT_MS): Promise<Of<T> & { from: string }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.received.findIndex((r) => r.m.type === type && filter(r.m as Of<T>));
      if (i >= 0) {
        const [r] = this.received.splice(i, 1);
        return Object.assign({ from: r!.from }, r!.m as Of<T>);
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        const seen = this.log.map((r) => r.m.type).join(',');
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${type} (seen: ${seen})`);
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Received messages of a type not consumed yet (without waiting). */
  pending<T extends Message['type']>(type: T): Of<T>[] {
    return this.received.filter((r) => r.m.type === type).map((r) => r.m as Of<T>);
  }

  /** Waits for a HELLO and answers WELCOME; returns the HELLO. */
  async welcome(opts: { epoch?: string; heartbeatMs?: number; window?: number; maxFrame?: number } = {}): Promise<Hello & { from: string }> {
    const hello = await this.next('HELLO');
    await this.send(hello.from, {
      type: 'WELCOME',
      nonce: hello.nonce,
      routerId: 'fake-router',
      epoch: opts.epoch ?? 'epoch-1',
      version: 1,
      heartbeatMs: opts.heartbeatMs ?? 1000,
      window: opts.window ?? 262144,
      maxFrame: opts.maxFrame ?? 262144,
    });
    return hello;
  }

  /**
   * A barrier: DATA for a stream id nobody uses makes the worker answer RST cancel. The worker
   * handles messages in order and sends in order, so anything it sent before has arrived by then.
   */
  async sync(to: string, unusedStream: number): Promise<void> {
    await this.send(to, { type: 'DATA', stream: unusedStream, seq: 0, fin: true, body: Buffer.alloc(0) });
    await this.next('RST', (m) => m.stream === unusedStream);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.socket.close();
  }
}

export function req(stream: number, over: Partial<Req> = {}): Req {
  return {
    type: 'REQ',
    stream,
    seq: 0,
    method: 'GET',
    scheme: 'http',
    authority: 'example.test',
    path: '/',
    headers: ['host', 'example.test'],
    remote: '127.0.0.1',
    requestId: `req-${stream}`,
    timeoutMs: 0,
    fin: true,
    body: Buffer.alloc(0),
    ...over,
  };
}

/** Collects the body of a response stream (RES + DATA until fin) sent by the worker. */
export async function readResponse(router: FakeRouter, stream: number, timeoutMs = DEFAULT_WAIT_MS): Promise<{ status: number; headers: string[]; body: Buffer }> {
  const res = await router.next('RES', (m) => m.stream === stream, timeoutMs);
  const chunks = [res.body];
  let fin = res.fin;
  let seq = res.seq;
  while (!fin) {
    const d = await router.next('DATA', (m) => m.stream === stream, timeoutMs);
    if (d.seq !== seq + 1) throw new Error(`seq gap ${seq} → ${d.seq}`);
    seq = d.seq;
    chunks.push(d.body);
    fin = d.fin;
  }
  return { status: res.status, headers: res.headers, body: Buffer.concat(chunks) };
}

export function header(list: string[], name: string): string | undefined {
  for (let i = 0; i < list.length; i += 2) if (list[i] === name) return list[i + 1];
  return undefined;
}

/** A pino logger writing into memory, with a way to wait for a log line. */
export function captureLogger(): { logger: Logger; lines: Record<string, unknown>[]; waitFor(msg: string, count?: number, timeoutMs?: number): Promise<Record<string, unknown>> } {
  const lines: Record<string, unknown>[] = [];
  let waiters: (() => void)[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      const w = waiters;
      waiters = [];
      for (const f of w) f();
      cb();
    },
  });
  const logger = pino({ level: 'debug' }, sink);
  /** Waits until `count` lines with this msg were logged; returns the count-th. */
  const waitFor = async (msg: string, count = 1, timeoutMs = DEFAULT_WAIT_MS): Promise<Record<string, unknown>> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const matching = lines.filter((l) => l['msg'] === msg);
      if (matching.length >= count) return matching[count - 1]!;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for log "${msg}"`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  };
  return { logger, lines, waitFor };
}

export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(err: unknown): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
