/**
 * The test side of the protocol-level interop tests: the test plays the router on a real ZeroMQ
 * ROUTER socket and keeps what the worker sent in an Inbox, with bounded waits for the next match.
 */
import { EventEmitter } from 'node:events';
import type { Message } from '../../proto/src/index.ts';

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
