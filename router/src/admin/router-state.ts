/** Builds the admin endpoint's read-only view of a running router from its parts. */
import type { Dispatcher } from '../core/dispatcher.ts';
import type { Registry } from '../workers/registry.ts';
import type { WebSocketCounters } from '../websocket/hub.ts';
import type { RouterLiveState } from './live-state.ts';

export interface RouterParts {
  routerId: string;
  registry: Registry;
  dispatcher: Dispatcher;
  /** False once shutdown began. */
  accepting: () => boolean;
  websockets?: WebSocketCounters;
}

export function routerLiveState(parts: RouterParts): RouterLiveState {
  const { registry, dispatcher } = parts;
  return {
    routerId: parts.routerId,
    epoch: registry.epoch,
    metrics: registry.transport.metrics,
    workers: () => registry.list(),
    inFlight: () => dispatcher.inFlight,
    queued: () => dispatcher.queued,
    // Refused responses are drops too (reasons prefixed `response_`: response framing, SPEC §7.3).
    drops: () => {
      const all = registry.drops.snapshot();
      for (const [reason, n] of Object.entries(dispatcher.responseIssues.snapshot())) all[`response_${reason}`] = n;
      return all;
    },
    accepting: parts.accepting,
    ...(parts.websockets ? { websockets: () => parts.websockets! } : {}),
  };
}
