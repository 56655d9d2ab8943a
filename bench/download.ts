/**
 * The streaming-download scenario: one GET of a large body, read as fast as the client can, while
 * the front process's memory is sampled. A node:http client: it streams (never buffers) and
 * checks that every byte arrived.
 */
import { request } from 'node:http';
import { treeRssBytes } from './proc.ts';

export interface DownloadResult {
  bytes: number;
  seconds: number;
  mibPerSec: number;
  /** RSS of the process in front (router, nginx, haproxy; the backend for `direct`), MiB. */
  frontRssStartMiB: number | null;
  frontRssPeakMiB: number | null;
}

/** The whole download must end; ~10 MB/s would be a broken proxy, not a slow one. */
function timeoutFor(bytes: number): number {
  return 30_000 + Math.ceil(bytes / (10 * 1024 * 1024)) * 1000;
}

function fetchCounting(url: string, expectedBytes: number): Promise<number> {
  const limitMs = timeoutFor(expectedBytes);
  return new Promise<number>((resolve, reject) => {
    // A deadline for the whole download, not just for idle gaps: a trickle must end too.
    const deadline = setTimeout(() => req.destroy(new Error(`download did not finish within ${limitMs} ms`)), limitMs);
    const done = (err: Error | null, bytes = 0): void => {
      clearTimeout(deadline);
      if (err) reject(err);
      else resolve(bytes);
    };
    const req = request(url, { method: 'GET', agent: false }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        done(new Error(`download answered ${res.statusCode}`));
        return;
      }
      let bytes = 0;
      res.on('data', (chunk: Buffer) => (bytes += chunk.length));
      res.on('end', () => done(bytes === expectedBytes ? null : new Error(`download got ${bytes} bytes, expected ${expectedBytes}`), bytes));
      res.on('error', (err) => done(new Error(`download cut off after ${bytes} bytes: ${err.message}`)));
      // Destroyed by the deadline, or the proxy cut the connection: 'close' without completion.
      res.on('close', () => {
        if (!res.complete) done(new Error(`download cut off after ${bytes} bytes`));
      });
    });
    req.on('error', (err) => done(err));
    req.end();
  });
}


/** Samples the tree's RSS every 50 ms until stopped; returns the first sample and the maximum. */
function sampleRss(rootPid: number): { stop(): Promise<{ startBytes: number | null; peakBytes: number | null }> } {
  let startBytes: number | null | undefined;
  let peakBytes: number | null = null;
  let pending: Promise<void> = Promise.resolve();
  const take = (): void => {
    // One sample at a time: a slow /proc scan must not pile up reads.
    pending = pending.then(async () => {
      const rss = await treeRssBytes(rootPid);
      if (startBytes === undefined) startBytes = rss;
      if (rss !== null && (peakBytes === null || rss > peakBytes)) peakBytes = rss;
    });
  };
  take();
  const timer = setInterval(take, 50);
  return {
    async stop() {
      clearInterval(timer);
      take();
      await pending;
      return { startBytes: startBytes ?? null, peakBytes };
    },
  };
}

const MIB = 1024 * 1024;

export async function runDownload(url: string, expectedBytes: number, frontPid: number): Promise<DownloadResult> {
  const sampler = sampleRss(frontPid);
  const started = process.hrtime.bigint();
  let bytes: number;
  try {
    bytes = await fetchCounting(url, expectedBytes);
  } catch (err) {
    // Always stop sampling, even when the download failed.
    await sampler.stop();
    throw err;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const rss = await sampler.stop();
  const toMiB = (b: number | null): number | null => (b === null ? null : Math.round((b / MIB) * 10) / 10);
  return {
    bytes,
    seconds,
    mibPerSec: bytes / MIB / seconds,
    frontRssStartMiB: toMiB(rss.startBytes),
    frontRssPeakMiB: toMiB(rss.peakBytes),
  };
}
