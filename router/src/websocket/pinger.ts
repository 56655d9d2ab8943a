/**
 * Liveness of WebSocket clients (ws-wire §6): one timer for all of them, not one per socket. Each
 * tick pings every open client; a client still owing the previous tick's pong is dropped (its
 * worker gets RST cancel). Runs only while sockets are open; interval 0 = off.
 */

/** What the pinger needs from an open WebSocket. */
export interface Pingable {
  pingTick(): void;
}

export class WebSocketPinger {
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly intervalMs: number,
    private readonly sockets: ReadonlySet<Pingable>,
  ) {}

  start(): void {
    if (this.timer !== null || this.intervalMs <= 0) return;
    this.timer = setInterval(() => {
      for (const socket of this.sockets) socket.pingTick();
    }, this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }
}
