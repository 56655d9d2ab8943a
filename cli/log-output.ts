/**
 * Where the CLI's pino logs go: JSON lines on stdout (what tools and tests parse), or — when stdout
 * is a terminal — the same records as short readable lines, without adding pino-pretty.
 * ZEROPROXY_LOG_FORMAT=json|pretty overrides the terminal check.
 *
 * JSON lines logged in one event-loop turn leave in one write (the access log writes a line per
 * request: one write(2) each cost ~30% of the router's CPU per request at load). Lines wait at most
 * until the end of the turn; what is still buffered is written synchronously on process exit.
 */
import { pino, type DestinationStream, type Logger } from 'pino';

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
/** pino's own fields, shown in the line's fixed part or not at all. */
const HIDDEN = new Set(['level', 'time', 'pid', 'hostname', 'msg']);

function clock(time: unknown): string {
  const date = typeof time === 'number' ? new Date(time) : new Date();
  return date.toISOString().slice(11, 23);
}

function showValue(value: unknown): string {
  if (typeof value === 'string') return /[\s"=]/.test(value) || value === '' ? JSON.stringify(value) : value;
  return JSON.stringify(value) ?? String(value);
}

/** One pino record (parsed JSON) as a readable line, without the trailing newline. */
export function formatLogRecord(record: Record<string, unknown>): string {
  const level = (LEVEL_NAMES[record['level'] as number] ?? String(record['level'])).padEnd(5);
  const head = `${clock(record['time'])} ${level}`;
  if (record['msg'] === 'access') {
    // nginx-like: method path status duration, then the rest.
    const r = record;
    const rest = `in=${showValue(r['bytesIn'])} out=${showValue(r['bytesOut'])} worker=${showValue(r['workerId'])} attempts=${showValue(r['attempts'])} ${showValue(r['protocol'])} id=${showValue(r['requestId'])}`;
    return `${head} ${showValue(r['method'])} ${showValue(r['path'])} ${showValue(r['status'])} ${showValue(r['durationMs'])}ms ${rest}`;
  }
  const fields = Object.entries(record)
    .filter(([key]) => !HIDDEN.has(key))
    .map(([key, value]) => `${key}=${showValue(value)}`);
  return [head, String(record['msg'] ?? ''), ...fields].join(' ');
}

/** A pino destination that writes each JSON record as a readable line to `out`. */
export function prettyDestination(out: NodeJS.WritableStream): DestinationStream {
  return {
    write(line: string): void {
      let record: unknown;
      try {
        record = JSON.parse(line);
      } catch {
        out.write(line);
        return;
      }
      out.write(`${formatLogRecord(record as Record<string, unknown>)}\n`);
    },
  };
}

/** Whether to write readable lines instead of JSON. */
export function wantsPrettyLogs(env: NodeJS.ProcessEnv, stdoutIsTty: boolean): boolean {
  const format = env['ZEROPROXY_LOG_FORMAT'];
  if (format === 'json') return false;
  if (format === 'pretty') return true;
  return stdoutIsTty;
}

/** Most bytes held before a write even within one turn (bounds memory under a burst). */
const MAX_BATCH_BYTES = 64 * 1024;

/**
 * A destination that gathers the lines of one event-loop turn and hands them to `target` in one
 * write. `target` must take several lines per write (pino's sonic-boom does).
 */
export function turnBatchingDestination(target: DestinationStream): DestinationStream & { flush(): void } {
  let lines: string[] = [];
  let bytes = 0;
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    if (lines.length === 0) return;
    const chunk = lines.length === 1 ? lines[0]! : lines.join('');
    lines = [];
    bytes = 0;
    target.write(chunk);
  };
  return {
    write(line: string): void {
      lines.push(line);
      bytes += line.length;
      if (bytes >= MAX_BATCH_BYTES) flush();
      else if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
    flush,
  };
}

/** The CLI's logger: JSON on stdout, readable lines when stdout is a terminal. */
export function createCliLogger(level: string): Logger {
  if (wantsPrettyLogs(process.env, process.stdout.isTTY === true)) return pino({ level }, prettyDestination(process.stdout));
  // pino's own default destination (synchronous writes to fd 1), fed a turn's lines at a time.
  const batching = turnBatchingDestination(pino.destination({ dest: 1, sync: true }));
  process.once('exit', batching.flush);
  return pino({ level }, batching);
}
