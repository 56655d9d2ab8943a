/**
 * Coded router errors, each with the HTTP status the client gets (as fastify's lib/errors.js).
 * Decode errors of the wire protocol live in proto/src/errors.ts; these are what a client can see.
 */

export const RouterErrors = {
  ZP_ERR_QUEUE_FULL: { status: 503, message: 'no worker available and the wait queue is full' },
  ZP_ERR_QUEUE_TIMEOUT: { status: 503, message: 'no worker became available in time' },
  ZP_ERR_SHUTTING_DOWN: { status: 503, message: 'the router is shutting down' },
  ZP_ERR_REQUEST_TIMEOUT: { status: 504, message: 'the worker did not answer in time' },
  ZP_ERR_WORKER_LOST: { status: 502, message: 'the worker went away and the request could not be retried' },
  ZP_ERR_RETRY_BUDGET: { status: 502, message: 'the worker failed and the retry budget is spent' },
  ZP_ERR_WORKER_RESET: { status: 502, message: 'the worker reset the stream' },
  ZP_ERR_BAD_RESPONSE: { status: 502, message: 'the worker sent an invalid response' },
  ZP_ERR_BODY_TOO_LARGE: { status: 413, message: 'request body exceeds the size limit' },
  ZP_ERR_HEADERS_TOO_LARGE: { status: 431, message: 'request header fields too large' },
  ZP_ERR_BAD_REQUEST: { status: 400, message: 'malformed request' },
  ZP_ERR_BAD_TARGET: { status: 400, message: 'invalid request target (absolute-form with userinfo, a path climbing above "/", or not origin-form)' },
  ZP_ERR_BAD_HOST: { status: 400, message: 'missing, repeated or invalid Host' },
  ZP_ERR_METHOD_NOT_ALLOWED: { status: 405, message: 'CONNECT is not served: the router is a reverse proxy, not a tunnel' },
  ZP_ERR_NO_TERMINAL_RESPONSE: { status: 502, message: 'no attempt of a fanout/failover/hedge route gave a terminal response' },
  ZP_ERR_REJECTED: { status: 403, message: 'a routing plugin refused the request (the status is the plugin\'s)' },
} as const;

export type RouterErrorCode = keyof typeof RouterErrors;

export class RouterError extends Error {
  readonly code: RouterErrorCode;
  readonly status: number;

  constructor(code: RouterErrorCode, detail?: string) {
    super(detail ? `${RouterErrors[code].message}: ${detail}` : RouterErrors[code].message);
    this.name = 'RouterError';
    this.code = code;
    this.status = RouterErrors[code].status;
  }
}

/** JSON body sent with an error status; the code lets clients and tests tell causes apart. */
export function errorBody(code: RouterErrorCode, requestId: string): string {
  return JSON.stringify({ error: code, message: RouterErrors[code].message, statusCode: RouterErrors[code].status, requestId });
}
