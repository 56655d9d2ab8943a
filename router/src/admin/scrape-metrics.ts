/**
 * Metrics computed when /metrics is scraped (prom-client collect()) from state the router keeps
 * anyway — workers, queue, in-flight, the drop table — so the request path pays nothing for them.
 * Registered once, when the admin endpoint starts.
 */
import { collectDefaultMetrics, Counter, Gauge } from 'prom-client';
import { workerState, type RouterLiveState, type WorkerState } from './live-state.ts';

interface PoolTotals {
  credit: number;
  capacity: number;
  streams: number;
  ready: number;
  draining: number;
}

function totalsByPool(state: RouterLiveState): Map<string, PoolTotals> {
  const pools = new Map<string, PoolTotals>();
  for (const w of state.workers()) {
    let t = pools.get(w.pool);
    if (t === undefined) pools.set(w.pool, (t = { credit: 0, capacity: 0, streams: 0, ready: 0, draining: 0 }));
    // A draining worker takes no new request whatever credit it last announced.
    if (!w.draining) t.credit += Math.max(0, w.credit);
    t.capacity += w.capacity;
    t.streams += w.inFlight;
    t[workerState(w)]++;
  }
  return pools;
}

const NO_WEBSOCKETS = { open: 0, messagesIn: 0, messagesOut: 0 } as const;

export function registerScrapeMetrics(state: RouterLiveState): void {
  const registers = [state.metrics.registry];
  new Gauge({
    name: 'zeroproxy_requests_in_flight',
    help: 'Unfinished HTTP requests, queued ones included',
    registers,
    collect(this: Gauge) {
      this.set(state.inFlight());
    },
  });
  new Gauge({
    name: 'zeroproxy_queue_depth',
    help: 'Requests waiting for a worker with credit',
    registers,
    collect(this: Gauge) {
      this.set(state.queued());
    },
  });
  const states: readonly WorkerState[] = ['ready', 'draining'];
  new Gauge({
    name: 'zeroproxy_workers',
    help: 'Registered workers by pool and state (ready, draining)',
    labelNames: ['pool', 'state'],
    registers,
    collect(this: Gauge<'pool' | 'state'>) {
      this.reset();
      for (const [pool, t] of totalsByPool(state)) for (const s of states) this.set({ pool, state: s }, t[s]);
    },
  });
  const perPool = (name: string, help: string, pick: (t: PoolTotals) => number): void => {
    new Gauge({
      name,
      help,
      labelNames: ['pool'],
      registers,
      collect(this: Gauge<'pool'>) {
        this.reset();
        for (const [pool, t] of totalsByPool(state)) this.set({ pool }, pick(t));
      },
    });
  };
  perPool('zeroproxy_worker_credit', 'Free request slots announced by ready workers (credit), summed by pool', (t) => t.credit);
  perPool('zeroproxy_worker_capacity', 'Capacity announced in HELLO, summed by pool', (t) => t.capacity);
  perPool('zeroproxy_worker_streams', 'Streams open on workers, summed by pool', (t) => t.streams);
  new Counter({
    name: 'zeroproxy_protocol_drops_total',
    help: 'Messages from workers dropped instead of acted on, by reason (ZP_ERR_* decode codes, unknown_peer, hello_refused, unexpected_type, stream_not_owned, stream_after_reset, credit_over_cap, curve_denied)',
    labelNames: ['reason'],
    registers,
    collect(this: Counter<'reason'>) {
      this.reset();
      for (const [reason, n] of Object.entries(state.drops())) this.inc({ reason }, n);
    },
  });
  new Gauge({
    name: 'zeroproxy_router_info',
    help: 'Constant 1, labelled with the router id and epoch (changes on restart)',
    labelNames: ['router_id', 'epoch'],
    registers,
    collect(this: Gauge<'router_id' | 'epoch'>) {
      this.reset();
      this.set({ router_id: state.routerId, epoch: state.epoch }, 1);
    },
  });
  const websockets = state.websockets ?? (() => NO_WEBSOCKETS);
  new Gauge({
    name: 'zeroproxy_websocket_connections',
    help: 'Open WebSocket connections (after the 101)',
    registers,
    collect(this: Gauge) {
      this.set(websockets().open);
    },
  });
  new Counter({
    name: 'zeroproxy_websocket_messages_total',
    help: 'WebSocket messages relayed, by direction (in: from clients, out: to clients)',
    labelNames: ['direction'],
    registers,
    collect(this: Counter<'direction'>) {
      this.reset();
      const counts = websockets();
      this.inc({ direction: 'in' }, counts.messagesIn);
      this.inc({ direction: 'out' }, counts.messagesOut);
    },
  });
  // Standard process_* and nodejs_* metrics (CPU, memory, event-loop lag, GC), as Prometheus users expect.
  collectDefaultMetrics({ register: state.metrics.registry });
}
