/**
 * `zeroproxy router`: flags → RouterOptions (defaults from ROUTER_DEFAULTS, shown in --help), then
 * run until SIGTERM/SIGINT: stop accepting, finish in-flight (≤ --drain-timeout), BYE, exit 0.
 */
import { Option, type Command } from 'commander';
import { ROUTER_DEFAULTS, startRouter, type RouterOptions, type RunningRouter } from '../router/src/index.ts';
import { ADMIN_TOKEN_ENV, checkAdminToken, MIN_ADMIN_TOKEN_LENGTH } from '../router/src/admin/access.ts';
import { exitOnConfigError } from '../router/src/config/errors.ts';
import { parseEndpoint, parseHostPort, parseInteger, type HostPort } from './parse.ts';
import { accessLogOption, checkFrontDoorFlags, tlsCertOption, tlsKeyOption, type FrontDoorFlags } from './front-door-options.ts';
import { createCliLogger } from './log-output.ts';
import { parseSecretKeyFile } from './keygen-command.ts';
import { childRouterIdentity, childUsesReusePort, endpointsForProcesses, MAX_PROCESSES, reportListening, runRouterCluster, shouldRunPrimary } from './router-cluster.ts';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

interface RouterFlags extends FrontDoorFlags {
  http: HostPort;
  bind: string;
  id: string;
  queueSize: number;
  queueTimeout: number;
  heartbeat: number;
  requestTimeout: number;
  retries: number;
  replayLimit: number;
  window: number;
  maxBodySize: number;
  maxHeaderSize: number;
  drainTimeout: number;
  logLevel: string;
  admin?: HostPort;
  adminToken?: string;
  adminAllowedHosts?: string[];
  headerTimeout: number;
  bodyTimeout: number;
  retryBudget: number;
  maxWorkerStreams: number;
  maxWorkers: number;
  maxHellos: number;
  maxMessageSize: number;
  curveSecret?: string;
  allowWorkers?: string;
  config?: string;
  processes: number;
  wsMaxMessage: number;
  wsPingInterval: number;
  front: 'node' | 'native';
}

const D = ROUTER_DEFAULTS;

/** --admin with its token and extra Host names (admin/access.ts); undefined when --admin is absent. */
function adminOptions(flags: RouterFlags): RouterOptions['admin'] {
  if (flags.admin === undefined) return undefined;
  return {
    ...flags.admin,
    ...(flags.adminToken !== undefined ? { token: flags.adminToken } : {}),
    ...(flags.adminAllowedHosts !== undefined ? { allowedHosts: flags.adminAllowedHosts } : {}),
  };
}

function intOption(flags: string, description: string, min: number, max: number, defaultValue: number): Option {
  return new Option(flags, description).argParser(parseInteger(min, max)).default(defaultValue);
}

export function registerRouterCommand(program: Command): void {
  program
    .command('router')
    .description('Run the HTTP front door and the ZeroMQ endpoint workers connect to')
    .addOption(
      new Option('--http <[host:]port>', 'HTTP listen address')
        .argParser(parseHostPort(D.httpHost))
        .default({ host: D.httpHost, port: D.httpPort }, `${D.httpHost}:${D.httpPort}`),
    )
    .addOption(new Option('--bind <endpoint>', 'ZeroMQ endpoint workers connect to').argParser(parseEndpoint).default(D.bind))
    .addOption(new Option('--id <id>', 'router id announced to workers').default(D.id))
    .addOption(intOption('--queue-size <n>', 'requests that may wait for a worker', 0, 1_000_000, D.queueSize))
    .addOption(intOption('--queue-timeout <ms>', 'longest wait for a worker before 503', 1, 3_600_000, D.queueTimeoutMs))
    .addOption(intOption('--heartbeat <ms>', 'heartbeat interval (dead after 3 silent intervals)', 10, 3_600_000, D.heartbeatMs))
    .addOption(intOption('--request-timeout <ms>', 'deadline per request before 504 (0 = none)', 0, 86_400_000, D.requestTimeoutMs))
    .addOption(intOption('--retries <n>', 'retries on another worker after a worker failure', 0, 100, D.retries))
    .addOption(intOption('--replay-limit <bytes>', 'request body bytes kept for a retry', 0, 1 << 30, D.replayLimit))
    .addOption(intOption('--window <bytes>', 'response window granted to workers per stream', 1024, 0x7fffffff, D.window))
    .addOption(intOption('--max-body-size <bytes>', 'largest request body (413 beyond)', 0, Number.MAX_SAFE_INTEGER, D.maxBodySize))
    .addOption(intOption('--max-header-size <bytes>', 'largest request head (431 beyond)', 1024, 1 << 24, D.maxHeaderSize))
    .addOption(intOption('--drain-timeout <ms>', 'how long shutdown waits for in-flight requests', 0, 3_600_000, D.drainTimeoutMs))
    .addOption(new Option('--log-level <level>', 'log level').choices(LOG_LEVELS).default(D.logLevel))
    .addOption(new Option('--admin-token <token>', `with --admin: require "Authorization: Bearer <token>" on /metrics, /workers and /stats (≥ ${MIN_ADMIN_TOKEN_LENGTH} characters; prefer the env variable: it stays out of ps)`).env(ADMIN_TOKEN_ENV))
    .option('--admin-allowed-hosts <names>', 'with --admin: Host names answered besides loopback names and the bound address (comma-separated; others get 421)', (v: string) => v.split(',').map((s) => s.trim()).filter((s) => s !== ''))
    .addOption(new Option('--admin <[host:]port>', 'serve /metrics, /workers, /stats, /healthz, /readyz and the dashboard here (host defaults to 127.0.0.1; off by default)').argParser(parseHostPort('127.0.0.1')))
    .addOption(new Option('--config <file>', 'routing config (YAML or JSON): routes, plugin chains, pools; reloaded on change and SIGHUP'))
    .addOption(tlsCertOption())
    .addOption(tlsKeyOption())
    .addOption(accessLogOption())
    .addOption(intOption('--header-timeout <ms>', 'slow clients: the request head must arrive within this (408; HTTP/2: preface and each header block, else the session is closed)', 1, 3_600_000, D.headerTimeoutMs))
    .addOption(intOption('--body-timeout <ms>', 'slow clients: the whole request must arrive within this (408; HTTP/2: the stream is reset; 0 = none)', 0, 86_400_000, D.bodyTimeoutMs))
    .addOption(intOption('--retry-budget <percent>', 'retries allowed as % of recent requests (plus 10 per 10 s); beyond → 502', 0, 100, D.retryBudgetPercent))
    .addOption(intOption('--max-worker-streams <n>', 'most requests in flight on one worker, whatever credit it claims', 1, 1_000_000, D.maxWorkerStreams))
    .addOption(intOption('--max-workers <n>', 'most workers registered at once; more get ERROR overloaded', 1, 1_000_000, D.maxWorkers))
    .addOption(intOption('--max-hellos <n>', 'registering HELLOs one worker connection may send per heartbeat interval; more get ERROR protocol', 1, 1000, D.maxHellos))
    .addOption(intOption('--max-message-size <bytes>', 'largest ZeroMQ frame accepted from a peer (bigger: disconnected)', 65536, 64 * 1024 * 1024, D.maxMessageSize))
    .addOption(new Option('--curve-secret <file>', 'CURVE: router secret key file (from zeroproxy keygen); needs --allow-workers').argParser(parseSecretKeyFile))
    .addOption(new Option('--allow-workers <file|dir>', 'CURVE: allowed worker public keys, one per line, or a directory of *.pub files (re-read on SIGHUP)'))
    .addOption(intOption('--ws-max-message <bytes>', 'largest WebSocket message a client may send (close 1009 beyond)', 1, 64 * 1024 * 1024, D.wsMaxMessage))
    .addOption(intOption('--ws-ping-interval <ms>', 'ping WebSocket clients this often; drop one silent for a whole interval (0 = off)', 0, 3_600_000, D.wsPingIntervalMs))
    .addOption(
      new Option('--front <kind>', 'HTTP/1.1 front: node (node:http) or native (EXPERIMENTAL C front, issue 13 spike: cleartext, one process; node:http is used when it is not built)')
        .choices(['node', 'native'])
        .default(D.front),
    )
    .addOption(intOption('--processes <n>', 'router processes sharing the HTTP port, each binding its own ZeroMQ endpoint (--bind port + i, or ipc path + "-i")', 1, MAX_PROCESSES, 1))
    .action(async (flags: RouterFlags, cmd: Command) => {
      checkFrontDoorFlags(flags, cmd);
      if (flags.admin !== undefined && flags.adminToken !== undefined) {
        try {
          checkAdminToken(flags.adminToken);
        } catch (err) {
          cmd.error(`error: --admin-token / ${ADMIN_TOKEN_ENV}: ${(err as Error).message}`, { exitCode: 2 });
        }
      }
      if (shouldRunPrimary(flags.processes)) {
        try {
          endpointsForProcesses(flags.bind, flags.processes);
        } catch (err) {
          cmd.error(`error: ${(err as Error).message}`, { exitCode: 2 });
        }
        runRouterCluster({
          processes: flags.processes,
          bind: flags.bind,
          drainTimeoutMs: flags.drainTimeout,
          httpPort: flags.http.port,
          forwardSighup: flags.config !== undefined || flags.allowWorkers !== undefined,
          log: createCliLogger(flags.logLevel),
        });
        return;
      }
      // In a child of --processes: its own endpoint and router id; unchanged otherwise.
      const identity = childRouterIdentity(flags.bind, flags.id);
      // Handlers go in before anything else: a signal that arrives while starting (or right after
      // the "router listening" line) must still shut down cleanly rather than kill the process.
      let router: RunningRouter | undefined;
      let stopping = false;
      const shutdown = (): void => {
        if (stopping) return;
        stopping = true;
        if (router === undefined) return; // start-up finishes first, then closes (below)
        router.close().then(
          () => process.exit(0),
          (err: unknown) => {
            process.stderr.write(`zeroproxy router: shutdown failed: ${(err as Error).message}\n`);
            process.exit(1);
          },
        );
      };
      process.on('SIGTERM', shutdown);
      process.on('SIGINT', shutdown);
      router = await startRouter({
        httpHost: flags.http.host,
        httpPort: flags.http.port,
        httpReusePort: childUsesReusePort(),
        bind: identity.bind,
        id: identity.id,
        queueSize: flags.queueSize,
        queueTimeoutMs: flags.queueTimeout,
        heartbeatMs: flags.heartbeat,
        requestTimeoutMs: flags.requestTimeout,
        retries: flags.retries,
        replayLimit: flags.replayLimit,
        window: flags.window,
        maxBodySize: flags.maxBodySize,
        maxHeaderSize: flags.maxHeaderSize,
        drainTimeoutMs: flags.drainTimeout,
        logLevel: flags.logLevel,
        admin: adminOptions(flags),
        logger: createCliLogger(flags.logLevel),
        accessLog: flags.accessLog,
        tlsCert: flags.tlsCert,
        tlsKey: flags.tlsKey,
        headerTimeoutMs: flags.headerTimeout,
        bodyTimeoutMs: flags.bodyTimeout,
        retryBudgetPercent: flags.retryBudget,
        maxWorkerStreams: flags.maxWorkerStreams,
        maxWorkers: flags.maxWorkers,
        maxHellos: flags.maxHellos,
        maxMessageSize: flags.maxMessageSize,
        curveSecretKey: flags.curveSecret,
        allowWorkers: flags.allowWorkers,
        configFile: flags.config,
        wsMaxMessage: flags.wsMaxMessage,
        wsPingIntervalMs: flags.wsPingInterval,
        front: flags.front,
      }).catch(exitOnConfigError);
      reportListening(router);
      if (stopping) {
        stopping = false;
        shutdown();
      }
    });
}
