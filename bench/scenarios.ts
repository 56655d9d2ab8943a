/** The measured scenarios of one run, derived from the options, with what a correct answer looks like. */
import type { Expectation } from './check.ts';
import type { BenchOptions } from './options.ts';
import { ECHO_BODY_BYTES, ECHO_PATH, SMALL_BODY_BYTES, SMALL_PATH, STREAM_PATH } from './payloads.ts';

/** The POST runs at this many connections (when it is among --connections). */
export const POST_CONNECTIONS = 50;

export type WrkScenarioKind = 'get-1kb' | 'post-64kb';

export interface WrkScenario {
  kind: WrkScenarioKind;
  connections: number;
  path: string;
  /** Lua script file name in bench/ (POST only). */
  script?: string;
  check: Expectation;
}

export interface DownloadScenario {
  path: string;
  bytes: number;
  /** A smaller download first, so the measured one does not pay for cold code paths. */
  warmup: { path: string; bytes: number };
}

const DOWNLOAD_WARMUP_MAX_BYTES = 16 * 1024 * 1024;

export const SCENARIO_LABELS: Readonly<Record<WrkScenarioKind, string>> = { 'get-1kb': 'GET 1 KB', 'post-64kb': 'POST 64 KB echo' };

export function wrkScenarios(o: BenchOptions): WrkScenario[] {
  const list: WrkScenario[] = [];
  if (o.scenarios.includes('get')) {
    for (const connections of o.connections) {
      list.push({ kind: 'get-1kb', connections, path: SMALL_PATH, check: { method: 'GET', path: SMALL_PATH, responseBytes: SMALL_BODY_BYTES } });
    }
  }
  if (o.scenarios.includes('post') && o.connections.includes(POST_CONNECTIONS)) {
    list.push({
      kind: 'post-64kb',
      connections: POST_CONNECTIONS,
      path: ECHO_PATH,
      script: 'post-64kb.lua',
      check: { method: 'POST', path: ECHO_PATH, body: Buffer.alloc(ECHO_BODY_BYTES, 'p'), responseBytes: ECHO_BODY_BYTES },
    });
  }
  return list;
}

export function downloadScenario(o: BenchOptions): DownloadScenario | null {
  if (!o.scenarios.includes('download')) return null;
  const warmupBytes = Math.min(o.downloadBytes, DOWNLOAD_WARMUP_MAX_BYTES);
  return {
    path: `${STREAM_PATH}?bytes=${o.downloadBytes}`,
    bytes: o.downloadBytes,
    warmup: { path: `${STREAM_PATH}?bytes=${warmupBytes}`, bytes: warmupBytes },
  };
}
