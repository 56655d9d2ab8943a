/**
 * `zeroproxy status`: the worker table of a running router, read from its admin endpoint
 * (`zeroproxy router --admin …`, GET /workers). Exit 0 with the table; exit 1 with one line on
 * stderr when the endpoint cannot be reached or does not answer with a worker report.
 *
 * Everything in the table comes from workers (ids, pools, meta): control characters are replaced
 * before printing, so a worker cannot send escape sequences to an operator's terminal.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { WorkerReportEntry, WorkersReport } from '../router/src/admin/index.ts';
import { ADMIN_TOKEN_ENV } from '../router/src/admin/access.ts';
import { parseInteger } from './parse.ts';

const DEFAULT_ADMIN = 'http://127.0.0.1:9090';
const DEFAULT_TIMEOUT_MS = 5000;
/** A report bigger than this is not one (MAX_WORKERS entries of bounded size fit easily). */
const MAX_REPORT_BYTES = 64 * 1024 * 1024;

interface StatusFlags {
  admin: URL;
  json?: boolean;
  timeout: number;
}

class StatusError extends Error {}

/** "127.0.0.1:9090" or "http://127.0.0.1:9090/" → the /workers URL. */
export function workersUrl(admin: string): URL {
  const base = /^[a-z][a-z0-9+.-]*:\/\//i.test(admin) ? admin : `http://${admin}`;
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    throw new StatusError(`"${admin}" is not an admin URL (e.g. ${DEFAULT_ADMIN})`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new StatusError(`"${admin}" is not an http(s) URL`);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/workers`;
  url.search = '';
  return url;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Checks that `value` is a /workers document (types at the boundary); throws StatusError if not. */
export function parseWorkersReport(value: unknown): WorkersReport {
  const bad = (what: string): never => {
    throw new StatusError(`the admin endpoint answered something that is not a worker report (${what})`);
  };
  if (!isRecord(value)) return bad('not an object');
  if (typeof value['routerId'] !== 'string') bad('routerId');
  if (typeof value['epoch'] !== 'string') bad('epoch');
  if (typeof value['time'] !== 'number') bad('time');
  const list = value['workers'];
  if (!Array.isArray(list)) return bad('workers');
  const workers = list.map((w: unknown, i): WorkerReportEntry => {
    if (!isRecord(w)) return bad(`workers[${i}]`);
    for (const k of ['id', 'pool', 'state'] as const) if (typeof w[k] !== 'string') bad(`workers[${i}].${k}`);
    for (const k of ['capacity', 'credit', 'inFlight', 'uptimeMs', 'lastHeartbeatAgeMs'] as const) if (typeof w[k] !== 'number') bad(`workers[${i}].${k}`);
    const meta = w['meta'];
    if (!isRecord(meta) || !Object.values(meta).every((v) => typeof v === 'string')) bad(`workers[${i}].meta`);
    return w as unknown as WorkerReportEntry;
  });
  return { routerId: value['routerId'] as string, epoch: value['epoch'] as string, time: value['time'] as number, workers };
}

/** Replaces control characters (C0, DEL, C1) so worker-supplied text cannot drive the terminal. */
function printable(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}

export function formatDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, '0')}m`;
  return `${Math.floor(s / 86400)}d${Math.floor(s / 3600) % 24}h`;
}

const COLUMNS = ['ID', 'POOL', 'STATE', 'CAPACITY', 'CREDIT', 'IN-FLIGHT', 'UPTIME', 'LAST-HEARTBEAT', 'META'] as const;
/** Numeric columns are right-aligned. */
const RIGHT = new Set<string>(['CAPACITY', 'CREDIT', 'IN-FLIGHT', 'UPTIME', 'LAST-HEARTBEAT']);

/** The worker table as lines of text, columns padded to their widest cell. */
export function formatWorkerTable(report: WorkersReport): string[] {
  const ready = report.workers.filter((w) => w.state !== 'draining').length;
  const draining = report.workers.length - ready;
  const title = `router "${printable(report.routerId)}": ${report.workers.length} worker${report.workers.length === 1 ? '' : 's'} (${ready} ready, ${draining} draining)`;
  if (report.workers.length === 0) return [title, 'no worker registered'];
  const rows = report.workers.map((w) => [
    printable(w.id),
    printable(w.pool),
    printable(w.state),
    String(w.capacity),
    String(w.credit),
    String(w.inFlight),
    formatDuration(w.uptimeMs),
    `${(w.lastHeartbeatAgeMs / 1000).toFixed(1)}s ago`,
    printable(
      Object.entries(w.meta)
        .map(([k, v]) => `${k}=${v}`)
        .join(' '),
    ),
  ]);
  const widths = COLUMNS.map((c, i) => Math.max(c.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : RIGHT.has(COLUMNS[i]!) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [title, line(COLUMNS), ...rows.map(line)];
}

/** The cause of a failed fetch in a few words ("ECONNREFUSED", "timed out after 5000 ms"). */
function describeFetchError(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) return `timed out after ${timeoutMs} ms`;
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (err as Error).message ?? String(err);
}

async function fetchReport(url: URL, timeoutMs: number): Promise<WorkersReport> {
  let res: Response;
  let text: string;
  try {
    // A router started with --admin-token: the same token, from the same environment variable.
    const token = process.env[ADMIN_TOKEN_ENV];
    const headers: Record<string, string> = { accept: 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) };
    res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers });
    text = await res.text();
  } catch (err) {
    throw new StatusError(`cannot reach ${url.href}: ${describeFetchError(err, timeoutMs)}`);
  }
  if (res.status === 401) throw new StatusError(`${url.href} needs the admin token: set ${ADMIN_TOKEN_ENV}`);
  if (res.status !== 200) throw new StatusError(`${url.href} answered HTTP ${res.status}`);
  if (text.length > MAX_REPORT_BYTES) throw new StatusError(`${url.href} answered more than ${MAX_REPORT_BYTES} bytes`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new StatusError(`${url.href} did not answer JSON`);
  }
  return parseWorkersReport(json);
}

/** --admin value → the /workers URL; a malformed one is a usage error (exit 2). */
function parseAdmin(value: string): URL {
  try {
    return workersUrl(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description("Print a running router's worker table (from its --admin endpoint)")
    .addOption(new Option('--admin <url>', 'admin endpoint of the router (host:port or URL)').argParser(parseAdmin).default(workersUrl(DEFAULT_ADMIN), DEFAULT_ADMIN))
    .addOption(new Option('--json', 'print the /workers document as JSON instead of a table'))
    .addOption(new Option('--timeout <ms>', 'give up after this long').argParser(parseInteger(1, 600_000)).default(DEFAULT_TIMEOUT_MS))
    .action(async (flags: StatusFlags) => {
      try {
        const report = await fetchReport(flags.admin, flags.timeout);
        const out = flags.json ? JSON.stringify(report, null, 2) : formatWorkerTable(report).join('\n');
        process.stdout.write(`${out}\n`);
      } catch (err) {
        if (!(err instanceof StatusError)) throw err;
        process.stderr.write(`zeroproxy status: ${err.message}\n`);
        process.exitCode = 1;
      }
    });
}
