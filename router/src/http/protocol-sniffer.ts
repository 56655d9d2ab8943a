/**
 * Telling HTTP/1.1 from HTTP/2 with prior knowledge (h2c) on one cleartext port: an h2c client
 * opens with the fixed preface "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" (RFC 9113 §3.4), and "PRI" is a
 * method RFC 9113 reserves for exactly this, so the first bytes of a connection decide. This runs
 * once per connection (one read + one unshift), never per request.
 */
import type { Socket } from 'node:net';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** Enough of the preface to decide: no HTTP/1.x request line starts with "PRI " (RFC 9113 §3.4). */
const DECIDING_BYTES = 4;


export type SniffedProtocol = 'h1' | 'h2c';

/** 'h2c' / 'h1' once `bytes` decide, null while they are a too-short prefix of the preface. */
export function classifyFirstBytes(bytes: Buffer): SniffedProtocol | null {
  const n = Math.min(bytes.length, DECIDING_BYTES);
  for (let i = 0; i < n; i++) if (bytes[i] !== PREFACE[i]) return 'h1';
  return n === DECIDING_BYTES ? 'h2c' : null;
}

/**
 * Reads the first bytes of `socket`, puts them back (unshift) so the chosen server sees the
 * connection from its first byte, then calls `decided`. A connection that closes, or stays silent
 * for `timeoutMs` (the request-head timeout: a connection that sends nothing is a slow client
 * too), before deciding is destroyed and `decided` is never called.
 */
export function sniffProtocol(socket: Socket, timeoutMs: number, decided: (protocol: SniffedProtocol) => void): void {
  sniff(socket, timeoutMs, classifyFirstBytes, decided);
}

/** TLS record type 22 (handshake): the first byte of every TLS ClientHello (RFC 8446 §5.1). */
const TLS_HANDSHAKE = 0x16;

export type SniffedTransport = 'tls' | 'plain';

/** 'tls' when the connection opens with a TLS handshake record, 'plain' otherwise (e.g. "GET "). */
export function classifyTlsFirstByte(bytes: Buffer): SniffedTransport | null {
  if (bytes.length === 0) return null;
  return bytes[0] === TLS_HANDSHAKE ? 'tls' : 'plain';
}

/**
 * On the TLS port: tells a TLS ClientHello from plain HTTP by the first byte, so plain HTTP can get
 * nginx's 400 "The plain HTTP request was sent to HTTPS port" instead of a TLS alert or a silent
 * close. Same rules as sniffProtocol (bytes put back, silent or closed connections destroyed).
 */
export function sniffTls(socket: Socket, timeoutMs: number, decided: (transport: SniffedTransport) => void): void {
  sniff(socket, timeoutMs, classifyTlsFirstByte, decided);
}

function sniff<T>(socket: Socket, timeoutMs: number, classify: (bytes: Buffer) => T | null, decided: (result: T) => void): void {
  let seen: Buffer | null = null;
  const onTimeout = (): void => {
    socket.destroy();
  };
  const onReadable = (): void => {
    for (let chunk = socket.read() as Buffer | null; chunk !== null; chunk = socket.read() as Buffer | null) {
      seen = seen === null ? chunk : Buffer.concat([seen, chunk]);
    }
    if (seen === null) return; // nothing yet, or the end of the stream ('end' follows)
    const protocol = classify(seen);
    if (protocol === null) return; // e.g. "P", "PR" or "PRI": wait for the next bytes
    socket.off('readable', onReadable);
    socket.off('error', onError);
    socket.off('end', onEnd);
    socket.off('timeout', onTimeout);
    socket.setTimeout(0);
    socket.unshift(seen);
    decided(protocol);
  };
  // Before a server owns the socket, an error (e.g. ECONNRESET) only has to end it quietly.
  const onError = (): void => {
    socket.destroy();
  };
  // The client closed before deciding (e.g. an idle pooled connection). node:http's server
  // allows half-open sockets, so without this our side would stay open for ever.
  const onEnd = (): void => {
    socket.destroy();
  };
  socket.setTimeout(timeoutMs);
  socket.on('timeout', onTimeout);
  socket.on('error', onError);
  socket.on('end', onEnd);
  socket.on('readable', onReadable);
}
