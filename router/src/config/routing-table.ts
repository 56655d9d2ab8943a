/**
 * The compiled config: routes in file order, each with its match, pool and plugin chain. It is
 * immutable once built; a reload builds a new table and swaps it in, so requests already planned
 * keep what they were planned with.
 */
import { LatencyWindow } from '../core/attempts-latency.ts';
import { runChain, type RoutePlan } from '../plugins/chain.ts';
import type { LiveWorker, PluginHead, PluginInstance } from '../plugins/types.ts';
import { matches, type RouteMatch } from './route-match.ts';

export interface CompiledRoute {
  readonly name: string;
  readonly match: RouteMatch;
  readonly pool: string;
  readonly plugins: readonly PluginInstance[];
  /** Response-head latencies for hedge delays from the observed p95. */
  readonly latency: LatencyWindow;
}

export interface RoutedPlan extends RoutePlan {
  route: CompiledRoute | null;
}

export class RoutingTable {
  constructor(
    readonly file: string,
    readonly routes: readonly CompiledRoute[],
  ) {}

  /** The first matching route's chain applied to `head`; no match = the default pool, unchanged. */
  plan(head: PluginHead, routerId: string, workers: (pool: string) => readonly LiveWorker[]): RoutedPlan {
    for (const route of this.routes) {
      if (!matches(route.match, head)) continue;
      return { ...runChain(route.plugins, head, route.pool, routerId, workers), route };
    }
    return { head, pool: 'default', meta: null, responseHeaders: [], decision: null, route: null };
  }
}

export function newRoute(name: string, match: RouteMatch, pool: string, plugins: PluginInstance[]): CompiledRoute {
  return { name, match, pool, plugins, latency: new LatencyWindow() };
}
