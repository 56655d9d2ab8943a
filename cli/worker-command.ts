/**
 * `zeroproxy worker`: connects to one or more routers and serves either an existing HTTP server
 * (--forward, the undici bridge) or a fetch-style handler module (--handler).
 */
import { resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { createCliLogger } from './log-output.ts';
import { createBridge, createWorker, defaultWorkerId, WORKER_DEFAULTS, BACKEND_PROBE_DEFAULTS, startBridgeWorker, DEFAULT_RESOLVE_INTERVAL_MS, DNS_PREFIX, parseDnsTarget, WEBSOCKET_BRIDGE_DEFAULTS, type FetchHandler } from '../worker-sdk/src/index.ts';
import { defaultExport, importUserModule } from '../router/src/util/load-module.ts';
import { parseEndpoint, parseInteger, parseUrl } from './parse.ts';
import { collectMeta, parseWeight, workerMeta } from './worker-meta.ts';
import { parsePublicKeyOrFile, parseSecretKeyFile } from './keygen-command.ts';

interface WorkerFlags {
  connect?: string[];
  resolveInterval: number;
  forward?: URL;
  handler?: string;
  capacity: number;
  pool: string;
  id?: string;
  window: number;
  drainTimeout: number;
  logLevel: string;
  meta?: Record<string, string>;
  weight?: number;
  curveSecret?: string;
  routerKey?: string;
  wsHandshakeTimeout: number;
  wsMaxMessage: number;
  backendProbeMax: number;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Loads a module whose default export is a fetch-style handler; anything else is a usage error. */
async function loadHandler(path: string, cmd: Command): Promise<FetchHandler> {
  const absolute = resolve(process.cwd(), path);
  let mod: { default?: unknown };
  try {
    mod = await importUserModule(absolute, 'handler module');
  } catch (err) {
    cmd.error(`error: ${(err as Error).message}`, { exitCode: 2 });
  }
  const handler = defaultExport(mod, (value): value is FetchHandler => typeof value === 'function');
  if (!handler) {
    cmd.error(`error: handler module ${absolute} has no default export function (request, ctx) => Response`, { exitCode: 2 });
  }
  return handler;
}

/** Repeatable / comma-separated list of ZeroMQ endpoints and dns:<name>:<port> targets. */
function collectRouterTargets(value: string, previous: string[] | undefined): string[] {
  const list = value.split(',').map((entry) => {
    const s = entry.trim();
    if (!s.startsWith(DNS_PREFIX)) return parseEndpoint(s);
    try {
      return parseDnsTarget(s).spec;
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message);
    }
  });
  return [...(previous ?? []), ...list];
}

export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description('serve requests from zeroproxy routers: bridge an HTTP server or run a fetch-style handler')
    .requiredOption('--connect <endpoint[,endpoint...]>', 'router endpoint(s), e.g. tcp://127.0.0.1:5555, or dns:<name>:<port> (every A/AAAA record is a router)', collectRouterTargets)
    .option('--resolve-interval <ms>', 'how often dns: names are re-resolved', parseInteger(10, 2 ** 31 - 1), DEFAULT_RESOLVE_INTERVAL_MS)
    .addOption(new Option('--forward <url>', 'forward every request to this HTTP server').argParser(parseUrl).conflicts('handler'))
    .addOption(new Option('--handler <module>', 'module whose default export is (request, ctx) => Response').conflicts('forward'))
    .option('--ws-handshake-timeout <ms>', 'with --forward: time the backend has to accept a WebSocket', parseInteger(1, 2 ** 31 - 1), WEBSOCKET_BRIDGE_DEFAULTS.handshakeTimeoutMs)
    .option('--ws-max-message <bytes>', 'with --forward: largest WebSocket message either way (larger closes with 1009)', parseInteger(1, 2 ** 31 - 1), WEBSOCKET_BRIDGE_DEFAULTS.maxMessageBytes)
    .option('--backend-probe-max <ms>', `with --forward: while the backend refuses connections the worker leaves the pool and probes it (TCP connect) from ${BACKEND_PROBE_DEFAULTS.probeMinMs} ms, doubling up to this`, parseInteger(BACKEND_PROBE_DEFAULTS.probeMinMs, 2 ** 31 - 1), BACKEND_PROBE_DEFAULTS.probeMaxMs)
    .option('--capacity <n>', 'concurrent requests per router', parseInteger(1, 1_000_000), WORKER_DEFAULTS.capacity)
    .option('--pool <name>', 'pool this worker serves', WORKER_DEFAULTS.pool)
    .option('--id <id>', 'worker id (default <hostname>/<pid>/<random>)')
    .option('--window <bytes>', 'request-body window per stream', parseInteger(1024, 0x7fffffff), WORKER_DEFAULTS.window)
    .option('--drain-timeout <ms>', 'time in-flight requests get on shutdown', parseInteger(0, 2 ** 31 - 1), WORKER_DEFAULTS.drainTimeoutMs)
    .addOption(new Option('--log-level <level>', 'log level').choices(LOG_LEVELS).default('info'))
    .option('--meta <key=value>', 'label announced in HELLO meta (repeatable), e.g. labels=eu,ssd', collectMeta)
    .option('--weight <n>', 'shard weight announced in HELLO meta (default 1)', parseWeight)
    .addOption(new Option('--curve-secret <file>', 'CURVE: this worker\'s secret key file (zeroproxy keygen); needs --router-key').argParser(parseSecretKeyFile))
    .addOption(new Option('--router-key <key|file>', 'CURVE: the router\'s public key, or a file holding it').argParser(parsePublicKeyOrFile))
    .action(async (flags: WorkerFlags, cmd: Command) => {
      if (!flags.forward && !flags.handler) cmd.error('error: one of --forward <url> or --handler <module> is required', { exitCode: 2 });
      if ((flags.curveSecret === undefined) !== (flags.routerKey === undefined)) {
        cmd.error('error: CURVE needs both --curve-secret <file> and --router-key <key|file>', { exitCode: 2 });
      }
      const logger = createCliLogger(flags.logLevel); // JSON lines; readable lines on a terminal
      const handler = flags.handler ? await loadHandler(flags.handler, cmd) : undefined;
      const common = {
        connect: flags.connect!,
        resolveIntervalMs: flags.resolveInterval,
        capacity: flags.capacity,
        pool: flags.pool,
        id: flags.id ?? defaultWorkerId(),
        window: flags.window,
        drainTimeoutMs: flags.drainTimeout,
        logger,
        handleSignals: true,
        meta: workerMeta(flags),
        ...(flags.curveSecret !== undefined ? { curve: { secretKey: flags.curveSecret, serverKey: flags.routerKey! } } : {}),
      };
      if (handler) {
        const worker = createWorker({ ...common, handler });
        logger.debug({ workerId: worker.id }, 'worker created');
        return;
      }
      // A bridge is in the router's pool only while its backend takes connections (bridge-worker.ts).
      const bridge = createBridge({
        target: flags.forward!,
        connections: flags.capacity,
        logger,
        webSocketHandshakeTimeoutMs: flags.wsHandshakeTimeout,
        webSocketMaxMessageBytes: flags.wsMaxMessage,
        probeMaxMs: flags.backendProbeMax,
      });
      const worker = startBridgeWorker(bridge, common);
      logger.debug({ workerId: worker.id }, 'worker created');
    });
}
