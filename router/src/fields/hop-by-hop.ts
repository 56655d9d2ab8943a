/**
 * Hop-by-hop header fields (RFC 9110 §7.6.1): never forwarded in either direction. A leaf module both
 * the front door (requests) and the core (responses) read, so neither imports the other.
 */

export const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'proxy-authorization',
  'proxy-authenticate',
  // Only meaningful on an HTTP/1.1 upgrade to h2c, and forbidden in HTTP/2 (RFC 9113 §8.2.2).
  'http2-settings',
]);

/** Lower-case names listed in Connection header values: they are hop-by-hop too. */
export function connectionNamed(list: readonly string[], lowerNames: boolean): Set<string> | null {
  let named: Set<string> | null = null;
  for (let i = 0; i < list.length; i += 2) {
    const name = lowerNames ? list[i]! : list[i]!.toLowerCase();
    if (name !== 'connection') continue;
    for (const token of list[i + 1]!.split(',')) {
      const t = token.trim().toLowerCase();
      if (t !== '') (named ??= new Set()).add(t);
    }
  }
  return named;
}
