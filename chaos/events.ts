/** What the chaos actor did and when: shown in progress lines and the SVG, used to excuse cut streams. */

export type ChaosEventKind = 'SIGKILL' | 'SIGTERM' | 'worker-start' | 'worker-registered' | 'router-stop' | 'router-exit' | 'router-up';

export interface ChaosEvent {
  /** ms since the run started */
  atMs: number;
  kind: ChaosEventKind;
  /** worker id or router name */
  target: string;
  detail?: string;
}

/** Append-only list of events plus a cursor for "what happened since the last progress line". */
export class EventLog {
  readonly events: ChaosEvent[] = [];
  private reported = 0;

  constructor(private readonly startedAt: number) {}

  now(): number {
    return Date.now() - this.startedAt;
  }

  add(kind: ChaosEventKind, target: string, detail?: string): ChaosEvent {
    const event: ChaosEvent = { atMs: this.now(), kind, target, ...(detail === undefined ? {} : { detail }) };
    this.events.push(event);
    return event;
  }

  /** Events added since the previous call. */
  takeNew(): ChaosEvent[] {
    const fresh = this.events.slice(this.reported);
    this.reported = this.events.length;
    return fresh;
  }

  /** SIGKILLs of `workerId` (any worker when undefined) within [fromMs, toMs]. */
  killedDuring(fromMs: number, toMs: number, workerId: string | undefined): boolean {
    return this.events.some((e) => e.kind === 'SIGKILL' && e.atMs >= fromMs && e.atMs <= toMs && (workerId === undefined || e.target === workerId));
  }
}
