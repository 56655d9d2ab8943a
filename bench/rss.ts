/**
 * Resident memory of a process and its descendants (nginx's master + worker, a router), read from
 * /proc. Sampled while a download runs to find the peak. Linux only: elsewhere it reports null.
 */
import { readFile } from 'node:fs/promises';
import { processTree } from './proc-stat.ts';

const SAMPLE_INTERVAL_MS = 50;

async function rssOf(pid: number): Promise<number> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const m = /^VmRSS:\s+(\d+) kB/m.exec(status);
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** RSS in bytes of `rootPid` plus all its descendants, or null when /proc cannot be read. */
export async function treeRssBytes(rootPid: number): Promise<number | null> {
  const tree = await processTree(rootPid);
  if (tree === null) return null;
  const sizes = await Promise.all(tree.map(rssOf));
  return sizes.reduce((a, b) => a + b, 0);
}

export interface RssPeak {
  startBytes: number | null;
  peakBytes: number | null;
}

/** Samples the tree's RSS every 50 ms until stopped; returns the first sample and the maximum. */
export function sampleRss(rootPid: number): { stop(): Promise<RssPeak> } {
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
  const timer = setInterval(take, SAMPLE_INTERVAL_MS);
  return {
    async stop() {
      clearInterval(timer);
      take();
      await pending;
      return { startBytes: startBytes ?? null, peakBytes };
    },
  };
}
