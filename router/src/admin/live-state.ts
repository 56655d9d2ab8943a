/**
 * What the admin endpoint reads from the running router. Everything is read when asked (a scrape,
 * a /workers call), never copied on the request path, so the numbers cannot drift from the truth.
 */
import type { WorkerRecord } from '../workers/worker.ts';
import type { RouterMetrics } from './metrics.ts';

/** A registered worker as the admin endpoint sees it (read-only). */
export type WorkerView = Pick<
  Readonly<WorkerRecord>,
  'workerId' | 'pool' | 'capacity' | 'credit' | 'inFlight' | 'draining' | 'registeredAt' | 'lastSeenAt' | 'meta' | 'epoch'
>;

export type WorkerState = 'ready' | 'draining';

export interface RouterLiveState {
  readonly routerId: string;
  /** Random per router start. */
  readonly epoch: string;
  readonly metrics: RouterMetrics;
  /** Registered workers (draining ones included until they say BYE). */
  workers(): Iterable<WorkerView>;
  /** Unfinished requests, queued ones included. */
  inFlight(): number;
  /** Requests waiting for a worker with credit, all pools. */
  queued(): number;
  /** Dropped messages by reason, cumulative (the registry's drop table). */
  drops(): Record<string, number>;
  /** False once shutdown began: the router takes no new requests. */
  accepting(): boolean;
  /** Open WebSockets and messages relayed (absent when the router has no front door, e.g. in unit tests). */
  websockets?(): { readonly open: number; readonly messagesIn: number; readonly messagesOut: number };
}

export function workerState(worker: WorkerView): WorkerState {
  return worker.draining ? 'draining' : 'ready';
}
