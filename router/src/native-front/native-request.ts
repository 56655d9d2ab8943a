/**
 * A request read by the native front, offering the part of node's IncomingMessage that Stream,
 * the attempt runner, requestHead() and the access log use: method, url, httpVersion*, rawHeaders,
 * headers (content-length / transfer-encoding), complete, 'data' / 'end' / 'error', pause/resume.
 */
import { EventEmitter } from 'node:events';
import type { ConnectionPort } from './connection-port.ts';

export class NativeRequest extends EventEmitter {
  readonly httpVersionMajor = 1;
  readonly httpVersion: string;
  /** The whole message (head and body) has been read. */
  complete = false;
  private headerObject: Record<string, string> | null = null;

  constructor(
    readonly connection: ConnectionPort<NativeRequest>,
    readonly method: string,
    readonly url: string,
    readonly httpVersionMinor: number,
    readonly rawHeaders: string[],
    readonly hasBody: boolean,
  ) {
    super();
    this.httpVersion = httpVersionMinor === 0 ? '1.0' : '1.1';
  }

  /** Lower-case names; repeated fields joined with ", " (only framing fields are read from it). */
  get headers(): Record<string, string> {
    if (this.headerObject === null) {
      const out: Record<string, string> = {};
      const raw = this.rawHeaders;
      for (let i = 0; i < raw.length; i += 2) {
        const name = raw[i]!.toLowerCase();
        out[name] = out[name] === undefined ? raw[i + 1]! : `${out[name]}, ${raw[i + 1]!}`;
      }
      this.headerObject = out;
    }
    return this.headerObject;
  }

  get socket(): { remoteAddress: string } {
    return { remoteAddress: this.connection.remoteAddress };
  }

  /** Stops reading the connection while this request's body is the one arriving. */
  pause(): this {
    this.connection.pauseBody(this);
    return this;
  }

  resume(): this {
    this.connection.resumeBody(this);
    return this;
  }
}
