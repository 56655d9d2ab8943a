/**
 * Runs the config's routing for one new request and applies the plan: the changed head, the pool or
 * worker selection, response-header edits, and the decision — one worker (pinned), an attempt plan
 * (handed to the AttemptRunner) or a rejection. Returns true when the request was taken over.
 */
import { applyHeaderEdits } from '../plugins/chain.ts';
import type { LiveWorker } from '../plugins/types.ts';
import type { RoutingTable } from '../config/routing-table.ts';
import type { WorkerRecord } from '../workers/worker.ts';
import { AttemptRunner, type AttemptHost } from './attempts.ts';
import type { Stream } from './stream.ts';

export interface RoutingHost extends AttemptHost {
  readonly routing: RoutingTable | null;
  /** Registered workers of `pool` in registration order (read-only for plugins). */
  workersOf(pool: string): readonly LiveWorker[];
}

export function routeStream(host: RoutingHost, stream: Stream): boolean {
  const table = host.routing;
  if (table === null) return false;
  const plan = table.plan(stream.head, host.options.id, (pool) => host.workersOf(pool));
  if (plan.head !== stream.head) {
    const h = plan.head;
    Object.assign(stream.head, { method: h.method, authority: h.authority, path: h.path, headers: [...h.headers] });
  }
  stream.pool = plan.pool;
  stream.select = plan.meta;
  if (plan.responseHeaders.length > 0) stream.responseEdits = plan.responseHeaders;
  const d = plan.decision;
  if (d === null) return false;
  switch (d.kind) {
    case 'one':
      stream.target = d.worker as WorkerRecord; // the dispatcher's own record, seen read-only by plugins
      stream.pool = d.worker.pool;
      return false;
    case 'attempts': {
      // A WebSocket is one long exchange, not a response to race or compare: it goes to the plan's
      // first target only, retried like any request until the 101 (docs/http.md, "WebSocket").
      const first = d.targets[0];
      if ((stream.head.scheme === 'ws' || stream.head.scheme === 'wss') && first !== undefined) {
        if ('worker' in first) {
          stream.target = first.worker as WorkerRecord;
          stream.pool = first.worker.pool;
        } else {
          stream.pool = first.selector.pool;
          stream.select = first.selector.meta ?? null;
        }
        return false;
      }
      new AttemptRunner(host, stream, d, plan.route?.latency ?? null).start();
      return true;
    }
    case 'reject': {
      stream.detach();
      const body = JSON.stringify({ error: 'ZP_ERR_REJECTED', message: d.message, statusCode: d.status, requestId: stream.requestId });
      const headers = applyHeaderEdits(
        ['content-type', 'application/json', 'content-length', String(Buffer.byteLength(body)), 'x-request-id', stream.requestId, 'connection', 'close'],
        plan.responseHeaders,
      );
      try {
        stream.res.writeHead(d.status, headers);
        stream.res.end(body);
      } catch {
        stream.res.destroy();
      }
      stream.req.resume();
      stream.done();
      return true;
    }
  }
}
