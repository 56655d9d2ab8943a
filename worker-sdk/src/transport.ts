/**
 * One ZeroMQ connection of a worker to one router (SPEC.md §2): a ROUTER socket with its own
 * unguessable routing id (newRoutingId; never the workerId, never logged), connected to the router
 * endpoint under a local name (the endpoint string), with ONE send queue. A connection that is
 * displaced or goes silent is replaced by a fresh one with a fresh routing id (worker.ts), so one
 * socket per connection: libzmq fixes a socket's routing id when it connects. The socket connects
 * once, in the constructor, with every option already set: zeromq.js warns "Socket option will not
 * take effect until next connect/bind" for an option set on a socket that has an endpoint — which
 * the name of a second connection (ZMQ_CONNECT_ROUTING_ID) would be.
 *
 * Everything queued for a router during one event-loop turn leaves as one multipart ZeroMQ message
 * (SPEC.md §2 "Senders SHOULD batch"), because fewer, larger ZeroMQ messages are what is fast here
 * (NOTES.md). zeromq.js allows one pending send per socket, so sends are awaited in order.
 */
import { randomBytes } from 'node:crypto';
import * as zmq from 'zeromq';
import type { Logger } from 'pino';
import { Limits, PeerSink, decodeFrames, encodeInto, type Message, type ProtocolError } from '../../proto/src/index.ts';
import { DEFAULT_EXTERNAL_GC_BYTES, ReceivedBytesGc } from '../../proto/src/external-memory.ts';

/** Caps of one batch (libzmq checks maxMessageSize per frame, so batches need their own). */
const MAX_BATCH_PAIRS = Limits.maxPairsPerMessage;
const MAX_BATCH_BYTES = 4 * 1024 * 1024;
/** A send to a peer that never drains must not stall the queue for every router. */
const SEND_TIMEOUT_MS = 2000;
/** On close, how long libzmq may keep trying to deliver what is queued (the final BYEs). */
const LINGER_MS = 1000;

/**
 * A fresh routing id for one connection: 144 random bits as 24 printable characters (base64url,
 * never a leading NUL). Knowing a worker's public workerId gives no way to guess it (SPEC §2).
 */
export function newRoutingId(): string {
  return randomBytes(18).toString('base64url');
}

export interface TransportEvents {
  /** A decoded message from the router connected under `peer` (the endpoint name). */
  message(peer: string, m: Message): void;
  /** A pair from `peer` that did not decode. */
  decodeError(peer: string, err: ProtocolError): void;
  /** Just before a batch for `peer` is cut: the last chance to add batched control messages. */
  beforeFlush(peer: string): void;
}

interface Outbox {
  frames: Buffer[];
  bytes: number;
}

export class WorkerTransport {
  private readonly socket: zmq.Router;
  private readonly outboxes = new Map<string, Outbox>();
  private readonly sendQueue: { peer: string; frames: Buffer[] }[] = [];
  private flushScheduled = false;
  private sending: Promise<void> | null = null;
  private closed = false;
  private readonly receiving: Promise<void>;

  constructor(
    /** The router's endpoint, and the socket-local name messages to it are addressed by. */
    router: { endpoint: string; peer: string },
    /** This connection's routing id (newRoutingId): a secret between the worker and the router. */
    routingId: string,
    private readonly events: TransportEvents,
    private readonly logger: Logger,
    /** Extra socket options, e.g. the CURVE client keys (worker-sdk/src/curve.ts). */
    socketOptions: { curveSecretKey?: string; curvePublicKey?: string; curveServerKey?: string; ipv6?: boolean } = {},
  ) {
    // Not `immediate` (SPEC §2): libzmq 4.3 then ignores the connection's name (ZMQ_CONNECT_ROUTING_ID)
    // and the router would be unreachable. Without it, sends before the handshake are queued.
    this.socket = new zmq.Router({ ...socketOptions, routingId, mandatory: true, sendTimeout: SEND_TIMEOUT_MS, linger: LINGER_MS });
    this.socket.connect(router.endpoint, { routingId: router.peer });
    this.receiving = this.receiveLoop();
  }

  /** Queues `m` for `peer`; it leaves with everything else queued for that peer in this turn. */
  enqueue(peer: string, m: Message): void {
    if (this.closed) return;
    let box = this.outboxes.get(peer);
    if (!box) {
      box = { frames: [], bytes: 0 };
      this.outboxes.set(peer, box);
    }
    const before = box.frames.length;
    encodeInto(box.frames, m);
    box.bytes += box.frames[before]!.length + box.frames[before + 1]!.length;
    this.scheduleFlush();
  }

  /** Makes sure `peer` gets a beforeFlush call at the end of this turn, even with nothing queued. */
  touch(peer: string): void {
    if (this.closed) return;
    if (!this.outboxes.has(peer)) this.outboxes.set(peer, { frames: [], bytes: 0 });
    this.scheduleFlush();
  }

  /** Asks for a flush at the end of this turn. */
  scheduleFlush(): void {
    if (this.flushScheduled || this.closed) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    for (const peer of [...this.outboxes.keys()]) this.events.beforeFlush(peer);
    for (const [peer, box] of this.outboxes) {
      if (box.frames.length === 0) continue;
      this.cutBatches(peer, box.frames);
    }
    this.outboxes.clear();
    this.flushScheduled = false;
    if (!this.sending && this.sendQueue.length > 0) this.sending = this.sendLoop();
  }

  private cutBatches(peer: string, frames: Buffer[]): void {
    let start = 0;
    let bytes = 0;
    for (let i = 0; i < frames.length; i += 2) {
      const pairBytes = frames[i]!.length + frames[i + 1]!.length;
      const pairs = (i - start) / 2;
      if (pairs > 0 && (pairs >= MAX_BATCH_PAIRS || bytes + pairBytes > MAX_BATCH_BYTES)) {
        this.sendQueue.push({ peer, frames: frames.slice(start, i) });
        start = i;
        bytes = 0;
      }
      bytes += pairBytes;
    }
    this.sendQueue.push({ peer, frames: start === 0 ? frames : frames.slice(start) });
  }

  private async sendLoop(): Promise<void> {
    while (this.sendQueue.length > 0) {
      const batch = this.sendQueue.shift()!;
      try {
        await this.socket.send([batch.peer, ...batch.frames]);
      } catch (err) {
        this.onSendError(batch.peer, batch.frames.length / 2, err as Error & { code?: string });
      }
    }
    this.sending = null;
  }

  private onSendError(peer: string, pairs: number, err: Error & { code?: string }): void {
    if (err.code === 'EHOSTUNREACH') {
      // Normal before the ZeroMQ handshake completes or after the router went away: the link's
      // HELLO loop / liveness check takes care of it.
      this.logger.debug({ router: peer, pairs }, 'router unreachable, batch dropped');
    } else if (this.closed) {
      return;
    } else {
      this.logger.warn({ router: peer, pairs, err: err.message, code: err.code }, 'send failed, batch dropped');
    }
  }

  private async receiveLoop(): Promise<void> {
    try {
      // One sink for the whole loop (its peer set per message): no object or closures per message.
      const sink = new PeerSink((peer, m) => this.events.message(peer, m), (peer, e) => this.events.decodeError(peer, e));
      // Frees zero-copy receive buffers with cheap young collections (proto/src/external-memory.ts).
      const receivedGc = new ReceivedBytesGc(DEFAULT_EXTERNAL_GC_BYTES);
      for await (const message of this.socket) {
        sink.peer = message[0]!.toString();
        // The envelope frame is dropped in place: no copy of the frame array per message.
        message.shift();
        let bytes = 0;
        for (const frame of message) bytes += frame.length;
        try {
          decodeFrames(message, sink);
        } catch (err) {
          // A bug in a message handler must not stop the worker from receiving (heartbeats!).
          this.logger.error({ router: sink.peer, err: (err as Error).stack }, 'error while handling a message');
        }
        receivedGc.note(bytes);
      }
    } catch (err) {
      if (!this.closed) this.logger.error({ err: (err as Error).message }, 'receive loop failed');
    }
  }

  /** Sends everything queued (the final BYEs), then closes the socket. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.flush();
    if (this.sending) await this.sending;
    this.closed = true;
    this.socket.close();
    await this.receiving;
  }
}
