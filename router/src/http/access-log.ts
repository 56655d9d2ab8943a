/**
 * The access log: one pino line per request, `"msg":"access"`, written when the response ends
 * (or the client goes away), like nginx's access_log. On by default — nginx users expect every
 * request in the log without asking, and `--no-access-log` turns it off (e.g. for benchmarks, as
 * nginx's `access_log off`). It is logged at info, so `--log-level warn` silences it too.
 *
 * Status 499 means the client closed the connection before a response head was sent (nginx's
 * code for the same case).
 */
import type { Logger } from 'pino';

/** What the access log needs to know about a request once it is over. */
export interface AccessEntry {
  readonly requestId: string;
  readonly attempts: number;
  readonly workerId: string;
  readonly bytesIn: number;
  readonly bytesOut: number;
}

/** The parts of a request/response pair the access log reads (both HTTP/1 and HTTP/2 objects). */
export interface AccessExchange {
  readonly req: { readonly method?: string | undefined; readonly url?: string | undefined; readonly httpVersion: string };
  readonly res: { readonly statusCode: number; readonly headersSent: boolean; once(event: 'close', listener: () => void): unknown };
}

/** nginx's status for "the client closed the connection before the response head". */
export const CLIENT_CLOSED_REQUEST = 499;

export interface AccessLogRecord {
  requestId: string;
  method: string;
  path: string;
  status: number;
  bytesIn: number;
  bytesOut: number;
  durationMs: number;
  workerId: string;
  attempts: number;
  protocol: string;
  remote: string;
}

export type AccessLog = (exchange: AccessExchange, entry: AccessEntry, remote: string) => void;

/** Returns the hook to call once per request, or null when nothing would be logged. */
export function createAccessLog(log: Logger, enabled: boolean): AccessLog | null {
  if (!enabled || !log.isLevelEnabled('info')) return null;
  return ({ req, res }, entry, remote) => {
    const started = performance.now();
    res.once('close', () => {
      const record: AccessLogRecord = {
        requestId: entry.requestId,
        method: req.method ?? '',
        path: req.url ?? '',
        status: res.headersSent ? res.statusCode : CLIENT_CLOSED_REQUEST,
        bytesIn: entry.bytesIn,
        bytesOut: entry.bytesOut,
        durationMs: Math.round((performance.now() - started) * 1000) / 1000,
        workerId: entry.workerId,
        attempts: entry.attempts,
        protocol: `HTTP/${req.httpVersion}`,
        remote,
      };
      log.info(record, 'access');
    });
  };
}
