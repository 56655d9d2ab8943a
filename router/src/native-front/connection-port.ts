/**
 * What a native request and response need from their connection. A leaf module, so the
 * connection can import the request and response classes while they depend only on this
 * interface (no import circle).
 */
export interface ConnectionPort<Req = unknown, Res = unknown> {
  readonly remoteAddress: string;
  /** The connection closes after the response being written (Connection: close, or the front stops). */
  readonly ending: boolean;
  /** Hands `head` and `body` for `res` to the addon (held while an older response is unfinished); false = backpressure. */
  send(res: Res, head: string | null, body: Buffer | null, flags: number): boolean;
  destroy(): void;
  /** Stops reading the connection while `req`'s body is the one arriving. */
  pauseBody(req: Req): void;
  resumeBody(req: Req): void;
}
