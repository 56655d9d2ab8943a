/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/): the router does not take part in a
 * trace, it passes `traceparent` and `tracestate` through untouched — but only well-formed ones,
 * so a worker's tracer never chokes on garbage. An invalid traceparent is dropped together with
 * its tracestate (§3.3.1.1: tracestate is meaningless without a valid traceparent); an invalid
 * tracestate is dropped alone.
 */

/**
 * version "-" trace-id "-" parent-id "-" flags, lower-case hex. Version ff is invalid; a future
 * version may append "-"-separated fields after the first 55 characters (§3.2.4).
 */
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ALL_ZERO_TRACE = '0'.repeat(32);
const ALL_ZERO_PARENT = '0'.repeat(16);

export function isValidTraceparent(value: string): boolean {
  const m = TRACEPARENT.exec(value);
  if (m === null) return false;
  const version = m[1]!;
  if (version === 'ff') return false;
  if (version === '00' && m[5] !== undefined) return false; // version 00 is exactly 55 characters
  return m[2] !== ALL_ZERO_TRACE && m[3] !== ALL_ZERO_PARENT;
}

/** simple-key / tenant@system key and value as in §3.3.1.3. */
const TRACESTATE_MEMBER =
  /^(?:[a-z][a-z0-9_\-*/]{0,255}|[a-z0-9][a-z0-9_\-*/]{0,240}@[a-z][a-z0-9_\-*/]{0,13})=[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;
/** At most 32 list members (§3.3.1.1). */
const MAX_TRACESTATE_MEMBERS = 32;
/** Longest combined tracestate passed on; vendors must propagate at least 512 characters. */
const MAX_TRACESTATE_LENGTH = 8192;

/** `value` is the combined tracestate (several header lines joined by ","). */
export function isValidTracestate(value: string): boolean {
  if (value.length > MAX_TRACESTATE_LENGTH) return false;
  const members = value.split(',');
  let count = 0;
  const keys = new Set<string>();
  for (const raw of members) {
    const member = raw.trim();
    if (member === '') continue; // empty list members are allowed and ignored
    if (++count > MAX_TRACESTATE_MEMBERS || !TRACESTATE_MEMBER.test(member)) return false;
    const key = member.slice(0, member.indexOf('='));
    if (keys.has(key)) return false; // a key appears at most once
    keys.add(key);
  }
  return true;
}

/**
 * Appends the trace headers that may pass to `headers` (a flat [name, value, …] list).
 * `traceparents` counts the traceparent header lines seen: more than one is invalid (§3.2).
 * `tracestate` is every tracestate line joined by ",".
 */
export function appendTraceContext(headers: string[], traceparent: string | undefined, traceparents: number, tracestate: string | undefined): void {
  if (traceparent === undefined || traceparents !== 1) return;
  const parent = traceparent.trim();
  if (!isValidTraceparent(parent)) return;
  headers.push('traceparent', parent);
  if (tracestate !== undefined && isValidTracestate(tracestate)) headers.push('tracestate', tracestate);
}
