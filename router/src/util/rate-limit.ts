/**
 * "At most once per interval per key", with a bounded key table: used for ERROR unknown_peer answers
 * and for decode-error log lines, so a noisy or hostile peer cannot flood the network or the log.
 */
const MAX_KEYS = 10_000;

export class PerKeyRateLimit {
  private readonly last = new Map<string, number>();

  constructor(private readonly intervalMs: number) {}

  /** True if `key` may act now (and records that it did). */
  allow(key: string, now: number): boolean {
    const at = this.last.get(key);
    if (at !== undefined && now - at < this.intervalMs) return false;
    // Bounded: forgetting everyone at worst allows one extra action per key.
    if (at === undefined && this.last.size >= MAX_KEYS) this.last.clear();
    this.last.set(key, now);
    return true;
  }
}

/**
 * "At most `burst` actions per interval per key" (a fixed window per key), with the same bounded key
 * table: the HELLO budget of one connection, so a peer repeating HELLO cannot make the router
 * register, fail streams and log without end.
 */
export class PerKeyBudget {
  private readonly windows = new Map<string, { start: number; used: number }>();

  constructor(
    private readonly intervalMs: number,
    private readonly burst: number,
  ) {}

  /** True if `key` may act now (and counts it). */
  allow(key: string, now: number): boolean {
    let w = this.windows.get(key);
    if (w === undefined) {
      if (this.windows.size >= MAX_KEYS) this.windows.clear();
      w = { start: now, used: 0 };
      this.windows.set(key, w);
    } else if (now - w.start >= this.intervalMs) {
      w.start = now;
      w.used = 0;
    }
    return ++w.used <= this.burst;
  }

  /** Forgets `key` (its connection closed): the table holds only live peers in the common case. */
  forget(key: string): void {
    this.windows.delete(key);
  }
}
