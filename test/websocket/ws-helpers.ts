/**
 * WebSocket test helpers: a `ws` client whose events are awaited with bounds, and one WebSocket
 * stream on a FakeWorker (test/router/fake-worker.ts) driven step by step with its own seq counter.
 */
import { WebSocket, type ClientOptions } from 'ws';
import type { IncomingMessage } from 'node:http';
import type { HeaderList, Message, WsOp } from '../../proto/src/index.ts';
import type { FakeWorker } from '../router/fake-worker.ts';
import { withTimeout } from '../helpers/waiting.ts';

type Of<T extends Message['type']> = Extract<Message, { type: T }>;

export interface ClientClose {
  code: number;
  reason: string;
}

/** How a client's handshake ended. */
export type Opening = { kind: 'open'; upgrade: IncomingMessage } | { kind: 'refused'; status: number; headers: IncomingMessage['headers']; body: string } | { kind: 'error'; message: string };

/** A `ws` client that records messages and its close; every wait is bounded. */
export class TestClient {
  readonly ws: WebSocket;
  readonly messages: { data: Buffer; isBinary: boolean }[] = [];
  readonly pings: Buffer[] = [];
  readonly opening: Promise<Opening>;
  readonly closed: Promise<ClientClose>;
  private waiters: (() => void)[] = [];

  constructor(url: string, protocols: string[] = [], options: ClientOptions = {}) {
    this.ws = new WebSocket(url, protocols, { perMessageDeflate: false, ...options });
    this.ws.on('error', () => undefined); // the opening/close promises say what happened
    this.opening = new Promise<Opening>((resolve) => {
      this.ws.once('upgrade', (upgrade) => resolve({ kind: 'open', upgrade }));
      this.ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ kind: 'refused', status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on('error', () => resolve({ kind: 'refused', status: res.statusCode ?? 0, headers: res.headers, body }));
      });
      this.ws.once('error', (err) => resolve({ kind: 'error', message: err.message }));
    });
    this.closed = new Promise<ClientClose>((resolve) => this.ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    this.ws.on('message', (data: Buffer, isBinary: boolean) => {
      this.messages.push({ data, isBinary });
      this.wakeAll();
    });
    this.ws.on('ping', (data: Buffer) => {
      this.pings.push(data);
      this.wakeAll();
    });
  }

  private wakeAll(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  async opened(timeoutMs = 5000): Promise<IncomingMessage> {
    const o = await withTimeout(this.opening, timeoutMs, 'the WebSocket handshake');
    if (o.kind !== 'open') throw new Error(`handshake did not open: ${JSON.stringify(o)}`);
    await withTimeout(new Promise((r) => (this.ws.readyState === WebSocket.OPEN ? r(0) : this.ws.once('open', r))), timeoutMs, "'open'");
    return o.upgrade;
  }

  /** Waits until `count` messages have arrived. */
  async message(count = 1, timeoutMs = 5000): Promise<{ data: Buffer; isBinary: boolean }> {
    await withTimeout(
      (async () => {
        while (this.messages.length < count) await new Promise<void>((r) => this.waiters.push(r));
      })(),
      timeoutMs,
      `client message #${count}`,
    );
    return this.messages[count - 1]!;
  }

  async ping(count = 1, timeoutMs = 5000): Promise<Buffer> {
    await withTimeout(
      (async () => {
        while (this.pings.length < count) await new Promise<void>((r) => this.waiters.push(r));
      })(),
      timeoutMs,
      `client ping #${count}`,
    );
    return this.pings[count - 1]!;
  }

  closeEvent(timeoutMs = 8000): Promise<ClientClose> {
    return withTimeout(this.closed, timeoutMs, 'the client close');
  }

  terminate(): void {
    this.ws.terminate();
  }
}

export function headerValues(list: HeaderList, name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < list.length; i += 2) if (list[i] === name) out.push(list[i + 1]!);
  return out;
}

/** A close payload: 2-byte code + reason. */
export function closeBody(code: number, reason = ''): Buffer {
  const reasonBytes = Buffer.from(reason);
  const out = Buffer.alloc(2 + reasonBytes.length);
  out.writeUInt16BE(code, 0);
  reasonBytes.copy(out, 2);
  return out;
}

/** One WebSocket stream on a FakeWorker: the REQ it got, and its outgoing seq. */
export class WorkerSide {
  private seq = 0;

  constructor(
    readonly worker: FakeWorker,
    readonly req: Of<'REQ'>,
  ) {}

  static async take(worker: FakeWorker, timeoutMs = 5000): Promise<WorkerSide> {
    return new WorkerSide(worker, await worker.next('REQ', timeoutMs));
  }

  get stream(): number {
    return this.req.stream;
  }

  accept(headers: HeaderList = []): Promise<void> {
    return this.worker.send({ type: 'RES', stream: this.stream, seq: this.seq++, status: 101, headers, fin: false, body: Buffer.alloc(0) });
  }

  respond(status: number, headers: HeaderList, body: string): Promise<void> {
    return this.worker.send({ type: 'RES', stream: this.stream, seq: this.seq++, status, headers, fin: true, body: Buffer.from(body) });
  }

  data(op: WsOp, body: Buffer | string, fin = true): Promise<void> {
    return this.worker.send({ type: 'DATA', stream: this.stream, seq: this.seq++, op, fin, body: typeof body === 'string' ? Buffer.from(body) : body });
  }

  window(increment: number): Promise<void> {
    return this.worker.send({ type: 'WINDOW', stream: this.stream, seq: this.seq++, increment });
  }

  rst(message: string): Promise<void> {
    return this.worker.send({ type: 'RST', stream: this.stream, code: 'internal', message });
  }

  /** The next DATA of this stream. */
  next(timeoutMs = 5000): Promise<Of<'DATA'>> {
    return this.worker.next('DATA', timeoutMs, (m) => m.stream === this.stream);
  }

  nextRst(timeoutMs = 5000): Promise<Of<'RST'>> {
    return this.worker.next('RST', timeoutMs, (m) => m.stream === this.stream);
  }
}
