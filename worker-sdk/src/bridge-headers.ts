/**
 * Header conversion for the `--forward` bridge, in flat [name, value, …] lists end to end: the
 * router's list goes to undici as is (undici takes flat arrays), and undici's raw response headers
 * (Buffers) come back as a flat list without the per-request object undici's `parseHeaders` builds.
 * Order and repeated fields (set-cookie) are kept exactly as the other side sent them.
 */
import type { HeaderList } from '../../proto/src/index.ts';

/** Connection-scoped fields (RFC 9110 §7.6.1) plus those undici refuses to forward. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
  'expect',
]);

/** The field names a Connection header value lists (they are hop-by-hop too). */
function connectionTokens(list: readonly string[]): Set<string> | undefined {
  let named: Set<string> | undefined;
  for (let i = 0; i < list.length; i += 2) {
    if (list[i]!.toLowerCase() === 'connection') {
      named ??= new Set();
      for (const token of list[i + 1]!.split(',')) named.add(token.trim().toLowerCase());
    }
  }
  return named;
}

/** Drops hop-by-hop fields, every field the Connection header names and pseudo-headers; names
 * come out lower-case. */
export function stripHopByHop(list: HeaderList): HeaderList {
  const named = connectionTokens(list);
  const out: HeaderList = [];
  for (let i = 0; i < list.length; i += 2) {
    const name = list[i]!.toLowerCase();
    if (HOP_BY_HOP.has(name) || named?.has(name) || name.charCodeAt(0) === 0x3a /* ':' */) continue;
    out.push(name, list[i + 1]!);
  }
  return out;
}

/**
 * The headers sent to the backend: the client's fields minus hop-by-hop ones, and the client's
 * Host (from :authority when the list has none) — the backend sees the request as the client sent
 * it, X-Forwarded-* included. One pass; the Connection scan runs only when that field is there.
 * Names are lower-case by SPEC.md, but a router that breaks that must not smuggle a hop-by-hop field
 * past the filter, so they are lower-cased again (cheap: V8 returns a lower-case string as is).
 */
export function backendRequestHeaders(list: HeaderList, authority: string): HeaderList {
  const out: HeaderList = [];
  let hasHost = false;
  let hasConnection = false;
  for (let i = 0; i < list.length; i += 2) {
    const name = list[i]!.toLowerCase();
    if (HOP_BY_HOP.has(name) || name.charCodeAt(0) === 0x3a) {
      if (name === 'connection') hasConnection = true;
      continue;
    }
    if (name === 'host') hasHost = true;
    out.push(name, list[i + 1]!);
  }
  if (!hasHost && authority) out.push('host', authority);
  return hasConnection ? dropNamed(out, connectionTokens(list)!) : out;
}

function dropNamed(list: HeaderList, named: Set<string>): HeaderList {
  const out: HeaderList = [];
  for (let i = 0; i < list.length; i += 2) if (!named.has(list[i]!)) out.push(list[i]!, list[i + 1]!);
  return out;
}

/**
 * undici's raw response headers ([name, value, …] as Buffers, as received) → a flat list with
 * lower-case names, hop-by-hop and Proxy-* fields dropped. Bytes are read as latin1, as undici itself does.
 */
export function backendResponseHeaders(raw: readonly Buffer[]): HeaderList {
  const out: HeaderList = [];
  let hasConnection = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toString('latin1').toLowerCase();
    // Proxy-* fields are about the hop to the backend, never the client's (RFC 9110 §7.6.1, §11.7).
    // Content-Length stays: undici already held the body to it, and the router checks it again.
    if (HOP_BY_HOP.has(name) || name.startsWith('proxy-')) {
      if (name === 'connection') hasConnection = true;
      continue;
    }
    out.push(name, raw[i + 1]!.toString('latin1'));
  }
  if (!hasConnection) return out;
  const named = new Set<string>();
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.toString('latin1').toLowerCase() !== 'connection') continue;
    for (const token of raw[i + 1]!.toString('latin1').split(',')) named.add(token.trim().toLowerCase());
  }
  return dropNamed(out, named);
}
