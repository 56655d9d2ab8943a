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
export { curvePublicKey, readSecretKeyPair, CurveKeyError, type CurveKeyPair } from './curve-keys.ts';
