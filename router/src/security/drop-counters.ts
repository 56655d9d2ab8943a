/**
 * Counts of everything the router dropped instead of acting on, by reason: the one place these
 * counters live (metrics read `snapshot()`), so no drop is silent. Reasons are a closed set plus the
 * protocol decode error codes (ZP_ERR_*), so the table is bounded.
 */
import type { DecodeErrorCode } from '../../../proto/src/index.ts';

export type DropReason =
  /** A decode error (the pair could not be read): counted under its ZP_ERR_* code. */
  | DecodeErrorCode
  /** A message other than HELLO from a peer that is not registered. */
  | 'unknown_peer'
  /** A HELLO the router refused (version, HELLO budget, meta size, workerId held by another session, too many workers). */
  | 'hello_refused'
  /** A message type a worker never sends (REQ, WELCOME). */
  | 'unexpected_type'
  /** DATA/RES/WINDOW/RST for a stream not assigned to the sending worker (another's, or none). */
  | 'stream_not_owned'
  /** A late frame for a stream the router already reset on that worker. */
  | 'stream_after_reset'
  /** CREDIT that would take a worker past --max-worker-streams (the excess is dropped). */
  | 'credit_over_cap'
  /** A CURVE handshake the ZAP allowlist refused. */
  | 'curve_denied';

export class DropCounters {
  private readonly counts = new Map<DropReason, number>();
  /** Bumped on every count, so a reporter can tell whether anything changed. */
  version = 0;

  count(reason: DropReason, n = 1): void {
    this.counts.set(reason, (this.counts.get(reason) ?? 0) + n);
    this.version++;
  }

  get(reason: DropReason): number {
    return this.counts.get(reason) ?? 0;
  }

  get total(): number {
    let sum = 0;
    for (const n of this.counts.values()) sum += n;
    return sum;
  }

  /** A plain object copy, reasons sorted (for logs and metrics). */
  snapshot(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const reason of [...this.counts.keys()].sort()) out[reason] = this.counts.get(reason)!;
    return out;
  }
}
