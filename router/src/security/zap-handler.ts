/**
 * The ZAP handler (ZeroMQ RFC 27) behind the router's CURVE server socket: a REP socket bound to
 * `inproc://zeromq.zap.01` in the router socket's own context, answering every CURVE handshake with
 * 200 when the client's public key is in the allowlist and 400 otherwise. A denied worker never
 * completes the handshake, so it can never register nor receive a request.
 *
 * One handler per context: the router uses a context of its own when CURVE is on, so several routers
 * in one process (tests) each have their own allowlist. Denials are counted always and logged at most
 * once per key per interval, and at most a few lines per interval overall.
 */
import { Reply, type Context } from 'zeromq';
import type { Logger } from 'pino';
import { z85Encode, CURVE_KEY_BYTES } from '../../../proto/src/curve-keys.ts';
import { PerKeyRateLimit } from '../util/rate-limit.ts';
import { readAllowlist } from './allowlist.ts';
import type { DropCounters } from './drop-counters.ts';

const ZAP_ENDPOINT = 'inproc://zeromq.zap.01';
const ZAP_VERSION = '1.0';
/** Denial log lines: per key at most once per this interval… */
const DENIED_LOG_INTERVAL_MS = 10_000;
/** …and at most this many lines per interval in all (a peer rotating keys cannot flood the log). */
const DENIED_LOG_LINES_PER_INTERVAL = 10;

export class ZapHandler {
  private readonly socket: Reply;
  private allowed: Set<string>;
  private readonly deniedLogs = new PerKeyRateLimit(DENIED_LOG_INTERVAL_MS);
  private logWindowStart = 0;
  private logLinesInWindow = 0;
  private suppressed = 0;
  private serving: Promise<void> | null = null;
  private closed = false;
  /** Handshakes answered, for logs and tests. */
  allowedCount = 0;
  deniedCount = 0;

  constructor(
    context: Context,
    /** File or directory of allowed public keys (re-read by reload()). */
    private readonly allowlistPath: string,
    private readonly log: Logger,
    private readonly drops: DropCounters,
  ) {
    // Read first: a bad allowlist fails the start instead of letting everyone (or no one) in.
    this.allowed = readAllowlist(allowlistPath);
    this.socket = new Reply({ context, linger: 0 });
  }

  get size(): number {
    return this.allowed.size;
  }

  /** Binds the ZAP endpoint; must resolve before the CURVE socket accepts connections. */
  async start(): Promise<void> {
    await this.socket.bind(ZAP_ENDPOINT);
    this.serving = this.serve();
    this.log.info({ allowWorkers: this.allowlistPath, keys: this.allowed.size }, 'curve allowlist loaded');
  }

  /** Re-reads the allowlist (SIGHUP). A bad file keeps the old list and says why. */
  reload(): void {
    try {
      const next = readAllowlist(this.allowlistPath);
      this.allowed = next;
      this.log.info({ allowWorkers: this.allowlistPath, keys: next.size }, 'curve allowlist reloaded');
    } catch (err) {
      this.log.error({ allowWorkers: this.allowlistPath, err: (err as Error).message }, 'curve allowlist reload failed, keeping the old list');
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.socket.close();
    await this.serving?.catch(() => undefined);
  }

  private async serve(): Promise<void> {
    const socket = this.socket;
    while (!this.closed) {
      let frames: Buffer[];
      try {
        frames = await socket.receive();
      } catch {
        if (this.closed || socket.closed) return;
        continue;
      }
      const reply = this.answer(frames);
      try {
        await socket.send(reply);
      } catch {
        if (this.closed || socket.closed) return;
      }
    }
  }

  /** RFC 27: [version, requestId, domain, address, identity, mechanism, credentials…] → reply frames. */
  private answer(frames: Buffer[]): (string | Buffer)[] {
    const requestId = frames[1] ?? Buffer.alloc(0);
    const reply = (status: string, text: string, userId = ''): (string | Buffer)[] => [ZAP_VERSION, requestId, status, text, userId, Buffer.alloc(0)];
    if (frames.length < 6 || frames[0]!.toString() !== ZAP_VERSION) return reply('500', 'bad ZAP request');
    const address = frames[3]!.toString();
    const mechanism = frames[5]!.toString();
    const credential = frames[6];
    if (mechanism !== 'CURVE' || credential === undefined || credential.length !== CURVE_KEY_BYTES) {
      this.deny(`(${mechanism})`, address);
      return reply('400', 'CURVE required');
    }
    const key = z85Encode(credential);
    if (!this.allowed.has(key)) {
      this.deny(key, address);
      return reply('400', 'key not allowed');
    }
    this.allowedCount++;
    return reply('200', 'OK', key);
  }

  private deny(key: string, address: string): void {
    this.deniedCount++;
    this.drops.count('curve_denied');
    const now = Date.now();
    if (!this.deniedLogs.allow(key, now)) return;
    if (now - this.logWindowStart >= DENIED_LOG_INTERVAL_MS) {
      this.logWindowStart = now;
      this.logLinesInWindow = 0;
    }
    if (this.logLinesInWindow >= DENIED_LOG_LINES_PER_INTERVAL) {
      this.suppressed++;
      return;
    }
    this.logLinesInWindow++;
    this.log.warn({ publicKey: key, address, denied: this.deniedCount, suppressedLines: this.suppressed }, 'worker key denied');
    this.suppressed = 0;
  }
}
