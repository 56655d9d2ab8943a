/** zeroproxy worker SDK: public API. */
export { createWorker, defaultWorkerId, WORKER_DEFAULTS, type Worker, type WorkerOptions } from './worker.ts';
export { fetchHandlerToStreamHandler, type FetchContext, type FetchHandler } from './fetch-handler.ts';
export { LightResponse } from './light-response.ts';
export { flattenHeaders, type ResponseHeaders, type Stream, type StreamHandler } from './stream.ts';
export { createBridge, stripHopByHop, type Bridge, type BridgeOptions } from './bridge.ts';
export { startBridgeWorker, type BridgeWorker, type BridgeWorkerOptions } from './bridge-worker.ts';
export { StreamResetError, StreamStateError, WebSocketStateError, WebSocketUpgradeError, type StreamEndCode } from './errors.ts';
export { WEBSOCKET_DEFAULTS, type WebSocketAcceptOptions, type WebSocketMessage, type WebSocketReadyState, type WorkerWebSocket } from './websocket.ts';
export { isWebSocketRequest, upgradeWebSocket } from './websocket-upgrade.ts';
export { type WorkerCurveOptions } from './curve.ts';
export { curvePublicKey, readSecretKeyPair, CurveKeyError, type CurveKeyPair } from '../../proto/src/curve-keys.ts';
// Defaults and parsers the CLI (and a user's own launcher) needs, so nothing imports deeper than this file.
export { BACKEND_PROBE_DEFAULTS } from './bridge-health.ts';
export { WEBSOCKET_BRIDGE_DEFAULTS } from './bridge-websocket.ts';
export { DEFAULT_RESOLVE_INTERVAL_MS, DNS_PREFIX, parseDnsTarget } from './discovery.ts';
