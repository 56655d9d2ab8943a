/**
 * The standard `Forwarded` header (RFC 7239): the router appends one forwarded-element
 * `for=…;host=…;proto=…` describing the client connection to whatever list the client sent —
 * the same information as X-Forwarded-For/-Host/-Proto, which are sent alongside it.
 */

/** RFC 7230 token characters: a value made only of these needs no quotes. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** token, or quoted-string with `"` and `\` escaped (RFC 7239 §4). */
export function forwardedValue(value: string): string {
  if (TOKEN.test(value)) return value;
  return `"${value.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

/** A node: IPv4 as is; IPv6 in brackets and so quoted (§6); "unknown" when there is none (§6.3). */
export function forwardedNode(address: string): string {
  if (address === '') return 'unknown';
  return address.includes(':') ? `"[${address}]"` : address;
}

/** One forwarded-element for this hop. `host` may be '' (then omitted). */
export function forwardedElement(remote: string, host: string, proto: string): string {
  let element = `for=${forwardedNode(remote)}`;
  if (host !== '') element += `;host=${forwardedValue(host)}`;
  return `${element};proto=${proto}`;
}
