/**
 * Writing a response head to the client: the status line's reason and what is left behind when
 * node refuses a head.
 *
 * node:http keeps a reason phrase set by an earlier writeHead() that then threw on a bad field
 * (`statusMessage ||= …`), so a worker's invalid 200 head followed by our 502 went out as
 * "502 OK"; and node's HTTP/2 compatibility layer stores a refused head's fields one by one, so the
 * 502 carried the worker's fields that came before the bad one. Both are undone here. Statuses
 * node has no phrase for get an empty reason (RFC 9112 §4 allows it), never "unknown".
 */
import { ServerResponse, STATUS_CODES } from 'node:http';

/** Worker statuses the router relays (SPEC §4.1): 200–599; 1xx and 101 have their own rules. */
export function relayableStatus(status: number): boolean {
  return status >= 200 && status <= 599;
}

/** Writes `status` and `headers` (flat list); on a throw nothing of this head is left on `res`. */
export function writeResponseHead(res: ServerResponse, http2: boolean, status: number, headers: readonly string[]): void {
  try {
    // (An attempt's gate stands in for a response and takes no reason: it is not a ServerResponse.)
    if (http2 || !(res instanceof ServerResponse)) res.writeHead(status, headers as string[]);
    else res.writeHead(status, STATUS_CODES[status] ?? '', headers as string[]);
  } catch (err) {
    if (!res.headersSent && typeof res.getHeaderNames === 'function') {
      for (const name of res.getHeaderNames()) res.removeHeader(name);
      if (!http2) res.statusMessage = ''; // (HTTP/2 has no reason; its setter only warns)
    }
    throw err;
  }
}

/** Why the router refused (or dropped part of) a worker's response: counted by reason. */
export type ResponseIssue =
  /** Status outside 200–599, 101 on a plain stream, a 1xx with a body. */
  | 'bad_status'
  /** Head the router will not relay: bad or conflicting Content-Length, a field node refuses. */
  | 'bad_head'
  /** Body longer or shorter than its Content-Length. */
  | 'length_mismatch'
  /** DATA with a WebSocket op on a plain HTTP stream (SPEC §7.7). */
  | 'ws_op_on_http'
  /** A second RES, or DATA before RES. */
  | 'second_res'
  | 'data_before_res'
  /** A seq gap. */
  | 'seq'
  /** Response bytes past the window the router granted. */
  | 'flow_control'
  /** A RES/DATA of this stream that could not be decoded (over the codec limits, malformed). */
  | 'undecodable'
  /** A 1xx the router does not relay (100, 102, …, or Early Hints past the limit): dropped, not an error. */
  | 'informational_dropped'
  /** Anything else that broke the protocol on a stream. */
  | 'protocol';

/** At most this many 103 Early Hints per response are relayed; more are dropped and counted. */
export const MAX_EARLY_HINTS = 2;

/** More 1xx than this on one response is a protocol error (the client gets 502). */
export const MAX_INFORMATIONAL = 16;

/** Field values safe on a status line's neighbours: visible ASCII, space and tab (no CR, LF, NUL). */
const SAFE_VALUE = /^[\t\x20-\x7e]*$/;

/**
 * The Link fields of a worker's 103, joined, or null when it has none fit to relay. Only Link is
 * relayed: node's writeEarlyHints() writes other fields unchecked, so a CR/LF there would inject.
 */
export function earlyHints(headers: readonly string[]): string | null {
  let link: string | null = null;
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i]!.toLowerCase() !== 'link') continue;
    const value = headers[i + 1]!;
    if (value === '' || !SAFE_VALUE.test(value)) continue;
    link = link === null ? value : `${link}, ${value}`;
  }
  return link;
}

/** Counts by ResponseIssue (a closed set, so the table is bounded). */
export class IssueCounts {
  private readonly counts = new Map<ResponseIssue, number>();

  count(reason: ResponseIssue): void {
    this.counts.set(reason, (this.counts.get(reason) ?? 0) + 1);
  }

  get(reason: ResponseIssue): number {
    return this.counts.get(reason) ?? 0;
  }

  snapshot(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [reason, n] of this.counts) out[reason] = n;
    return out;
  }
}
