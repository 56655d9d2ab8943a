/**
 * The admin endpoint (`zeroproxy router --admin [host:]port`, off by default): a separate small HTTP
 * server, so scrapes and probes never queue behind proxied traffic and are never proxied themselves.
 *
 *   GET /metrics   Prometheus text (prom-client)
 *   GET /workers   registered workers as JSON
 *   GET /stats     request rate and latency percentiles over the last minutes (for the dashboard)
 *   GET /healthz   200 while the process runs
 *   GET /readyz    200 when taking requests with ≥ 1 ready worker, else 503 with the reason
 *   GET /          the live dashboard
 *
 * Plain node:http (http-server.ts); routes.ts matches the paths and runs the access check first.
 * Access (access.ts): only Host names that are this endpoint's own address or loopback names are
 * answered (421 otherwise: DNS rebinding), and with `--admin-token` every data route needs
 * `Authorization: Bearer <token>` (401 otherwise). Still bind it to loopback or a private network
 * (the default host is 127.0.0.1): it is plain HTTP.
 */
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { urlOf } from '../util/server-lifecycle.ts';
import { adminAccessCheck } from './access.ts';
import { loadDashboard } from './dashboard.ts';
import { closeAdminServers, listenAdmin } from './http-server.ts';
import { jsonReply, textReply } from './reply.ts';
import { createAdminHandler, type AdminRoute } from './routes.ts';
import { registerScrapeMetrics } from './scrape-metrics.ts';
import type { RouterLiveState } from './live-state.ts';
import { StatsRecorder } from './stats.ts';
import { readiness, workersReport } from './workers-report.ts';

export interface AdminListenOptions {
  host: string;
  /** 0 asks for an ephemeral port. */
  port: number;
  /** Bearer token for every data route (access.ts); absent: Host check only. */
  token?: string;
  /** Host names answered besides loopback names and the bound address (access.ts). */
  allowedHosts?: readonly string[];
}

/** How often /stats samples, and how much history it keeps (the dashboard's chart width). */
export const STATS_INTERVAL_MS = 1000;
export const STATS_WINDOW_MS = 5 * 60_000;

export interface RunningAdmin {
  /** e.g. "http://127.0.0.1:9090" (the real port when 0 was asked). */
  url: string;
  close(): Promise<void>;
}

export async function startAdminServer(listen: AdminListenOptions, state: RouterLiveState, log: Logger): Promise<RunningAdmin> {
  const dashboard = await loadDashboard();
  registerScrapeMetrics(state);
  const stats = new StatsRecorder(state.metrics, log, STATS_INTERVAL_MS, STATS_WINDOW_MS);
  const registry = state.metrics.registry;

  const routes = new Map<string, AdminRoute>([
    ['/metrics', async () => textReply(200, registry.contentType, await registry.metrics())],
    ['/workers', () => jsonReply(200, workersReport(state, Date.now()))],
    [
      '/stats',
      () =>
        jsonReply(200, {
          routerId: state.routerId,
          time: Date.now(),
          inFlight: state.inFlight(),
          queued: state.queued(),
          websockets: state.websockets?.().open ?? 0,
          readiness: readiness(state),
          ...stats.history(),
        }),
    ],
    ['/healthz', () => jsonReply(200, { status: 'ok' })],
    [
      '/readyz',
      () => {
        const r = readiness(state);
        return jsonReply(r.ready ? 200 : 503, r);
      },
    ],
    ['/', () => textReply(200, 'text/html; charset=utf-8', dashboard.html, { 'content-security-policy': dashboard.contentSecurityPolicy })],
  ]);
  const access = adminAccessCheck(
    { bindHost: listen.host, ...(listen.token !== undefined ? { token: listen.token } : {}), ...(listen.allowedHosts ? { allowedHosts: listen.allowedHosts } : {}) },
    log,
  );
  const handler = createAdminHandler(routes, access, log);

  const servers = await listenAdmin(listen, handler);
  try {
    await stats.start();
  } catch (err) {
    stats.stop();
    await closeAdminServers(servers);
    throw err;
  }
  return {
    url: urlOf('http', servers[0]!.address() as AddressInfo),
    async close(): Promise<void> {
      stats.stop();
      await closeAdminServers(servers);
    },
  };
}
