/**
 * The front door's open HTTP/2 sessions, and the slow-client rules node:http2 does not have
 * (node:http's headersTimeout is HTTP/1.1 only; an h2 session's own timeout is reset by every
 * byte, so a client trickling a HEADERS block one byte every 2 s held its connection for ever):
 *
 * 1. Preface: a new session must deliver the connection preface and its SETTINGS within
 *    --header-timeout, or it is destroyed (it has not spoken HTTP/2 yet: no GOAWAY).
 * 2. Request heads: once the 9-byte frame header of a request's HEADERS has arrived, nghttp2 counts
 *    the stream as "processed" (session.state.lastProcStreamID) while node only delivers it when
 *    the whole header block (HEADERS + CONTINUATION) is in. A stream processed but not delivered
 *    for --header-timeout means a head that does not complete: the session gets GOAWAY (node
 *    offers no way to reset a stream it never surfaced, and the client is misbehaving anyway).
 * 3. Idle: a session with no request open for H2_IDLE_TIMEOUT_MS gets GOAWAY, whatever control
 *    frames (PING, WINDOW_UPDATE, a trickled frame header) it keeps sending — so a trickle too slow
 *    for rule 2 to see ends here. A session with a request open is bounded by that request's limits.
 * 4. Request bodies: a request whose body has not fully arrived --body-timeout after its head
 *    gets RST_STREAM CANCEL (HTTP/1.1's node:http answers 408 and closes; on HTTP/2 only the stream
 *    ends). The clock starts when the head is complete.
 * 5. GOAWAY grace: a session told GOAWAY by rules 2–3 is destroyed H2_GOAWAY_GRACE_MS later if its
 *    open streams have not finished (node's close() would wait for them for ever). On shutdown the
 *    GOAWAY is graceful and --drain-timeout bounds it instead.
 *
 * The rules run on one timer per server (a quarter of the shorter timeout, 100 ms–30 s), never per
 * request; per request there is one 'close' listener on the stream (and, with a body, one map entry).
 */
import { constants, type Http2Session, type Http2Stream, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2';

/** HTTP/2 sessions with no request open this long are closed (GOAWAY), like an HTTP/1.1 keep-alive timeout. */
export const H2_IDLE_TIMEOUT_MS = 72_000;
/** A session told GOAWAY (idle, head timeout) is destroyed this long after if it is still open. */
export const H2_GOAWAY_GRACE_MS = 5_000;

/** The watch interval for a head timeout (node:http checks its own at the same quarter). */
export function watchIntervalMs(headerTimeoutMs: number): number {
  return Math.min(30_000, Math.max(100, Math.floor(headerTimeoutMs / 4)));
}

export interface H2SessionLimits {
  headerTimeoutMs: number;
  /** A request body must be complete this long after its head (ms); 0 = no limit. */
  bodyTimeoutMs?: number;
  /** Defaults to H2_IDLE_TIMEOUT_MS. */
  idleTimeoutMs?: number;
  /** Defaults to H2_GOAWAY_GRACE_MS. */
  goawayGraceMs?: number;
  /** Told each time a rule closes a session (the front door counts and logs it, rate-limited). */
  onClose?: (reason: SessionCloseReason, counts: Readonly<Record<SessionCloseReason, number>>) => void;
}

/** Why the front door closed a session (counted, and logged at debug by the caller if it wants). */
export type SessionCloseReason = 'preface-timeout' | 'header-timeout' | 'idle' | 'body-timeout';

interface Watched {
  readonly session: ServerHttp2Session;
  readonly openedAt: number;
  /** The client's SETTINGS arrived (the connection preface is complete). */
  settled: boolean;
  /** Highest stream id node delivered with its whole header block. */
  delivered: number;
  /** Streams delivered and not closed yet. */
  open: number;
  /** Streams whose request body is still arriving, with when their head completed. */
  readonly uploads: Map<Http2Stream, number>;
  /** When the last stream closed (or the session opened): the idle clock. */
  idleSince: number;
  /** The stream id whose head is awaited (0: none) and since when it was seen. */
  awaited: number;
  awaitedSince: number;
  goneAway: boolean;
}

/** Keeps the open HTTP/2 sessions of a server: slow-client rules, GOAWAY on shutdown, destroy leftovers. */
export class SessionSet {
  private readonly sessions = new Map<Http2Session, Watched>();
  private timer: NodeJS.Timeout | null = null;
  private readonly headerTimeoutMs: number;
  private readonly bodyTimeoutMs: number;
  private readonly idleTimeoutMs: number;
  private readonly goawayGraceMs: number;
  private readonly onClose: H2SessionLimits['onClose'];
  /** Sessions closed by the rules above, by reason (tests and metrics read it). */
  readonly closed: Record<SessionCloseReason, number> = { 'preface-timeout': 0, 'header-timeout': 0, idle: 0, 'body-timeout': 0 };

  constructor(limits: H2SessionLimits) {
    this.headerTimeoutMs = limits.headerTimeoutMs;
    this.bodyTimeoutMs = limits.bodyTimeoutMs ?? 0;
    this.idleTimeoutMs = limits.idleTimeoutMs ?? H2_IDLE_TIMEOUT_MS;
    this.goawayGraceMs = limits.goawayGraceMs ?? H2_GOAWAY_GRACE_MS;
    this.onClose = limits.onClose;
  }

  track(session: ServerHttp2Session): void {
    const now = Date.now();
    const w: Watched = { session, openedAt: now, settled: false, delivered: 0, open: 0, uploads: new Map(), idleSince: now, awaited: 0, awaitedSince: 0, goneAway: false };
    this.sessions.set(session, w);
    session.once('close', () => {
      this.sessions.delete(session);
      if (this.sessions.size === 0) this.stopTimer();
    });
    // A session error (protocol error, reset connection) ends that session only; node closes it.
    session.on('error', () => undefined);
    session.once('remoteSettings', () => {
      w.settled = true;
    });
    session.on('stream', (stream: Http2Stream) => {
      const id = stream.id ?? 0;
      if (id > w.delivered) w.delivered = id;
      w.open++;
      const uploading = this.bodyTimeoutMs > 0 && !(stream as ServerHttp2Stream).endAfterHeaders;
      if (uploading) {
        w.uploads.set(stream, Date.now());
        stream.once('end', () => w.uploads.delete(stream));
      }
      stream.once('close', () => {
        if (uploading) w.uploads.delete(stream);
        if (--w.open === 0) w.idleSince = Date.now();
      });
    });
    if (this.timer === null) {
      const shortest = this.bodyTimeoutMs > 0 ? Math.min(this.headerTimeoutMs, this.bodyTimeoutMs) : this.headerTimeoutMs;
      this.timer = setInterval(() => this.check(), watchIntervalMs(shortest));
      this.timer.unref();
    }
  }

  /** Shutdown: every session gets GOAWAY; in-flight streams still finish (the drain bounds them). */
  goaway(): void {
    for (const w of this.sessions.values()) {
      w.goneAway = true;
      w.session.close();
    }
  }

  destroyAll(): void {
    for (const session of this.sessions.keys()) session.destroy();
    this.stopTimer();
  }

  private stopTimer(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  private check(): void {
    const now = Date.now();
    for (const w of this.sessions.values()) {
      const session = w.session;
      if (w.goneAway || session.destroyed || session.closed) continue;
      if (!w.settled) {
        if (now - w.openedAt >= this.headerTimeoutMs) this.end(w, 'preface-timeout');
        continue;
      }
      const processed = session.state.lastProcStreamID ?? 0;
      if (processed > w.delivered) {
        if (w.awaited !== processed) {
          w.awaited = processed;
          w.awaitedSince = now;
        } else if (now - w.awaitedSince >= this.headerTimeoutMs) {
          this.end(w, 'header-timeout');
          continue;
        }
      } else {
        w.awaited = 0;
      }
      if (w.open === 0 && now - w.idleSince >= this.idleTimeoutMs) this.end(w, 'idle');
      for (const [stream, since] of w.uploads) {
        if (now - since < this.bodyTimeoutMs) continue;
        w.uploads.delete(stream);
        this.closed['body-timeout']++;
        this.onClose?.('body-timeout', this.closed);
        stream.close(constants.NGHTTP2_CANCEL);
      }
    }
  }

  private end(w: Watched, reason: SessionCloseReason): void {
    this.closed[reason]++;
    this.onClose?.(reason, this.closed);
    w.goneAway = true;
    const session = w.session;
    if (reason === 'preface-timeout') {
      session.destroy();
      return;
    }
    session.close(); // GOAWAY: no new streams; with none open node closes the connection at once
    const grace = setTimeout(() => session.destroy(), this.goawayGraceMs);
    grace.unref();
    session.once('close', () => clearTimeout(grace));
  }
}
