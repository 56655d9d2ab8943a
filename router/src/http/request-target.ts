/**
 * The request target as the router forwards and routes it (docs/guarantees.md, "One normalised request target"):
 *
 * - origin-form (`/path?query`) is the normal case; `*` only for OPTIONS (RFC 9112 §3.2.4);
 * - absolute-form (`http://host/path`, HTTP/1.1 only) becomes origin-form and its authority
 *   replaces Host, as RFC 9112 §3.2.2 asks of a server ("MUST ignore the received Host");
 *   userinfo in it is an error (RFC 9110 §4.2.4); HTTP/2 must send origin-form (RFC 9113 §8.3.1);
 * - the path is normalised once, before routing, and that normalised path is what the worker gets
 *   (REQ.path, proto/SPEC.md): matching on one form and forwarding another re-opens the bypass at
 *   the backend. Normalisation, as nginx does it: percent-encoded unreserved characters
 *   (`%2e`, `%41`, …: RFC 3986 §6.2.2.2 says they are the same URI) are decoded, every other
 *   escape is left exactly as sent — notably `%2F` stays a character of its segment, never a
 *   separator — repeated slashes are merged (nginx's merge_slashes), and dot-segments are removed
 *   (RFC 3986 §5.2.4). A `..` that would climb above the root is refused (400), as nginx does,
 *   instead of being clamped. The query is never touched.
 *
 * Cost: most paths contain none of "/.", "%" or "//": three native substring scans and the path
 * is returned as it came.
 */
import type { RouterErrorCode } from '../errors.ts';

export interface RequestTarget {
  /** The origin-form target to route on and forward (normalised path + the raw query). */
  path: string;
  /** The authority of an absolute-form target (replaces Host), or null. */
  authority: string | null;
  /** Why the target is refused, or null when it is fine. */
  problem: RouterErrorCode | null;
}

/**
 * A Host / :authority value: uri-host [ ":" port ] (RFC 9110 §7.2, RFC 3986 §3.2.2). IP literals
 * are kept loose (hex, ':' and '.'), reg-name is the RFC's character set; no userinfo, no spaces.
 */
const VALID_AUTHORITY = /^(?:\[[0-9A-Za-z:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]+)(?::[0-9]{0,5})?$/;

export function isValidAuthority(value: string): boolean {
  return VALID_AUTHORITY.test(value);
}

const ABSOLUTE_FORM = /^https?:\/\//i;

function refused(problem: RouterErrorCode): RequestTarget {
  return { path: '/', authority: null, problem };
}

/**
 * Parses and normalises a request target. `http1`: absolute-form is allowed (HTTP/1.1 proxies
 * and some clients send it); HTTP/2's :path must be origin-form or `*`.
 */
export function parseRequestTarget(url: string, method: string, http1: boolean): RequestTarget {
  if (url.charCodeAt(0) === 0x2f /* '/' */) {
    const path = normalizeTarget(url);
    return path === null ? refused('ZP_ERR_BAD_TARGET') : { path, authority: null, problem: null };
  }
  if (url === '*') return method === 'OPTIONS' ? { path: url, authority: null, problem: null } : refused('ZP_ERR_BAD_TARGET');
  if (!http1 || !ABSOLUTE_FORM.test(url)) return refused('ZP_ERR_BAD_TARGET');
  const start = url.indexOf('//') + 2;
  let end = start;
  while (end < url.length) {
    const c = url.charCodeAt(end);
    if (c === 0x2f /* / */ || c === 0x3f /* ? */ || c === 0x23 /* # */) break;
    end++;
  }
  const authority = url.slice(start, end);
  // userinfo ("user:pass@host") is refused by the authority syntax ('@' is not allowed).
  if (!isValidAuthority(authority)) return refused('ZP_ERR_BAD_TARGET');
  const rest = url.slice(end);
  const path = normalizeTarget(rest.charCodeAt(0) === 0x2f ? rest : `/${rest}`);
  return path === null ? refused('ZP_ERR_BAD_TARGET') : { path, authority, problem: null };
}

/** Whether `%XY` (hex digits) encodes an RFC 3986 unreserved character: ALPHA DIGIT - . _ ~ */
function unreservedEscape(hi: number, lo: number): string | null {
  const h = hexValue(hi);
  const l = hexValue(lo);
  if (h < 0 || l < 0) return null;
  const code = h * 16 + l;
  if ((code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a) || (code >= 0x30 && code <= 0x39) || code === 0x2d || code === 0x2e || code === 0x5f || code === 0x7e) {
    return String.fromCharCode(code);
  }
  return null;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/**
 * An origin-form target (starting with "/") normalised as the file comment says, or null when a
 * `..` climbs above the root. Returns `target` itself when there is nothing to do.
 */
export function normalizeTarget(target: string): string | null {
  // The fast path, on the whole target first (no slice): none of the three means nothing to do.
  if (target.indexOf('/.') < 0 && target.indexOf('%') < 0 && target.indexOf('//') < 0) return target;
  const q = target.indexOf('?');
  const path = q < 0 ? target : target.slice(0, q);
  // Again on the path alone: no dot-segment can exist without "/.", no escape without "%", no empty segment without "//".
  if (path.indexOf('/.') < 0 && path.indexOf('%') < 0 && path.indexOf('//') < 0) return target;
  const normalized = normalizePath(path);
  if (normalized === null) return null;
  return q < 0 ? normalized : normalized + target.slice(q);
}

function decodeUnreserved(path: string): string {
  if (path.indexOf('%') < 0) return path;
  let out = '';
  let from = 0;
  for (let i = path.indexOf('%'); i >= 0 && i + 2 < path.length; i = path.indexOf('%', i + 1)) {
    const decoded = unreservedEscape(path.charCodeAt(i + 1), path.charCodeAt(i + 2));
    if (decoded === null) continue;
    out += path.slice(from, i) + decoded;
    from = i + 3;
    i += 2;
  }
  return from === 0 ? path : out + path.slice(from);
}

function normalizePath(rawPath: string): string | null {
  const path = decodeUnreserved(rawPath);
  const segments = path.split('/'); // segments[0] is '' (the path starts with '/')
  const out: string[] = [];
  // Whether the result ends with "/": after ".", "..", or an empty last segment ("/a/").
  let trailingSlash = false;
  for (let i = 1; i < segments.length; i++) {
    const segment = segments[i]!;
    const last = i === segments.length - 1;
    if (segment === '' || segment === '.') {
      trailingSlash = last; // merged slash or "." — nothing kept
      continue;
    }
    if (segment === '..') {
      if (out.length === 0) return null; // above the root: refused, as nginx does
      out.pop();
      trailingSlash = last;
      continue;
    }
    out.push(segment);
    trailingSlash = false;
  }
  if (out.length === 0) return '/';
  return `/${out.join('/')}${trailingSlash ? '/' : ''}`;
}
