/** Why a stream stopped before it finished: the reason of its AbortSignal and of failed writes/reads. */
import type { RstCode } from '../../proto/src/index.ts';

/** `router_lost`: the router went away or restarted (no RST is exchanged then). */
export type StreamEndCode = RstCode | 'router_lost';

export class StreamResetError extends Error {
  readonly code: StreamEndCode;
  /** True when the router reset the stream; false when this worker did (or the router was lost). */
  readonly byRouter: boolean;

  constructor(code: StreamEndCode, message: string, byRouter: boolean) {
    super(`stream reset (${code})${message ? `: ${message}` : ''}`);
    this.name = 'StreamResetError';
    this.code = code;
    this.byRouter = byRouter;
  }
}

/** Misuse of the stream API (respond twice, write before respond, write after end). */
export class StreamStateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StreamStateError';
  }
}

/** upgradeWebSocket() on a request that is not a WebSocket handshake (REQ scheme not ws/wss), or twice. */
export class WebSocketUpgradeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebSocketUpgradeError';
  }
}

/** A WebSocket used in a state that does not allow it (send or ping after close, accept twice). */
export class WebSocketStateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebSocketStateError';
  }
}
