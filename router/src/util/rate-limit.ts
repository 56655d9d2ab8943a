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
