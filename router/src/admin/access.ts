/**
 * Who may read the admin endpoint (issue 11 item 10).
 *
 * The endpoint shows worker ids, pools, HELLO meta (a bridge's backend URL), request rates and
 * latencies. Two checks guard it:
 *
 * 1. **Host** (DNS rebinding): a page on attacker.example whose name is re-pointed at 127.0.0.1 can
 *    make a browser on the router's host read the endpoint, but the browser still sends
 *    `Host: attacker.example`. Only Host names the operator means are answered: loopback names
 *    (`localhost`, `127.0.0.1`, `::1`), the address the endpoint is bound to, when bound to a wildcard
 *    address this machine's own interface addresses and host name, and names given with
 *    `--admin-allowed-hosts`. Anything else (or no Host) gets **421 Misdirected Request**: the
 *    request reached a server that does not serve that authority (RFC 9110 §15.5.20).
 * 2. **Bearer token** (`--admin-token`, or ZEROPROXY_ADMIN_TOKEN so it stays out of `ps`): when set,
 *    every data route needs `Authorization: Bearer <token>` (compared in constant time), else 401
 *    with `WWW-Authenticate: Bearer`. `/healthz`, `/readyz` (up/ready and a reason, for probes that
 *    cannot send headers) and `/` (the static dashboard page, no data: it sends the token itself,
 *    taken from the URL fragment `#token=…`) stay open.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { hostname, networkInterfaces } from 'node:os';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import type { Logger } from 'pino';
import { textReply, type AdminReply } from './reply.ts';

/** A token shorter than this is refused at start: it would be guessable. */
export const MIN_ADMIN_TOKEN_LENGTH = 16;
/** The environment variable the CLI reads the token from when --admin-token is absent. */
export const ADMIN_TOKEN_ENV = 'ZEROPROXY_ADMIN_TOKEN';
/** Routes answered without the token (no data beyond up/ready). */
const OPEN_ROUTES = new Set(['/healthz', '/readyz', '/']);
/** Refusals are logged at most this often (anyone can send them at any rate). */
const REFUSAL_LOG_INTERVAL_MS = 5000;

export const MISDIRECTED_BODY = 'misdirected request: this admin endpoint answers only to its own address or a loopback name (see --admin-allowed-hosts)\n';
export const UNAUTHORIZED_BODY = 'unauthorized: send Authorization: Bearer <admin token>\n';

export interface AdminAccessOptions {
  /** The address the endpoint is bound to (e.g. 127.0.0.1, 0.0.0.0, ::). */
  bindHost: string;
  /** Bearer token required on data routes; none: no token check. */
  token?: string;
  /** Extra Host names (DNS names the operator uses, e.g. the one Prometheus scrapes). */
  allowedHosts?: readonly string[];
}

/** `name`, `name:port`, `[v6]`, `[v6]:port` → the lower-case name without brackets or trailing dot. */
export function hostName(host: string): string {
  let name = host.trim().toLowerCase();
  if (name.startsWith('[')) {
    const end = name.indexOf(']');
    name = end < 0 ? name : name.slice(1, end);
  } else {
    const colon = name.indexOf(':');
    if (colon >= 0 && name.indexOf(':', colon + 1) < 0) name = name.slice(0, colon);
  }
  return name.endsWith('.') ? name.slice(0, -1) : name;
}

function isWildcard(host: string): boolean {
  return host === '' || host === '0.0.0.0' || host === '::' || host === '[::]';
}

/** The Host names this endpoint answers to. */
export function allowedHostNames(o: AdminAccessOptions): Set<string> {
  const names = new Set(['localhost', '127.0.0.1', '::1']);
  if (isWildcard(o.bindHost)) {
    // Reachable on every interface: its own addresses and host name are the operator's names.
    for (const list of Object.values(networkInterfaces())) {
      for (const a of list ?? []) names.add(hostName(a.address));
    }
    names.add(hostname().toLowerCase());
  } else {
    names.add(hostName(o.bindHost));
  }
  for (const h of o.allowedHosts ?? []) names.add(hostName(h));
  return names;
}

/** Constant-time check of an Authorization header against the token's digest. */
export function bearerMatches(authorization: string | undefined, tokenDigest: Buffer): boolean {
  if (authorization === undefined) return false;
  const m = /^bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization);
  if (m === null) return false;
  return timingSafeEqual(createHash('sha256').update(m[1]!).digest(), tokenDigest);
}

export function checkAdminToken(token: string): string {
  if (token.length < MIN_ADMIN_TOKEN_LENGTH || /\s/.test(token)) {
    throw new RangeError(`the admin token must be at least ${MIN_ADMIN_TOKEN_LENGTH} characters without spaces (e.g. openssl rand -hex 32)`);
  }
  return token;
}

/** The Host and token checks in front of every admin route (routes.ts runs it first). */
export function adminAccessCheck(o: AdminAccessOptions, log: Logger): (req: IncomingMessage) => AdminReply | null {
  const allowed = allowedHostNames(o);
  const digest = o.token === undefined ? null : createHash('sha256').update(checkAdminToken(o.token)).digest();
  let lastLog = 0;
  const refused = (reason: string, details: Record<string, unknown>): void => {
    const now = Date.now();
    if (now - lastLog < REFUSAL_LOG_INTERVAL_MS) return;
    lastLog = now;
    log.warn({ ...details, reason }, 'admin request refused');
  };
  return (request) => {
    const host = request.headers.host;
    const name = host === undefined ? '' : hostName(host);
    if (!allowed.has(name) && !(isIP(name) !== 0 && name === hostName(request.socket.localAddress ?? ''))) {
      refused('host', { host: host?.slice(0, 100), remote: request.socket.remoteAddress });
      return textReply(421, 'text/plain; charset=utf-8', MISDIRECTED_BODY);
    }
    if (digest === null) return null;
    const path = (request.url ?? '/').split('?', 1)[0]!;
    if (OPEN_ROUTES.has(path)) return null;
    if (!bearerMatches(request.headers.authorization, digest)) {
      refused('token', { remote: request.socket.remoteAddress, path: path.slice(0, 100) });
      return { status: 401, headers: { 'www-authenticate': 'Bearer realm="zeroproxy admin"', 'content-type': 'text/plain; charset=utf-8' }, body: UNAUTHORIZED_BODY };
    }
    return null;
  };
}
