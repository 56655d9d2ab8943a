/**
 * The test side of the protocol-level interop tests: the test plays the router on a real ZeroMQ
 * ROUTER socket and keeps what the worker sent in an Inbox, with bounded waits for the next match.
 */
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Router } from 'zeromq';
import { decodeFrames, encodeInto, type Message } from '../../proto/src/index.ts';

export const WAIT_MS = 10_000;

/** What the scripted router received from the worker, in order, with a bounded wait for the next match. */
export class Inbox {
  readonly received: Message[] = [];
  readonly decodeErrors: string[] = [];
  private readonly events = new EventEmitter();

  push(m: Message): void {
    this.received.push(m);
    this.events.emit('message');
  }

  /** The first message at index ≥ from that matches, waiting at most WAIT_MS for it. */
  async next<T extends Message>(match: (m: Message) => m is T, what: string, from = 0): Promise<T> {
    const found = (): T | undefined => this.received.slice(from).find(match);
    const already = found();
    if (already) return already;
    return new Promise((resolve, reject) => {
      const onMessage = (): void => {
        const m = found();
        if (m) done(() => resolve(m));
      };
      const timer = setTimeout(
        () => done(() => reject(new Error(`no ${what} within ${WAIT_MS} ms; got ${this.summary()}`))),
        WAIT_MS,
      );
      const done = (fn: () => void): void => {
        clearTimeout(timer);
        this.events.off('message', onMessage);
        fn();
      };
      this.events.on('message', onMessage);
    });
  }

  summary(): string {
    return this.received.map((m) => ('stream' in m ? `${m.type}(${m.stream})` : m.type)).join(' ');
  }
}

export const isType =
  <K extends Message['type']>(type: K, extra: (m: Extract<Message, { type: K }>) => boolean = () => true) =>
  (m: Message): m is Extract<Message, { type: K }> =>
    m.type === type && extra(m as Extract<Message, { type: K }>);

/** A bound scripted router: sends to the one worker, records what it sends, and cleans up. */
export interface ScriptedRouter {
  readonly endpoint: string;
  readonly inbox: Inbox;
  /** Encodes `messages` into one ZeroMQ message for the worker. */
  send(...messages: Message[]): Promise<void>;
  /** Sends raw frames (after the routing envelope): for garbage the codec would never produce. */
  sendRaw(...frames: Buffer[]): Promise<void>;
  close(): Promise<void>;
}

/**
 * Binds a real ZeroMQ ROUTER on a fresh ipc:// endpoint and records, in order, what the worker
 * named `workerId` sends on the connection of its latest HELLO (workers use a random routing id per
 * connection, SPEC §2; other peers are ignored); `observe` sees each decoded message first.
 */
export async function startScriptedRouter(
  workerId: string,
  inbox: Inbox = new Inbox(),
  observe: (m: Message) => void = () => undefined,
): Promise<ScriptedRouter> {
  const dir = mkdtempSync(join(tmpdir(), 'zp-scripted-'));
  const endpoint = `ipc://${join(dir, 'scripted.sock')}`;
  const sock = new Router({ mandatory: true, handover: true, sendTimeout: 2000 });
  await sock.bind(endpoint);
  /** The worker's current routing id (learned from its HELLO). */
  let envelope: Buffer = Buffer.from(workerId);
  const receiving = (async () => {
    for await (const [from, ...frames] of sock) {
      if (from === undefined) continue;
      decodeFrames(frames, {
        message: (m) => {
          if (m.type === 'HELLO' && m.workerId === workerId) envelope = from;
          if (!from.equals(envelope)) return;
          observe(m);
          inbox.push(m);
        },
        error: (e) => {
          if (from.equals(envelope)) inbox.decodeErrors.push(e.code);
        },
      });
    }
  })().catch(() => undefined); // ends with an error when the socket closes
  return {
    endpoint,
    inbox,
    async send(...messages) {
      const frames: Buffer[] = [envelope];
      for (const m of messages) encodeInto(frames, m);
      await sock.send(frames);
    },
    async sendRaw(...frames) {
      await sock.send([envelope, ...frames]);
    },
    async close() {
      sock.close();
      await receiving;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
