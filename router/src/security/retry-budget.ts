/**
 * Retry budget (as Finagle's RetryBudget / Envoy's retry_budget): retries may be at most
 * `percent` % of the requests of the last WINDOW_MS, plus a small reserve so a quiet router can still
 * retry the odd failure. Beyond it a failed attempt gets 502 instead of another attempt, so a fleet
 * that is failing is not hit with extra load (retries cannot amplify an outage).
 *
 * Token-bucket style over a sliding window: each request deposits percent/100 of a token, each
 * retry takes one, and deposits expire after WINDOW_MS (10 one-second slots: fixed memory).
 */

/** How far back "recent traffic" reaches. */
export const RETRY_BUDGET_WINDOW_MS = 10_000;
/** Retries allowed per window whatever the traffic (so a single failure on a quiet router is retried). */
export const RETRY_BUDGET_RESERVE = 10;
const SLOTS = 10;
const SLOT_MS = RETRY_BUDGET_WINDOW_MS / SLOTS;

export class RetryBudget {
  private readonly requests = new Array<number>(SLOTS).fill(0);
  private readonly retries = new Array<number>(SLOTS).fill(0);
  /** Index (absolute slot number) of the newest slot in use. */
  private slot = 0;
  /** Retries refused because the budget was spent (for logs and metrics). */
  exhausted = 0;

  constructor(
    /** 0..100: retries as a percentage of recent requests. */
    private readonly percent: number,
    private readonly reserve = RETRY_BUDGET_RESERVE,
  ) {}

  /** A new request arrived (its first attempt). */
  recordRequest(now: number): void {
    this.requests[this.advance(now)]!++;
  }

  /** True (and the retry counted) if one more retry fits the budget now. */
  tryRetry(now: number): boolean {
    const i = this.advance(now);
    let requests = 0;
    let retries = 0;
    for (let k = 0; k < SLOTS; k++) {
      requests += this.requests[k]!;
      retries += this.retries[k]!;
    }
    if (retries >= this.reserve + (requests * this.percent) / 100) {
      this.exhausted++;
      return false;
    }
    this.retries[i]!++;
    return true;
  }

  /** Moves to the slot for `now`, clearing slots that fell out of the window; returns its index. */
  private advance(now: number): number {
    const current = Math.floor(now / SLOT_MS);
    if (current > this.slot) {
      const steps = Math.min(current - this.slot, SLOTS);
      for (let k = 1; k <= steps; k++) {
        const i = (this.slot + k) % SLOTS;
        this.requests[i] = 0;
        this.retries[i] = 0;
      }
      this.slot = current;
    }
    return this.slot % SLOTS;
  }
}
