/** What the router knows about one registered worker (one HELLO → WELCOME registration). */

/** What the workers layer knows of a stream open on a worker: its id (the dispatcher owns the rest). */
export interface OpenStream {
  readonly id: number;
}

/** Streams a worker may have open that the router already reset; late DATA for them is dropped quietly. */
const RECENTLY_RESET_LIMIT = 1024;

export class WorkerRecord {
  /** Free request slots (SPEC §5: starts at HELLO.capacity, −1 per REQ, +n per CREDIT). */
  credit: number;
  /** Streams the router has open on this worker (for least-in-flight). */
  inFlight = 0;
  /** After DRAIN: no new streams. */
  draining = false;
  /** Set when the worker is forgotten (BYE, silence, send error, re-HELLO). */
  lost = false;
  /** Listed in its pool's worker list (the dispatcher adds it on first credit). */
  pooled = false;
  lastSeenAt: number;
  /** When this registration was accepted (ms since epoch): the admin endpoint's uptime. */
  readonly registeredAt: number;
  /** Open streams on this worker by stream id. */
  readonly streams = new Map<number, OpenStream>();
  private readonly recentlyReset = new Set<number>();

  constructor(
    /** ZeroMQ routing id (the worker's id on the wire). */
    readonly peer: string,
    readonly workerId: string,
    readonly epoch: string,
    readonly nonce: number,
    readonly pool: string,
    readonly capacity: number,
    /** Initial request-body window per stream the worker granted (HELLO.window). */
    readonly window: number,
    readonly meta: Record<string, string>,
    now: number,
  ) {
    this.credit = capacity;
    this.lastSeenAt = now;
    this.registeredAt = now;
  }

  get available(): boolean {
    return this.credit > 0 && !this.draining && !this.lost;
  }

  /** Remembers that `stream` was reset so that only one RST answers its late frames. */
  noteReset(stream: number): void {
    if (this.recentlyReset.size >= RECENTLY_RESET_LIMIT) this.recentlyReset.clear();
    this.recentlyReset.add(stream);
  }

  wasReset(stream: number): boolean {
    return this.recentlyReset.has(stream);
  }
}
