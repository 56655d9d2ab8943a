/**
 * What a run measures — the wrk scenarios (GET 1 KB at each connection count, POST 64 KB echo) and
 * the streaming download — and the client side of a correct answer: before a target is loaded one
 * request per scenario must come back 200 with the exact body length (a proxy answering fast 502s
 * would otherwise top the table), and the download checks that every byte arrived while the memory
 * of the process in front is sampled. Every request is bounded by a deadline.
 */
import { request } from 'node:http';
import type { BenchOptions } from './options.ts';
import { ECHO_BODY_BYTES, ECHO_PATH, SMALL_BODY_BYTES, SMALL_PATH, STREAM_PATH } from './payloads.ts';
import { treeRssBytes } from './proc.ts';

export type WrkScenarioKind = 'get-1kb' | 'post-64kb';

export const SCENARIO_LABELS: Readonly<Record<WrkScenarioKind, string>> = { 'get-1kb': 'GET 1 KB', 'post-64kb': 'POST 64 KB echo' };

/** The POST runs at this many connections (when it is among --connections). */
const POST_CONNECTIONS = 50;

export interface Expectation {
  method: 'GET' | 'POST';
  path: string;
  body?: Buffer;
  /** Exact response body length expected with status 200. */
  responseBytes: number;
}

export interface WrkScenario {
  kind: WrkScenarioKind;
  connections: number;
  /** Lua script file name in bench/ (POST only). */
  script?: string;
  check: Expectation;
}

export function wrkScenarios(o: BenchOptions): WrkScenario[] {
  const get: WrkScenario[] = o.scenarios.includes('get')
    ? o.connections.map((connections) => ({ kind: 'get-1kb', connections, check: { method: 'GET', path: SMALL_PATH, responseBytes: SMALL_BODY_BYTES } }))
    : [];
  if (!o.scenarios.includes('post') || !o.connections.includes(POST_CONNECTIONS)) return get;
  const body = Buffer.alloc(ECHO_BODY_BYTES, 'p');
  return [...get, { kind: 'post-64kb', connections: POST_CONNECTIONS, script: 'post-64kb.lua', check: { method: 'POST', path: ECHO_PATH, body, responseBytes: ECHO_BODY_BYTES } }];
}

export function streamPath(bytes: number): string {
  return `${STREAM_PATH}?bytes=${bytes}`;
}

const CHECK_TIMEOUT_MS = 10_000;

/** One request, its body counted as it streams (never buffered); resolves with the bytes when 200 with exactly `responseBytes`. */
export function checkResponse(baseUrl: string, e: Expectation, timeoutMs = CHECK_TIMEOUT_MS): Promise<number> {
  const what = `${e.method} ${e.path}`;
  return new Promise((resolve, reject) => {
    // A deadline for the whole answer, not just for idle gaps: a trickle must end too.
    const deadline = setTimeout(() => req.destroy(new Error(`${what}: no full answer within ${timeoutMs} ms`)), timeoutMs);
    const done = (err: Error | null, bytes = 0): void => {
      clearTimeout(deadline);
      if (err) reject(err);
      else resolve(bytes);
    };
    const headers: Record<string, string> = e.body ? { 'content-type': 'application/octet-stream', 'content-length': String(e.body.length) } : {};
    const req = request(baseUrl + e.path, { method: e.method, headers, agent: false }, (res) => {
      let bytes = 0;
      res.on('data', (chunk: Buffer) => (bytes += chunk.length));
      res.on('end', () => {
        if (res.statusCode !== 200) done(new Error(`${what} answered ${res.statusCode}`));
        else if (bytes !== e.responseBytes) done(new Error(`${what} answered ${bytes} bytes, expected ${e.responseBytes}`));
        else done(null, bytes);
      });
      // Destroyed by the deadline, or the proxy cut the connection: 'close' without completion.
      res.on('close', () => {
        if (!res.complete) done(new Error(`${what} cut off after ${bytes} bytes`));
      });
    });
    req.on('error', (err) => done(err));
    req.end(e.body);
  });
}

export interface DownloadResult {
  bytes: number;
  seconds: number;
  mibPerSec: number;
  /** RSS of the process in front (router, nginx, haproxy; the backend for `direct`), MiB. */
  frontRssStartMiB: number | null;
  frontRssPeakMiB: number | null;
}

const MIB = 1024 * 1024;

/** Samples the RSS of `rootPid`'s tree every 50 ms until stopped; returns the first sample and the peak, in MiB. */
function sampleRss(rootPid: number): { stop(): Promise<{ start: number | null; peak: number | null }> } {
  let start: number | null | undefined;
  let peak: number | null = null;
  let pending: Promise<void> = Promise.resolve();
  const take = (): void => {
    // One sample at a time: a slow /proc scan must not pile up reads.
    pending = pending.then(async () => {
      const rss = await treeRssBytes(rootPid);
      const mib = rss === null ? null : Math.round((rss / MIB) * 10) / 10;
      if (start === undefined) start = mib;
      if (mib !== null && (peak === null || mib > peak)) peak = mib;
    });
  };
  take();
  const timer = setInterval(take, 50);
  return {
    async stop() {
      clearInterval(timer);
      take();
      await pending;
      return { start: start ?? null, peak };
    },
  };
}

/** GET `path` (a /stream of `bytes`) as fast as one client reads, with the front process tree's RSS sampled meanwhile. */
export async function runDownload(baseUrl: string, path: string, bytes: number, frontPid: number): Promise<DownloadResult> {
  const sampler = sampleRss(frontPid);
  const started = process.hrtime.bigint();
  // ~10 MB/s would be a broken proxy, not a slow one.
  const timeoutMs = 30_000 + Math.ceil(bytes / (10 * MIB)) * 1000;
  let failure: unknown;
  await checkResponse(baseUrl, { method: 'GET', path, responseBytes: bytes }, timeoutMs).catch((err: unknown) => (failure = err));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  // Always stop sampling, even when the download failed.
  const rss = await sampler.stop();
  if (failure !== undefined) throw failure;
  return { bytes, seconds, mibPerSec: bytes / MIB / seconds, frontRssStartMiB: rss.start, frontRssPeakMiB: rss.peak };
}
