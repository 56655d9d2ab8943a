/**
 * One client connection of the native front, on the JavaScript side: its responses in request
 * order (HTTP/1.1 pipelining — only the oldest unfinished response writes to the socket; later
 * ones hold their writes until it ends), the request whose body is arriving, backpressure, and
 * the end of the connection (every unfinished response sees 'close', as on node:http).
 */
import { WriteFlag, type NativeAddon, type NativeFrontHandle } from './native-addon.ts';
import type { NativeRequest } from './native-request.ts';
import type { NativeResponse } from './native-response.ts';
import type { ConnectionPort } from './connection-port.ts';

/** What a connection needs from its front. */
export interface NativeIo {
  readonly addon: NativeAddon;
  readonly handle: NativeFrontHandle;
  /** write() reports backpressure past this many queued bytes. */
  readonly highWaterMark: number;
  /** The front stops: responses from now on say Connection: close. */
  readonly stopping: boolean;
}

/** The head of an Upgrade/CONNECT request, kept until the connection is handed to node:http. */
export interface HeldHead {
  method: string;
  url: string;
  httpVersionMinor: number;
  rawHeaders: string[];
}

export class NativeConnection implements ConnectionPort<NativeRequest, NativeResponse> {
  /** Responses not yet completely handed to the addon, oldest first; [0] writes, the rest hold. */
  readonly responses: NativeResponse[] = [];
  /** The request whose body is arriving (HEAD had a body, END not yet seen). */
  bodyTarget: NativeRequest | null = null;
  upgrade: HeldHead | null = null;
  closed = false;

  constructor(
    private readonly io: NativeIo,
    readonly id: number,
    readonly remoteAddress: string,
  ) {}

  /** Whether responses must end the connection (the front is stopping). */
  get ending(): boolean {
    return this.io.stopping;
  }

  /** Writes for `res` now if it is the oldest response, else holds them. false: wait for 'drain'. */
  send(res: NativeResponse, head: string | null, body: Buffer | null, flags: number): boolean {
    if (this.closed) return false;
    if (this.responses[0] !== res) {
      (res.held ??= []).push({ head, body, flags });
      res.heldBytes += (head?.length ?? 0) + (body?.length ?? 0);
      const ok = res.heldBytes < this.io.highWaterMark;
      if (!ok) res.owesDrain = true;
      return ok;
    }
    const queued = this.io.addon.write(this.io.handle, this.id, head, body, flags);
    if (flags & WriteFlag.END) this.responseEnded();
    const ok = queued >= 0 && queued <= this.io.highWaterMark;
    if (!ok && queued >= 0) res.owesDrain = true;
    return ok;
  }

  /** The oldest response ended: the next ones write what they held, in order. */
  private responseEnded(): void {
    this.responses.shift();
    while (!this.closed && this.responses.length > 0) {
      const next = this.responses[0]!;
      const held = next.held;
      if (held === null) return;
      next.held = null;
      next.heldBytes = 0;
      let ended = false;
      let queued = 0;
      for (const w of held) {
        queued = this.io.addon.write(this.io.handle, this.id, w.head, w.body, w.flags);
        if (w.flags & WriteFlag.END) ended = true;
      }
      if (ended) {
        this.responses.shift();
        continue;
      }
      if (next.owesDrain && queued >= 0 && queued <= this.io.highWaterMark) {
        next.owesDrain = false;
        next.emit('drain');
      }
      return;
    }
  }

  /** The addon's write queue for this connection emptied. */
  drained(): void {
    const res = this.responses[0];
    if (res !== undefined && res.owesDrain) {
      res.owesDrain = false;
      res.emit('drain');
    }
  }

  pauseBody(req: NativeRequest): void {
    if (this.bodyTarget === req && !this.closed) this.io.addon.pause(this.io.handle, this.id);
  }

  resumeBody(req: NativeRequest): void {
    if (this.bodyTarget === req && !this.closed) this.io.addon.resume(this.io.handle, this.id);
  }

  body(chunk: Buffer): void {
    this.bodyTarget?.emit('data', chunk);
  }

  messageEnd(): void {
    const req = this.bodyTarget;
    if (req === null) return;
    this.bodyTarget = null;
    req.complete = true;
    req.emit('end');
  }

  /** Cuts the connection (a response aborted): the CLOSE event follows from the addon. */
  destroy(): void {
    if (!this.closed) this.io.addon.destroy(this.io.handle, this.id);
  }

  /** The connection is gone: unfinished responses see 'close' (their streams: the client went away). */
  onClosed(): void {
    this.closed = true;
    const open = this.responses.splice(0);
    for (const res of open) res.connectionClosed();
    this.bodyTarget = null;
  }
}
