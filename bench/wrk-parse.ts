/**
 * Parses what `wrk --latency` prints. Only the numbers the report needs; a line that is missing or
 * malformed gives a WrkParseError naming it, never a NaN in the results.
 */

export interface WrkResult {
  requests: number;
  durationSec: number;
  requestsPerSec: number;
  /** Latency percentiles in milliseconds. */
  p50Ms: number;
  p75Ms: number;
  p90Ms: number;
  p99Ms: number;
  /** Responses with a status outside 2xx/3xx (wrk: "Non-2xx or 3xx responses"). */
  non2xx: number;
  socketErrors: { connect: number; read: number; write: number; timeout: number };
}

export class WrkParseError extends Error {
  override readonly name = 'WrkParseError';
  constructor(
    readonly field: string,
    readonly output: string,
  ) {
    super(`wrk output has no parsable ${field}`);
  }
}

/** Milliseconds per unit as [multiply, divide] so "347.00us" gives exactly 0.347. */
const TIME_UNITS_MS: Readonly<Record<string, readonly [number, number]>> = { us: [1, 1000], ms: [1, 1], s: [1000, 1], m: [60_000, 1], h: [3_600_000, 1] };

/** "748.00us" → 0.748 (ms). */
export function parseWrkTime(text: string): number | undefined {
  const m = /^([\d.]+)(us|ms|s|m|h)$/.exec(text.trim());
  if (!m) return undefined;
  const value = Number(m[1]);
  const unit = TIME_UNITS_MS[m[2]!];
  return Number.isFinite(value) && unit !== undefined ? (value * unit[0]) / unit[1] : undefined;
}

function percentile(output: string, pct: string): number {
  const m = new RegExp(`^\\s*${pct}%\\s+(\\S+)\\s*$`, 'm').exec(output);
  const ms = m ? parseWrkTime(m[1]!) : undefined;
  if (ms === undefined) throw new WrkParseError(`${pct}% latency`, output);
  return ms;
}

export function parseWrkOutput(output: string): WrkResult {
  const total = /^\s*(\d+) requests in ([\d.]+)(us|ms|s|m|h)/m.exec(output);
  if (!total) throw new WrkParseError('"N requests in T" line', output);
  const durationMs = parseWrkTime(`${total[2]}${total[3]}`);
  if (durationMs === undefined) throw new WrkParseError('duration', output);
  const rps = /^Requests\/sec:\s+([\d.]+)/m.exec(output);
  if (!rps) throw new WrkParseError('Requests/sec', output);
  const non2xx = /^\s*Non-2xx or 3xx responses:\s+(\d+)/m.exec(output);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  return {
    requests: Number(total[1]),
    durationSec: durationMs / 1000,
    requestsPerSec: Number(rps[1]),
    p50Ms: percentile(output, '50'),
    p75Ms: percentile(output, '75'),
    p90Ms: percentile(output, '90'),
    p99Ms: percentile(output, '99'),
    non2xx: non2xx ? Number(non2xx[1]) : 0,
    socketErrors: sock
      ? { connect: Number(sock[1]), read: Number(sock[2]), write: Number(sock[3]), timeout: Number(sock[4]) }
      : { connect: 0, read: 0, write: 0, timeout: 0 },
  };
}

/** Errors of any kind as one number, for the "errors" column. */
export function errorCount(r: WrkResult): number {
  const s = r.socketErrors;
  return r.non2xx + s.connect + s.read + s.write + s.timeout;
}
