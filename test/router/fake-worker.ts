/**
 * A real ZeroMQ ROUTER peer speaking the wire protocol through the codec, driven step by step by
 * a test (the SDK is written concurrently and is not the thing under test here). Every wait is
 * bounded; close() releases the socket.
 */
import { Router } from 'zeromq';
import { decodeFrames, encodeInto, PROTOCOL_VERSION, type Hello, type Message, type ProtocolError } from '../../proto/src/index.ts';
import { wakeOrTimeout } from '../helpers/waiting.ts';

type Of<T extends Message['type']> = Extract<Message, { type: T }>;

export interface FakeWorkerOptions {
  id?: string;
  capacity?: number;
  window?: number;
  pool?: string;
  epoch?: string;
  versions?: number[];
}

export class FakeWorker {
  readonly socket: Router;
  readonly id: string;
  readonly epoch: string;
  readonly nonce: number;
  readonly options: Required<FakeWorkerOptions>;
  /** The name this worker gives its connection to the router. */
  readonly routerName = 'router-under-test';
  private readonly inbox: Message[] = [];
  readonly decodeErrors: ProtocolError[] = [];
  private wake: (() => void) | null = null;
  private readonly reading: Promise<void>;

  constructor(
    readonly endpoint: string,
    options: FakeWorkerOptions = {},
  ) {
    this.id = options.id ?? `fake/${process.pid}/${Math.random().toString(36).slice(2, 12)}`;
    this.epoch = options.epoch ?? Math.random().toString(36).slice(2);
    this.nonce = Math.floor(Math.random() * 0xffffffff);
    this.options = {
      id: this.id,
      capacity: options.capacity ?? 8,
      window: options.window ?? 262144,
      pool: options.pool ?? 'default',
      epoch: this.epoch,
      versions: options.versions ?? [PROTOCOL_VERSION],
    };
    this.socket = new Router({ routingId: this.id, mandatory: true, linger: 0 });
    this.socket.connect(endpoint, { routingId: this.routerName });
    this.reading = this.readLoop();
  }

  private async readLoop(): Promise<void> {
    const sink = {
      message: (m: Message) => this.inbox.push(m),
      error: (e: ProtocolError) => this.decodeErrors.push(e),
    };
    while (!this.socket.closed) {
      let frames: Buffer[];
      try {
        frames = await this.socket.receive();
      } catch {
        return;
      }
      decodeFrames(frames.slice(1), sink);
      this.wake?.();
    }
  }

  /** Sends messages as one ZeroMQ message (a batch). */
  async send(...messages: Message[]): Promise<void> {
    const frames: Buffer[] = [];
    for (const m of messages) encodeInto(frames, m);
    await this.socket.send([this.routerName, ...frames]);
  }

  /** Sends raw frames after the envelope (for garbage tests). */
  async sendRaw(frames: Buffer[]): Promise<void> {
    await this.socket.send([this.routerName, ...frames]);
  }

  helloMessage(overrides: Partial<Hello> = {}): Hello {
    return {
      type: 'HELLO',
      nonce: this.nonce,
      workerId: this.id,
      epoch: this.epoch,
      versions: this.options.versions,
      pool: this.options.pool,
      capacity: this.options.capacity,
      window: this.options.window,
      meta: {},
      ...overrides,
    };
  }

  /** Sends HELLO until the router answers (EHOSTUNREACH before the ZMTP handshake is normal). */
  async sendHello(overrides: Partial<Hello> = {}, timeoutMs = 5000): Promise<void> {
    const until = Date.now() + timeoutMs;
    for (let delay = 10; ; delay = Math.min(delay * 2, 200)) {
      try {
        await this.send(this.helloMessage(overrides));
        return;
      } catch (err) {
        if ((err as { code?: string }).code !== 'EHOSTUNREACH' || Date.now() > until) throw err;
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  /** HELLO → WELCOME. */
  async register(): Promise<Of<'WELCOME'>> {
    await this.sendHello();
    return this.next('WELCOME');
  }

  /** The next received message of `type` (others stay queued), failing after `timeoutMs`. */
  async next<T extends Message['type']>(type: T, timeoutMs = 3000, where: (m: Of<T>) => boolean = () => true): Promise<Of<T>> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const i = this.inbox.findIndex((m) => m.type === type && where(m as Of<T>));
      if (i >= 0) return this.inbox.splice(i, 1)[0] as Of<T>;
      const left = until - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${type}; inbox: ${this.inbox.map((m) => m.type).join(',')}`);
      await wakeOrTimeout(left, (wake) => (this.wake = wake));
    }
  }

  /** Received messages of `type` so far (removed from the inbox). */
  take<T extends Message['type']>(type: T): Of<T>[] {
    const out: Of<T>[] = [];
    for (let i = 0; i < this.inbox.length; ) {
      if (this.inbox[i]!.type === type) out.push(this.inbox.splice(i, 1)[0] as Of<T>);
      else i++;
    }
    return out;
  }

  async close(): Promise<void> {
    this.socket.close();
    this.wake?.();
    await this.reading;
  }
}
