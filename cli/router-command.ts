/**
 * `zeroproxy router`: flags → RouterOptions (defaults from ROUTER_DEFAULTS, shown in --help), then
 * run until SIGTERM/SIGINT: stop accepting, finish in-flight (≤ --drain-timeout), BYE, exit 0.
 */
import { Option, type Command } from 'commander';
import { ROUTER_DEFAULTS, startRouter, type RunningRouter } from '../router/src/index.ts';
import { parseEndpoint, parseHostPort, parseInteger, type HostPort } from './parse.ts';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

interface RouterFlags {
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
}

const D = ROUTER_DEFAULTS;

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
    .action(async (flags: RouterFlags) => {
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
        bind: flags.bind,
        id: flags.id,
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
      });
      if (stopping) {
        stopping = false;
        shutdown();
      }
    });
}
