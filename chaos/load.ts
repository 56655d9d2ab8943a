/**
 * Steady open-loop load: `rate` requests started per second whatever the answers take (a slow
 * proxy shows as latency and in-flight growth, not as a lower rate), capped at `maxInFlight`.
 * The gate holds new requests while the router restarts; the schedule then continues from "now"
 * instead of bursting to catch up.
 */
import { Agent } from 'undici';
import type { Random } from './random.ts';
import { planRequest, runRequest, type Outcome } from './request.ts';

const TICK_MS = 10;

export interface LoadSettings {
  baseUrl: string;
  rate: number;
  maxInFlight: number;
  boundMs: number;
  runTag: string;
}

export class LoadGenerator {
  readonly outcomes: Outcome[] = [];
  inFlight = 0;
  started = 0;
  /** Starts skipped because maxInFlight requests were already in flight. */
  skippedAtCap = 0;
  private readonly agent: Agent;
  private timer: NodeJS.Timeout | null = null;
  private paused = false;
  private scheduleFrom = 0;
  private scheduledBefore = 0;
  private readonly running = new Set<Promise<void>>();

  constructor(
    private readonly settings: LoadSettings,
    private readonly rng: Random,
    private readonly clock: () => number,
  ) {
    // Enough connections that the cap, not the pool, limits concurrency.
    this.agent = new Agent({ connections: settings.maxInFlight, pipelining: 1, keepAliveTimeout: 4000 });
  }

  start(): void {
    this.scheduleFrom = Date.now();
    this.scheduledBefore = 0;
    this.timer = setInterval(this.tick, TICK_MS);
  }

  /** Holds new requests (those in flight continue). */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.scheduledBefore = this.started + this.skippedAtCap;
    this.scheduleFrom = Date.now();
  }

  private readonly tick = (): void => {
    if (this.paused) return;
    const due = this.scheduledBefore + Math.floor(((Date.now() - this.scheduleFrom) * this.settings.rate) / 1000);
    // Bounded per tick: after a long event-loop stall, do not fire thousands at once.
    for (let i = 0; i < 1000 && this.started + this.skippedAtCap < due; i++) {
      if (this.inFlight >= this.settings.maxInFlight) {
        this.skippedAtCap++;
        continue;
      }
      this.launch();
    }
  };

  private launch(): void {
    const plan = planRequest(this.rng, this.started++, this.settings.runTag);
    this.inFlight++;
    const run = runRequest(plan, this.settings.baseUrl, this.agent, this.settings.boundMs, this.clock).then((outcome) => {
      this.outcomes.push(outcome);
      this.inFlight--;
    });
    this.running.add(run);
    void run.finally(() => this.running.delete(run));
  }

  /** Stops starting requests and waits for those in flight (each is bounded by boundMs). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await Promise.all([...this.running]);
    await this.agent.close();
  }
}
