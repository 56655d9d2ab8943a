/**
 * One client TCP connection that sends raw bytes and reads HTTP/1.1 responses one by one (by
 * Content-Length, chunked framing, or the close), so a test controls keep-alive, pipelining and
 * malformed requests byte for byte. Every wait is bounded.
 */
import net from 'node:net';

export interface RawResponse {
  status: number;
  /** Lower-case names; repeated fields joined with ", ". */
  headers: Record<string, string>;
  body: Buffer;
}

const WAIT_MS = 15_000;

export class RawConnection {
  private data = Buffer.alloc(0);
  private ended = false;
  private wake: (() => void) | null = null;

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.data = Buffer.concat([this.data, chunk]);
      this.wake?.();
    });
    socket.on('close', () => {
      this.ended = true;
      this.wake?.();
    });
    socket.on('error', () => undefined); // 'close' follows
  }

  static open(port: number, host = '127.0.0.1'): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host });
      socket.once('connect', () => resolve(new RawConnection(socket)));
      socket.once('error', reject);
    });
  }

  get closed(): boolean {
    return this.ended;
  }

  write(bytes: string | Buffer): void {
    this.socket.write(bytes);
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** Waits (bounded) until `ready` returns a value; it is re-checked on every arrival and on close. */
  private async until<T>(ready: () => T | undefined, what: string): Promise<T> {
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const value = ready();
      if (value !== undefined) return value;
      if (this.ended) throw new Error(`connection closed while waiting for ${what}; unread: ${JSON.stringify(this.data.toString('latin1').slice(0, 300))}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${what} within ${WAIT_MS} ms; unread: ${JSON.stringify(this.data.toString('latin1').slice(0, 300))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          this.wake = null;
          resolve();
        };
      });
    }
  }

  /** Reads the next complete response (`bodyless`: the answer to a HEAD request). */
  async readResponse(bodyless = false): Promise<RawResponse> {
    return this.until(() => this.takeResponse(bodyless), 'a complete response');
  }

  /** Resolves once the server closed the connection (bounded). */
  async waitClosed(): Promise<void> {
    await this.until(() => (this.ended ? true : undefined), 'the close');
  }

  private takeResponse(bodyless: boolean): RawResponse | undefined {
    const end = this.data.indexOf('\r\n\r\n');
    if (end < 0) return undefined;
    const [statusLine, ...lines] = this.data.subarray(0, end).toString('latin1').split('\r\n');
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1] ?? NaN);
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
    }
    const rest = this.data.subarray(end + 4);
    let body: Buffer;
    let used: number;
    if (bodyless || status === 204 || status === 304 || status < 200) {
      body = Buffer.alloc(0);
      used = 0;
    } else if (headers['content-length'] !== undefined) {
      const n = Number(headers['content-length']);
      if (rest.length < n) return undefined;
      body = rest.subarray(0, n);
      used = n;
    } else if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
      const decoded = decodeChunked(rest);
      if (decoded === undefined) return undefined;
      body = decoded.body;
      used = decoded.used;
    } else {
      if (!this.ended) return undefined; // close-delimited
      body = rest;
      used = rest.length;
    }
    this.data = rest.subarray(used);
    return { status, headers, body: Buffer.from(body) };
  }
}

/** A complete chunked body at the start of `data`, or undefined while it is incomplete. */
function decodeChunked(data: Buffer): { body: Buffer; used: number } | undefined {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = data.indexOf('\r\n', at);
    if (lineEnd < 0) return undefined;
    const size = parseInt(data.subarray(at, lineEnd).toString('latin1'), 16);
    if (Number.isNaN(size)) throw new Error(`bad chunk size line ${JSON.stringify(data.subarray(at, lineEnd).toString('latin1'))}`);
    at = lineEnd + 2;
    if (size === 0) {
      if (data.length < at + 2) return undefined;
      return { body: Buffer.concat(parts), used: at + 2 };
    }
    if (data.length < at + size + 2) return undefined;
    parts.push(data.subarray(at, at + size));
    at += size + 2;
  }
}
