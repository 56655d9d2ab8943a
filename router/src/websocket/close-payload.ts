/**
 * The body of a DATA `close` (ws-wire §4): empty (no code) or a 2-byte big-endian close code and a
 * UTF-8 reason — exactly a WebSocket close frame's payload.
 */

/** The code the `ws` library reports when a close frame carried no code (RFC 6455 §7.1.5). */
export const NO_STATUS = 1005;
/** The code the `ws` library reports when the connection ended without a close frame. */
export const ABNORMAL = 1006;
/** Close reasons must fit a control frame with the code: 123 bytes. */
const MAX_REASON_BYTES = 123;

export interface ClosePayload {
  code: number;
  reason: string;
}

export function encodeClose(code: number, reason: string | Buffer): Buffer {
  if (code === NO_STATUS || code === ABNORMAL) return Buffer.alloc(0);
  const text = typeof reason === 'string' ? Buffer.from(reason) : reason;
  const out = Buffer.allocUnsafe(2 + Math.min(text.length, MAX_REASON_BYTES));
  out.writeUInt16BE(code, 0);
  text.copy(out, 2, 0, out.length - 2);
  return out;
}

/** Decodes a close body; null when it is malformed (one byte, or a reason that is not UTF-8). */
export function decodeClose(body: Buffer): ClosePayload | null {
  if (body.length === 0) return { code: NO_STATUS, reason: '' };
  if (body.length === 1) return null;
  const reason = body.subarray(2);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(reason);
  } catch {
    return null;
  }
  return { code: body.readUInt16BE(0), reason: text };
}

/** Whether an endpoint may send `code` in a close frame (RFC 6455 §7.4; as the `ws` library checks). */
export function isSendableCode(code: number): boolean {
  return (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999);
}

/** A reason cut to what a close frame can carry, on a UTF-8 character boundary. */
export function fitReason(reason: string): string {
  let text = reason;
  while (Buffer.byteLength(text) > MAX_REASON_BYTES) text = text.slice(0, -1);
  return text;
}
