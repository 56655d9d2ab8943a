/**
 * Bounded waiting. Every wait in the integration suite goes through here so that none can hang:
 * each has a deadline and says what it was waiting for when the deadline passes.
 */

/** Rejects with a message naming `what` if `promise` has not settled within `timeoutMs`. */
export async function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Polls `check` every `intervalMs` until it returns a value other than undefined, or rejects after
 * `timeoutMs`. Only for state nothing announces (a file's contents, /proc); events are preferred.
 */
export async function pollUntil<T>(
  check: () => T | undefined | Promise<T | undefined>,
  timeoutMs: number,
  what: string,
  intervalMs = 25,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * Waits until `arm`'s wake function is called or `ms` pass, whichever is first; the caller then
 * checks its condition again. For event-driven waits in test doubles (one pending waiter each).
 */
export function wakeOrTimeout(ms: number, arm: (wake: (() => void) | null) => void): Promise<void> {
  return new Promise<void>((resolve) => {
    // (On timeout the wake function stays armed: calling it later is harmless, and clearing it could
    // disarm a newer waiter's.)
    const timer = setTimeout(resolve, ms);
    arm(() => {
      clearTimeout(timer);
      arm(null);
      resolve();
    });
  });
}
