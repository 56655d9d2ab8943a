/**
 * A response on the native front, offering the part of node's ServerResponse that Stream, the
 * attempt runner, the metrics and the access log use: writeHead(status, flatHeaders), write, end,
 * destroy, flushHeaders, writeEarlyHints, headersSent, statusCode, 'close' and 'drain'.
 *
 * The head is built here (one string, written with the first body bytes in one writev by the
 * addon) with node's framing rules: Content-Length when known (or when end() carries the whole
 * body), chunked otherwise on HTTP/1.1, close-delimited on HTTP/1.0; no body for HEAD, 1xx, 204,
 * 304; Date; Connection: keep-alive or close. Field names and values are checked as node checks
 * them (a throw leaves nothing written, as writeResponseHead() expects).
 */
import { EventEmitter } from 'node:events';
import { STATUS_CODES } from 'node:http';
import { WriteFlag } from './native-addon.ts';
import type { ConnectionPort } from './connection-port.ts';
import type { NativeRequest } from './native-request.ts';

/** node's checkIsHttpToken and checkInvalidHeaderChar (lib/_http_common.js). */
const TOKEN = /^[\^_`a-zA-Z\-0-9!#$%&'*+.|~]+$/;
const INVALID_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

/** The Date field, formatted once per second. */
export class HttpDate {
  private second = -1;
  private text = '';

  now(): string {
    const ms = Date.now();
    const second = Math.floor(ms / 1000);
    if (second !== this.second) {
      this.second = second;
      this.text = new Date(ms).toUTCString();
    }
    return this.text;
  }
}

function emitClose(res: NativeResponse): void {
  res.emit('close');
}

export class NativeResponse extends EventEmitter {
  statusCode = 200;
  headersSent = false;
  /** end() was called. */
  finished = false;
  destroyed = false;
  /** Writes held while an earlier response on the connection is still being written (pipelining). */
  held: { head: string | null; body: Buffer | null; flags: number }[] | null = null;
  heldBytes = 0;
  /** write() returned false: 'drain' is owed. */
  owesDrain = false;
  private fields: readonly string[] = [];
  private chunked = false;
  private bodyless: boolean;
  /** The connection ends after this response. */
  private closeAfter: boolean;
  /** "\r\n" that ends the previous chunk, sent with the next write. */
  private chunkEnd = '';
  private closeEmitted = false;

  constructor(
    readonly connection: ConnectionPort<NativeRequest, NativeResponse>,
    readonly request: NativeRequest,
    keepAlive: boolean,
    private readonly date: HttpDate,
  ) {
    super();
    this.closeAfter = !keepAlive;
    this.bodyless = request.method === 'HEAD';
  }

  writeHead(status: number, headers: readonly string[]): this {
    if (this.headersSent) throw Object.assign(new Error('Cannot write headers after they are sent to the client'), { code: 'ERR_HTTP_HEADERS_SENT' });
    if (!Number.isInteger(status) || status < 100 || status > 999) throw Object.assign(new RangeError(`Invalid status code: ${status}`), { code: 'ERR_HTTP_INVALID_STATUS_CODE' });
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i]!;
      const value = headers[i + 1]!;
      if (!TOKEN.test(name)) throw Object.assign(new TypeError(`Header name must be a valid HTTP token ["${name}"]`), { code: 'ERR_INVALID_HTTP_TOKEN' });
      if (INVALID_VALUE.test(value)) throw Object.assign(new TypeError(`Invalid character in header content ["${name}"]`), { code: 'ERR_INVALID_CHAR' });
    }
    this.statusCode = status;
    this.fields = headers;
    return this;
  }

  /** The head for what is known now; `whole` is the complete body when end() sends everything at once. */
  private head(whole: Buffer | null, ending: boolean): string {
    const status = this.statusCode;
    let text = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n`;
    let length = false;
    let framed = false;
    let dated = false;
    let connection = false;
    const fields = this.fields;
    for (let i = 0; i < fields.length; i += 2) {
      const name = fields[i]!;
      const value = fields[i + 1]!;
      const lower = name.length === 14 || name.length === 17 || name.length === 10 || name.length === 4 ? name.toLowerCase() : '';
      if (lower === 'content-length') length = true;
      else if (lower === 'transfer-encoding') framed = true;
      else if (lower === 'date') dated = true;
      else if (lower === 'connection') {
        connection = true;
        if (/\bclose\b/i.test(value)) this.closeAfter = true;
      }
      text += `${name}: ${value}\r\n`;
    }
    if (status < 200 || status === 204 || status === 304) this.bodyless = true;
    if (!this.bodyless && !length && !framed) {
      if (ending) {
        text += `content-length: ${whole === null ? 0 : whole.length}\r\n`;
      } else if (this.request.httpVersionMinor === 1) {
        this.chunked = true;
        text += 'transfer-encoding: chunked\r\n';
      } else {
        this.closeAfter = true; // HTTP/1.0 without a length: the close ends the body
      }
    }
    if (this.connection.ending) this.closeAfter = true;
    if (!dated) text += `date: ${this.date.now()}\r\n`;
    if (!connection) text += this.closeAfter ? 'connection: close\r\n' : 'connection: keep-alive\r\nkeep-alive: timeout=5\r\n';
    this.headersSent = true;
    return `${text}\r\n`;
  }

  write(data: Buffer | string): boolean {
    if (this.finished || this.destroyed) return false;
    const chunk = typeof data === 'string' ? Buffer.from(data) : data; // (error bodies are strings)
    const head = this.headersSent ? null : this.head(null, false);
    if (this.bodyless || chunk.length === 0) return head === null ? true : this.connection.send(this, head, null, 0);
    if (this.chunked) {
      const line = `${head ?? ''}${this.chunkEnd}${chunk.length.toString(16)}\r\n`;
      this.chunkEnd = '\r\n';
      return this.connection.send(this, line, chunk, 0);
    }
    return this.connection.send(this, head, chunk, 0);
  }

  end(data?: Buffer | string): this {
    if (this.finished || this.destroyed) return this;
    this.finished = true;
    const chunk = typeof data === 'string' ? Buffer.from(data) : data; // (error bodies are strings)
    const body = chunk !== undefined && chunk.length > 0 ? chunk : null;
    const head = this.headersSent ? null : this.head(body, true);
    const flags = WriteFlag.END | (this.closeAfter ? WriteFlag.CLOSE : 0);
    if (this.bodyless) {
      this.connection.send(this, head, null, flags);
    } else if (this.chunked) {
      if (body !== null) {
        this.connection.send(this, `${head ?? ''}${this.chunkEnd}${body.length.toString(16)}\r\n`, body, 0);
        this.chunkEnd = '\r\n';
      }
      this.connection.send(this, `${body === null ? (head ?? '') : ''}${this.chunkEnd}0\r\n\r\n`, null, flags);
    } else {
      this.connection.send(this, head, body, flags);
    }
    process.nextTick(emitClose, this);
    this.closeEmitted = true;
    return this;
  }

  flushHeaders(): void {
    if (!this.headersSent && !this.finished) this.connection.send(this, this.head(null, false), null, 0);
  }

  writeEarlyHints(hints: { link: string }): void {
    if (this.headersSent || this.finished || INVALID_VALUE.test(hints.link)) return;
    this.connection.send(this, `HTTP/1.1 103 Early Hints\r\nlink: ${hints.link}\r\n\r\n`, null, 0);
  }

  /** Cuts the connection: the client sees a truncated response, never a clean end. */
  destroy(): this {
    if (this.destroyed) return this;
    this.destroyed = true;
    this.connection.destroy();
    return this;
  }

  /** The connection is gone (closed by the client, cut, or timed out). */
  connectionClosed(): void {
    this.destroyed = true;
    if (!this.closeEmitted) {
      this.closeEmitted = true;
      this.emit('close');
    }
  }
}
