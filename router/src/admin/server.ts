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
 * Access (access.ts): only Host names that are this endpoint's own address or loopback names are
 * answered (421 otherwise: DNS rebinding), and with `--admin-token` every data route needs
 * `Authorization: Bearer <token>` (401 otherwise). Still bind it to loopback or a private network
 * (the default host is 127.0.0.1): it is plain HTTP.
 */
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import type { Logger } from 'pino';
import { registerAdminAccess } from './access.ts';
import { loadDashboard } from './dashboard.ts';
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

  const app = Fastify({ logger: false, forceCloseConnections: true });
  registerAdminAccess(app, { bindHost: listen.host, ...(listen.token !== undefined ? { token: listen.token } : {}), ...(listen.allowedHosts ? { allowedHosts: listen.allowedHosts } : {}) }, log);
  app.addHook('onSend', async (_request, reply) => {
    // Live numbers: never cached by a browser or an intermediary.
    reply.header('cache-control', 'no-store');
    reply.header('x-content-type-options', 'nosniff');
  });
  app.get('/metrics', async (_request, reply) => {
    const text = await registry.metrics();
    return reply.type(registry.contentType).send(text);
  });
  app.get('/workers', async () => workersReport(state, Date.now()));
  app.get('/stats', async () => ({
    routerId: state.routerId,
    time: Date.now(),
    inFlight: state.inFlight(),
    queued: state.queued(),
    websockets: state.websockets?.().open ?? 0,
    readiness: readiness(state),
    ...stats.history(),
  }));
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const r = readiness(state);
    return reply.code(r.ready ? 200 : 503).send(r);
  });
  app.get('/', async (_request, reply) =>
    reply.type('text/html; charset=utf-8').header('content-security-policy', dashboard.contentSecurityPolicy).send(dashboard.html),
  );

  try {
    await app.listen({ host: listen.host, port: listen.port });
    await stats.start();
  } catch (err) {
    stats.stop();
    await app.close().catch(() => undefined);
    throw err;
  }
  const address = app.server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    async close(): Promise<void> {
      stats.stop();
      await app.close();
    },
  };
}
