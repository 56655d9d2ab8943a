/**
 * Joining the backend prefix and a request path without ever leaving the prefix (issue 11 item 7).
 *
 * The router normalises the paths it matches routes on; this check is defence in depth in the bridge
 * itself, because a `--forward http://host/app` bridge must never make `/app/../secret` out of a
 * request, whatever router (or rogue peer) sent the REQ. The backend or a server behind it may
 * resolve dot segments itself, and many decode `%2e` and `%2f` (and `\` on Windows servers) first,
 * so all of those count as dots and slashes here.
 *
 * Choice: a path whose dot segments would climb above the prefix's root is refused (400), not
 * "fixed" — it has no meaning a client could rely on. Anything else is forwarded unchanged (a
 * `/a/../b` that stays inside the prefix reaches the backend as sent).
 */

/** A climbing segment needs `..` written with dots, `%2e`, or a `\` separator (see mayClimb). */
const ENCODED_DOT_TEST = /%2e/i;

/** What a backend may read as `.`, `/`: literal, percent-encoded, or a backslash. */
const ENCODED_DOT = /%2e/gi;
const SEPARATORS = /%2f|%5c|\\/gi;

/**
 * True if `path` (origin-form, query allowed) stays inside the root it is appended to: it starts
 * with `/` and no prefix of its segments has more `..` than ordinary segments.
 */
export function staysInsidePrefix(path: string): boolean {
  if (path.charCodeAt(0) !== 0x2f /* / */) return false;
  if (!mayClimb(path)) return true; // the common case: three native scans, no allocation
  const q = path.indexOf('?');
  const p = q < 0 ? path : path.slice(0, q);
  const segments = p.replace(ENCODED_DOT, '.').replace(SEPARATORS, '/').split('/');
  let depth = 0;
  // segments[0] is the empty string before the leading '/'
  for (let i = 1; i < segments.length; i++) {
    // Tomcat-style path parameters: `..;x` is read as `..` by some servers.
    const raw = segments[i]!;
    const semi = raw.indexOf(';');
    const s = semi < 0 ? raw : raw.slice(0, semi);
    if (s === '..') {
      if (--depth < 0) return false;
    } else if (s !== '' && s !== '.') {
      depth++;
    }
  }
  return true;
}

/** False when `path` (query included: a false alarm there only costs the exact check) cannot climb. */
function mayClimb(path: string): boolean {
  return path.includes('..') || path.includes('\\') || (path.includes('%') && ENCODED_DOT_TEST.test(path));
}

/** The client-facing body of the 400 (no backend address: that stays in the log). */
export const PATH_REFUSED_BODY = 'bad request: the path leaves the forwarded prefix\n';
