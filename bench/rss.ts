/**
 * Resident memory of a process and its descendants (nginx's master + worker, a router), read from
 * /proc. Sampled while a download runs to find the peak. Linux only: elsewhere it reports null.
 */
import { readdir, readFile } from 'node:fs/promises';

const SAMPLE_INTERVAL_MS = 50;

async function parentOf(pid: number): Promise<number | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid …": comm may hold spaces or parentheses, so cut at the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[1]);
  } catch {
    return undefined;
  }
}

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
  let entries: string[];
  try {
    entries = await readdir('/proc');
  } catch {
    return null;
  }
  const pids = entries.filter((e) => /^\d+$/.test(e)).map(Number);
  const parents = await Promise.all(pids.map(async (pid) => [pid, await parentOf(pid)] as const));
  const tree = new Set([rootPid]);
  // Descendants: repeat until no new child joins (depth is tiny: master → worker).
  for (let changed = true, rounds = 0; changed && rounds < 16; rounds++) {
    changed = false;
    for (const [pid, ppid] of parents) {
      if (ppid !== undefined && tree.has(ppid) && !tree.has(pid)) {
        tree.add(pid);
        changed = true;
      }
    }
  }
  const sizes = await Promise.all([...tree].map(rssOf));
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
