/**
 * What an attempt's Stream writes to instead of the client: the gate holds every attempt back until
 * the runner names a winner (the first terminal response head), then passes the winner through to
 * the real response. A child request replays the buffered body (and relays the rest when the body
 * was too large to buffer). Both mimic the few node:http members Stream uses — nothing more.
 */
import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** The runner's side of a gate. */
export interface GateOwner {
  /** An attempt's response head: returns true when this attempt won and the head was sent. */
  head(attempt: number, status: number, headers: string[]): boolean;
  /** The winner's response ended (cleanly or not). */
  winnerEnded(): void;
}

export class ResponseGate extends EventEmitter {
  private winner = false;

  constructor(
    private readonly owner: GateOwner,
    private readonly attempt: number,
    private readonly real: ServerResponse,
  ) {
    super();
  }

  writeHead(status: number, headers: string[]): this {
    if (this.owner.head(this.attempt, status, headers)) {
      this.winner = true;
      this.real.on('drain', () => this.emit('drain'));
    }
    return this;
  }

  flushHeaders(): void {
    if (this.winner) this.real.flushHeaders();
  }

  write(chunk: Buffer): boolean {
    return this.winner ? this.real.write(chunk) : true;
  }

  end(chunk?: Buffer): this {
    if (!this.winner) return this;
    if (chunk !== undefined) this.real.end(chunk);
    else this.real.end();
    this.owner.winnerEnded();
    return this;
  }

  destroy(): this {
    if (!this.winner) return this;
    this.real.destroy();
    this.owner.winnerEnded();
    return this;
  }

  asResponse(): ServerResponse {
    return this as unknown as ServerResponse;
  }
}

/** An attempt's request: replayed body chunks, and flow control mapped to the client's request. */
export class ChildRequest extends EventEmitter {
  /** Stream reads it to decide on `connection: close`; the gate never writes the client's head. */
  readonly httpVersionMajor = 1;

  constructor(private readonly source: IncomingMessage | null) {
    super();
  }

  pause(): this {
    this.source?.pause();
    return this;
  }

  resume(): this {
    this.source?.resume();
    return this;
  }

  asRequest(): IncomingMessage {
    return this as unknown as IncomingMessage;
  }
}
