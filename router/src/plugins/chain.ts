/**
 * Runs a route's ordered plugin chain (as Envoy's filter chain): each plugin may change the head,
 * the pool or the worker selection and add response-header edits; the first decision ends the chain.
 * A plugin that throws ends the request with 500 and never takes the router down.
 */
import { reject } from './decisions.ts';
import { removeHeaders, setHeader } from './headers.ts';
import type { Decision, HeaderEdit, LiveWorker, PluginHead, PluginInstance } from './types.ts';

export interface RoutePlan {
  head: PluginHead;
  pool: string;
  /** Worker selection by HELLO meta, or null for any worker of the pool. */
  meta: Readonly<Record<string, string>> | null;
  responseHeaders: HeaderEdit[];
  /** null: the core's default (least-in-flight in `pool`). */
  decision: Decision | null;
}

export function runChain(
  plugins: readonly PluginInstance[],
  head: PluginHead,
  pool: string,
  routerId: string,
  workers: (pool: string) => readonly LiveWorker[],
): RoutePlan {
  const plan: RoutePlan = { head, pool, meta: null, responseHeaders: [], decision: null };
  for (const plugin of plugins) {
    let out;
    try {
      out = plugin.decide(plan.head, { routerId, pool: plan.pool, workers });
    } catch (err) {
      plan.decision = reject(500, `plugin ${plugin.name} failed: ${(err as Error).message}`);
      return plan;
    }
    if (out === undefined) continue;
    if (out.head !== undefined) plan.head = out.head;
    if (out.pool !== undefined) plan.pool = out.pool;
    if (out.meta !== undefined) plan.meta = out.meta;
    if (out.responseHeaders !== undefined) plan.responseHeaders.push(out.responseHeaders);
    if (out.decision !== undefined) {
      plan.decision = out.decision;
      return plan;
    }
  }
  return plan;
}

/** Applies response-header edits in chain order to a flat header list. */
export function applyHeaderEdits(headers: string[], edits: readonly HeaderEdit[]): string[] {
  let out = headers;
  for (const edit of edits) {
    if (edit.remove !== undefined && edit.remove.length > 0) out = removeHeaders(out, new Set(edit.remove));
    for (const [name, value] of edit.set ?? []) out = setHeader(out, name, value);
  }
  return out;
}
