/** Admin endpoint, metrics and dashboard: what the rest of the router imports from here. */
export { RouterMetrics, LATENCY_BUCKETS_SECONDS, STATUS_CLASSES, type StatusClass } from './metrics.ts';
export { startAdminServer, type AdminListenOptions, type RunningAdmin } from './server.ts';
export type { RouterLiveState, WorkerView, WorkerState } from './live-state.ts';
export type { WorkerReportEntry, WorkersReport, Readiness } from './workers-report.ts';
export type { StatsHistory, StatsPoint, StatsSummary } from './stats.ts';
export { routerLiveState, type RouterParts } from './router-state.ts';
