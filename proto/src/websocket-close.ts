/**
 * The body of a DATA `close` on a WebSocket stream (SPEC §7.7): empty (no code), or a 2-byte
 * big-endian close code and a UTF-8 reason, 125 bytes at most in all — exactly a WebSocket close
 * frame's payload (RFC 6455 §5.5.1). The router and the worker SDK both read and write it here.
 */

/** What a close without a code reports (RFC 6455 §7.4.1 "no status received"); never on the wire. */
export const CLOSE_NO_STATUS = 1005;
/** What a connection that ended without a close handshake reports (RST, lost peer); never on the wire. */
export const CLOSE_ABNORMAL = 1006;
export const CLOSE_GOING_AWAY = 1001;
export const CLOSE_PROTOCOL = 1002;
export const CLOSE_TOO_BIG = 1009;
export const CLOSE_INTERNAL = 1011;

/** Largest ping, pong or close body (a WebSocket control frame's payload). */
export const MAX_CONTROL_BODY = 125;
/** Largest close reason: a control frame less the 2-byte code. */
export const MAX_CLOSE_REASON_BYTES = MAX_CONTROL_BODY - 2;

export interface ClosePayload {
  code: number;
  reason: string;
}

/** Codes an endpoint may put on the wire (RFC 6455 §7.4; 1004–1006 and 1015 are reserved). */
export function isSendableCloseCode(code: number): boolean {
  return Number.isInteger(code) && ((code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999));
}

/** Builds a close body; throws RangeError on a code that may not be sent or a reason over 123 bytes. */
export function encodeClose(code: number | undefined, reason = ''): Buffer {
  if (code === undefined) {
    if (reason !== '') throw new RangeError('a close reason needs a close code');
    return Buffer.alloc(0);
  }
  if (!isSendableCloseCode(code)) throw new RangeError(`invalid WebSocket close code ${code}`);
  const text = Buffer.from(reason, 'utf8');
  if (text.length > MAX_CLOSE_REASON_BYTES) throw new RangeError(`close reason is ${text.length} bytes; at most ${MAX_CLOSE_REASON_BYTES}`);
  const out = Buffer.allocUnsafe(2 + text.length);
  out.writeUInt16BE(code, 0);
  text.copy(out, 2);
  return out;
}

/**
 * Reads a close body; null when it is malformed (SPEC §7.7: one byte, over 125 bytes, a code that may
 * not be sent, or a reason that is not UTF-8). An empty body is a close without a code.
 */
export function decodeClose(body: Buffer): ClosePayload | null {
  if (body.length === 0) return { code: CLOSE_NO_STATUS, reason: '' };
  if (body.length < 2 || body.length > MAX_CONTROL_BODY) return null;
  const code = body.readUInt16BE(0);
  if (!isSendableCloseCode(code)) return null;
  try {
    return { code, reason: new TextDecoder('utf-8', { fatal: true }).decode(body.subarray(2)) };
  } catch {
    return null;
  }
}

/** A reason cut to what a close frame can carry, on a character boundary. */
export function fitCloseReason(reason: string): string {
  let text = reason;
  while (Buffer.byteLength(text) > MAX_CLOSE_REASON_BYTES) text = text.slice(0, -1);
  return text;
}
