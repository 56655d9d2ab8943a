/**
 * A raw HTTP/1.1 client connection for framing tests: writes bytes as given, parses responses one
 * after another off the same socket exactly as the bytes say (Content-Length, chunked, or until
 * close), so whatever a proxy writes beyond a response shows up as the next response. Every wait
 * is bounded.
 */
import net from 'node:net';
import { wakeOrTimeout } from '../helpers/waiting.ts';

export interface RawResponse {
  status: number;
  statusLine: string;
  /** Lower-case names, in order, repeated fields kept. */
  headers: [string, string][];
  body: Buffer;
}

export class RawH1Connection {
  private readonly socket: net.Socket;
  private buffer = Buffer.alloc(0);
  closed = false;
  private wake: (() => void) | null = null;
  /** Every byte received, for "never reached the client" assertions. */
  readonly received: Buffer[] = [];

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.received.push(chunk);
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.wake?.();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake?.();
    });
    socket.on('error', () => undefined);
  }

  static async open(url: string): Promise<RawH1Connection> {
    const { hostname, port } = new URL(url);
    const socket = net.connect({ host: hostname, port: Number(port) });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new RawH1Connection(socket);
  }

  write(bytes: string): void {
    this.socket.write(bytes);
  }

  /** GET (or `method`) `path` on this connection, keep-alive. */
  request(path: string, method = 'GET', extra = ''): void {
    this.write(`${method} ${path} HTTP/1.1\r\nHost: test.example\r\n${extra}\r\n`);
  }

  allBytes(): Buffer {
    return Buffer.concat(this.received);
  }

  private async waitFor<T>(parse: () => T | null, timeoutMs: number, what: string): Promise<T> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const v = parse();
      if (v !== null) return v;
      if (this.closed) throw new Error(`connection closed while waiting for ${what}; unparsed: ${JSON.stringify(this.buffer.toString('latin1').slice(0, 200))}`);
      const left = until - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await wakeOrTimeout(left, (wake) => (this.wake = wake));
    }
  }

  /** The next response (1xx included) off the connection; `head` = the request was HEAD. */
  async response(timeoutMs = 10_000, head = false): Promise<RawResponse> {
    return this.waitFor(() => this.parseOne(head), timeoutMs, 'a response');
  }

  /** Waits until the bytes received so far satisfy `test` (e.g. a body prefix arrived). */
  async waitBytes(test: (all: Buffer) => boolean, timeoutMs = 10_000, what = 'bytes'): Promise<void> {
    await this.waitFor(() => (test(this.allBytes()) ? true : null), timeoutMs, what);
  }

  /** Resolves true once the server closed the connection, false after `timeoutMs`. */
  async waitClosed(timeoutMs = 10_000): Promise<boolean> {
    try {
      await this.waitFor(() => (this.closed ? true : null), timeoutMs, 'close');
      return true;
    } catch {
      return this.closed;
    }
  }

  private parseOne(head: boolean): RawResponse | null {
    const b = this.buffer;
    const end = b.indexOf('\r\n\r\n');
    if (end < 0) return null;
    const lines = b.subarray(0, end).toString('latin1').split('\r\n');
    const statusLine = lines[0]!;
    const status = Number(statusLine.split(' ')[1]);
    const headers: [string, string][] = [];
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      headers.push([line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()]);
    }
    const get = (n: string): string | undefined => headers.find(([k]) => k === n)?.[1];
    let offset = end + 4;
    let body: Buffer;
    if (status < 200 || head || status === 204 || status === 304) {
      body = Buffer.alloc(0);
    } else if (get('content-length') !== undefined) {
      const n = Number(get('content-length'));
      if (b.length < offset + n) {
        if (!this.closed) return null;
        body = b.subarray(offset); // truncated: what arrived before the close
        offset = b.length;
        this.buffer = Buffer.alloc(0);
        return { status, statusLine, headers, body };
      }
      body = b.subarray(offset, offset + n);
      offset += n;
    } else if (/chunked/i.test(get('transfer-encoding') ?? '')) {
      const parts: Buffer[] = [];
      for (;;) {
        const lineEnd = b.indexOf('\r\n', offset);
        if (lineEnd < 0) return null;
        const size = parseInt(b.subarray(offset, lineEnd).toString('latin1'), 16);
        if (!Number.isFinite(size)) throw new Error('bad chunk size');
        if (b.length < lineEnd + 2 + size + 2) return null;
        if (size === 0) {
          offset = lineEnd + 4;
          break;
        }
        parts.push(b.subarray(lineEnd + 2, lineEnd + 2 + size));
        offset = lineEnd + 2 + size + 2;
      }
      body = Buffer.concat(parts);
    } else {
      if (!this.closed) return null;
      body = b.subarray(offset);
      offset = b.length;
    }
    this.buffer = b.subarray(offset);
    return { status, statusLine, headers, body };
  }

  close(): void {
    this.socket.destroy();
  }
}
