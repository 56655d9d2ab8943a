/**
 * The ONE ZeroMQ ROUTER socket and the ONE send queue.
 *
 * zeromq.js allows a single pending send per socket (a second one throws EBUSY), so every send goes
 * through one FIFO, awaited in order. Everything queued for a peer during one event-loop turn goes
 * out as ONE multipart message [peerId, h1, b1, h2, b2, …] (capped in pairs and bytes): fewer native
 * crossings measured +20% req/s. A batch that reaches BATCH_EAGER_PAIRS leaves at once, so the worker
 * works on it while the router is still reading this turn's requests. A failed send (EHOSTUNREACH: peer gone; EAGAIN: peer not draining)
 * drops that peer's queued batches too and reports which REQs never left, so the caller can fail or
 * retry exactly those streams. The socket is read continuously: flow control is by windows only.
 */
import { Router, type Context } from 'zeromq';
import type { Logger } from 'pino';
import { decodeFrames, encodeInto, PeerSink, ProtocolError, type Message } from '../../../proto/src/index.ts';
import { DEFAULT_EXTERNAL_GC_BYTES, ReceivedBytesGc } from '../../../proto/src/external-memory.ts';
import { BATCH_EAGER_PAIRS, BATCH_MAX_BYTES, BATCH_MAX_PAIRS, WORKER_TO_ROUTER_MAX_FRAME } from '../options.ts';
import { RouterMetrics } from '../admin/metrics.ts';

export interface TransportHandler {
  /** One decoded message from `peer`, in the order received. */
  onMessage(peer: string, message: Message): void;
  /** One (header, body) pair from `peer` failed to decode. */
  onDecodeError(peer: string, error: ProtocolError): void;
  /**
   * Sending to `peer` failed (`code` e.g. EHOSTUNREACH, EAGAIN). Its queued batches were dropped;
   * `unsentRequests` are the stream ids whose REQ was in them: the worker provably never saw those.
   */
  onSendFailed(peer: string, unsentRequests: number[], code: string): void;
  /**
   * A connection with routing id `peer` opened or closed (ZMQ_ROUTER_NOTIFY: libzmq sends the same
   * empty message for both, as the first or last message of that connection). Not a protocol message.
   */
  onPeerEvent(peer: string): void;
}

/** ZMQ_ROUTER_NOTIFY (libzmq 4.3): 1 = connect, 2 = disconnect; zeromq.js has no named option for it. */
const ZMQ_ROUTER_NOTIFY = 97;
const NOTIFY_CONNECT_AND_DISCONNECT = 3;

/** setInt32Option is protected in zeromq.js's typings; the option has no accessor of its own. */
interface RawOptionSocket {
  setInt32Option(option: number, value: number): void;
}

/** How the ROUTER socket is secured and bounded (router/src/security builds the CURVE part). */
export interface TransportSocketOptions {
  /** libzmq ZMQ_MAXMSGSIZE per frame: a peer sending more is disconnected before it is buffered. */
  maxMessageSize?: number;
  /** CURVE server secret key (Z85); the ZAP handler must already be bound in `context`. */
  curveSecretKey?: string;
  /** The context the ZAP handler lives in (one per CURVE router). */
  context?: Context;
}

/** What is queued for one peer until it is sent as one multipart message. */
class Batch {
  readonly frames: Buffer[];
  pairs = 0;
  bytes = 0;
  /** Stream ids of REQs in this batch (null while there are none: most batches carry none). */
  requests: number[] | null = null;

  constructor(readonly peer: string) {
    this.frames = [Buffer.from(peer, 'latin1')];
  }
}

export class Transport {
  private readonly socket: Router;
  private readonly sink: PeerSink;
  /** Frees zero-copy receive buffers with cheap young collections (proto/src/external-memory.ts). */
  private readonly receivedGc = new ReceivedBytesGc(DEFAULT_EXTERNAL_GC_BYTES);
  /** Batches waiting to be sent, in order. */
  private readonly sendQueue: Batch[] = [];
  /** The batch still accepting messages, per peer (sealed once taken for sending). */
  private readonly open = new Map<string, Batch>();
  /** When something was last queued for each peer (to send HEARTBEAT only on idle links). */
  private readonly lastQueuedAt = new Map<string, number>();
  private flushScheduled = false;
  private sending: Promise<void> | null = null;
  private receiving: Promise<void> | null = null;
  private closed = false;
  endpoint = '';
  /** The router's metrics live here because every module (registry, dispatcher, streams) reaches the transport. */
  readonly metrics = new RouterMetrics();

  constructor(
    private readonly handler: TransportHandler,
    private readonly log: Logger,
    security: TransportSocketOptions = {},
  ) {
    this.socket = new Router({
      ...(security.context ? { context: security.context } : {}),
      ...(security.curveSecretKey ? { curveServer: true, curveSecretKey: security.curveSecretKey, zapDomain: 'zeroproxy' } : {}),
      mandatory: true,
      // No ZMQ_ROUTER_HANDOVER (SPEC §2): with it a connection presenting a registered routing id
      // takes the id over inside libzmq, and a REQ sent before this process has read that
      // connection's notify event would reach the newcomer. Without it a duplicate id is ignored
      // while the registered connection lives. Workers draw a fresh routing id per connection, so
      // a restarted or reconnecting worker never needs to take an id over.
      handover: false,
      // A send to a peer at its high-water mark rejects (EAGAIN) instead of stalling everyone.
      sendTimeout: 1000,
      sendHighWaterMark: 10_000,
      receiveHighWaterMark: 10_000,
      // Body frames are ≤ 1 MiB and headers ≤ 64 KiB; libzmq checks this per frame.
      maxMessageSize: security.maxMessageSize ?? WORKER_TO_ROUTER_MAX_FRAME + 64 * 1024,
      linger: 500,
    });
    // Set before bind (else it only applies to later binds): every peer's connect and disconnect
    // arrives on the socket as [peerId, <empty frame>], in order with that peer's messages (libzmq
    // pushes it into the connection's own pipe), so a session is voided in O(1) when its connection closes.
    (this.socket as unknown as RawOptionSocket).setInt32Option(ZMQ_ROUTER_NOTIFY, NOTIFY_CONNECT_AND_DISCONNECT);
    this.sink = new PeerSink((peer, m) => handler.onMessage(peer, m), (peer, e) => handler.onDecodeError(peer, e));
  }

  /** Binds and starts reading. Resolves with the real endpoint (a `*` port resolved). */
  async bind(endpoint: string): Promise<string> {
    // libzmq refuses IPv6 literals (ENODEV) unless the socket's ipv6 option is on.
    if (endpoint.startsWith('tcp://[')) this.socket.ipv6 = true;
    try {
      await this.socket.bind(endpoint);
    } catch (err) {
      // libzmq says only "Address already in use": name the endpoint, keep the code.
      const cause = err as Error & { code?: string };
      throw Object.assign(new Error(`cannot bind the ZeroMQ endpoint ${endpoint}: ${cause.message}`, { cause }), { code: cause.code });
    }
    this.endpoint = this.socket.lastEndpoint ?? endpoint;
    this.receiving = this.receiveLoop();
    return this.endpoint;
  }

  /** Queues `message` for `peer`; it leaves with everything else queued for that peer this turn. */
  send(peer: string, message: Message): void {
    if (this.closed) return;
    let batch = this.open.get(peer);
    if (batch === undefined || batch.pairs >= BATCH_MAX_PAIRS || batch.bytes >= BATCH_MAX_BYTES) {
      batch = new Batch(peer);
      this.open.set(peer, batch);
      this.sendQueue.push(batch);
      // Only tracked (registered) peers: answers to unknown peers must not grow this table.
      if (this.lastQueuedAt.has(peer)) this.lastQueuedAt.set(peer, Date.now());
    }
    const frames = batch.frames;
    encodeInto(frames, message);
    batch.pairs++;
    batch.bytes += frames[frames.length - 1]!.length + frames[frames.length - 2]!.length;
    if (message.type === 'REQ') (batch.requests ??= []).push(message.stream);
    else if (message.type === 'RST') this.metrics.rstCounted('out', message.code);
    if (batch.pairs >= BATCH_EAGER_PAIRS) {
      // Send a full-enough batch now instead of at the end of the turn: the worker starts on it
      // while this turn reads more requests (no convoy of one big batch per turn; see options.ts).
      this.open.delete(peer);
      void this.drainQueue();
      return;
    }
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flush);
    }
  }

  /** Milliseconds since anything was queued for tracked `peer` (Infinity if untracked). */
  idleFor(peer: string, now: number): number {
    const at = this.lastQueuedAt.get(peer);
    return at === undefined ? Infinity : now - at;
  }

  /** Starts tracking when `peer` was last sent to (see idleFor); the registry calls it on registration. */
  track(peer: string, now: number): void {
    this.lastQueuedAt.set(peer, now);
  }

  /** Forgets per-peer bookkeeping of a peer that left. Queued batches still go (e.g. a final BYE). */
  forget(peer: string): void {
    this.lastQueuedAt.delete(peer);
  }

  /** Sends what is queued, then closes the socket. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.flushScheduled = false;
    await this.drainQueue();
    this.closed = true;
    this.socket.close();
    await this.receiving?.catch(() => undefined);
  }

  private readonly flush = (): void => {
    this.flushScheduled = false;
    void this.drainQueue();
  };

  /** Runs the single sender until the queue is empty; concurrent callers share the same run. */
  private drainQueue(): Promise<void> {
    if (this.sending === null) {
      this.sending = this.sendAll().finally(() => {
        this.sending = null;
      });
    }
    return this.sending;
  }

  private async sendAll(): Promise<void> {
    const queue = this.sendQueue;
    while (queue.length > 0) {
      const batch = queue.shift()!;
      // Sealed: later messages for this peer start a new batch behind this one.
      if (this.open.get(batch.peer) === batch) this.open.delete(batch.peer);
      try {
        await this.socket.send(batch.frames);
        this.metrics.transportBytesOut += batch.bytes;
      } catch (err) {
        if (this.socket.closed) return;
        this.failPeer(batch, (err as { code?: string }).code ?? 'EUNKNOWN');
      }
    }
  }

  /** A send to batch.peer failed: drop its later batches too (a gap would break seq) and report. */
  private failPeer(failed: Batch, code: string): void {
    const unsent: number[] = failed.requests ? [...failed.requests] : [];
    const queue = this.sendQueue;
    for (let i = queue.length - 1; i >= 0; i--) {
      const b = queue[i]!;
      if (b.peer !== failed.peer) continue;
      if (b.requests) unsent.push(...b.requests);
      queue.splice(i, 1);
    }
    this.open.delete(failed.peer);
    this.lastQueuedAt.delete(failed.peer);
    this.metrics.sendFailed(code);
    try {
      this.handler.onSendFailed(failed.peer, unsent, code);
    } catch (err) {
      this.log.error({ err }, 'send failure handler threw');
    }
  }

  private async receiveLoop(): Promise<void> {
    const socket = this.socket;
    while (!this.closed) {
      let frames: Buffer[];
      try {
        frames = await socket.receive();
      } catch (err) {
        if (this.closed || socket.closed) return;
        this.log.error({ err }, 'zeromq receive failed');
        continue;
      }
      const peer = frames[0]!.toString('latin1');
      if (frames.length === 2 && frames[1]!.length === 0) {
        // A ROUTER_NOTIFY connect/disconnect event, not a protocol message (no header is ever empty).
        try {
          this.handler.onPeerEvent(peer);
        } catch (err) {
          this.log.error({ err }, 'peer event handler threw');
        }
        continue;
      }
      let bytes = 0;
      for (let i = 1; i < frames.length; i++) bytes += frames[i]!.length;
      this.metrics.transportBytesIn += bytes;
      this.sink.peer = peer;
      try {
        decodeFrames(frames.slice(1), this.sink);
      } catch (err) {
        // A bug in a handler must not stop the router reading its socket.
        this.log.error({ err, peer }, 'inbound message handler threw');
      }
      this.receivedGc.note(bytes);
    }
  }
}
