/**
 * `npm run memory-check`: proves the router streams instead of buffering. Through a real router and
 * SDK worker (CLI processes): a 1 GiB upload to a worker that reads slowly, then a 1 GiB download
 * by a client that reads slowly — both checked (sha256 / byte for byte) — while the router's RSS is
 * sampled from /proc/<pid>/status. Prints progress each second and the RSS growth over the
 * baseline; exits 1 when it exceeds 64 MiB (or a transfer fails), 0 otherwise.
 *
 * Options: --bytes <n> (default 1 GiB), --limit-mib <n> (default 64).
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { Command } from 'commander';
import { parseInteger } from '../cli/parse.ts';
import { CHUNK_BYTES, contentBytes } from '../chaos/content.ts';
import { makeTempDir, ProcessGroup, readRssBytes, REPO_ROOT, startRouter, startWorker } from '../test/helpers/index.ts';

const MiB = 1024 * 1024;
/** The slow consumers pause this long after every 8 MiB. */
const PAUSE_MS = 40;
const READ_PAUSE_EVERY = 8 * MiB;
const SAMPLE_MS = 100;

interface Phase {
  name: string;
  done: number;
}

/** Samples the router's RSS; keeps the peak. */
class RssWatch {
  peak = 0;
  last = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly pid: number) {
    this.timer = setInterval(() => void this.sample(), SAMPLE_MS);
  }

  async sample(): Promise<number> {
    this.last = await readRssBytes(this.pid);
    this.peak = Math.max(this.peak, this.last);
    return this.last;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

function mib(bytes: number): string {
  return (bytes / MiB).toFixed(1);
}

/** Streams `total` content bytes to the sink; resolves with the worker's count and hash and ours. */
async function upload(url: string, total: number, phase: Phase): Promise<void> {
  const ours = createHash('sha256');
  async function* body(): AsyncGenerator<Buffer> {
    for (let offset = 0; offset < total; offset += CHUNK_BYTES) {
      const chunk = contentBytes(7, offset, Math.min(CHUNK_BYTES, total - offset));
      ours.update(chunk);
      phase.done = offset + chunk.length;
      yield chunk;
    }
  }
  const answer = await new Promise<string>((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent: false, headers: { 'content-type': 'application/octet-stream', 'content-length': String(total) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => (res.statusCode === 200 ? resolve(text) : reject(new Error(`upload answered ${res.statusCode}: ${text}`))));
      res.on('error', reject);
    });
    req.on('error', reject);
    pipeline(Readable.from(body()), req).catch(reject);
  });
  const got = JSON.parse(answer) as { bytes: number; sha256: string };
  const expected = ours.digest('hex');
  if (got.bytes !== total || got.sha256 !== expected) throw new Error(`upload arrived as ${got.bytes} bytes ${got.sha256}, sent ${total} bytes ${expected}`);
}

/** Reads `total` bytes slowly (pauses every 8 MiB), checking each byte. */
async function download(url: string, total: number, phase: Phase): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const req = http.get(url, { agent: false }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`download answered ${res.statusCode}`));
      let received = 0;
      let nextPause = READ_PAUSE_EVERY;
      res.on('data', (chunk: Buffer) => {
        if (!contentBytes(9, received, chunk.length).equals(chunk)) {
          req.destroy(new Error(`download bytes differ from offset ${received}`));
          return;
        }
        received += chunk.length;
        phase.done = received;
        if (received >= nextPause) {
          nextPause += READ_PAUSE_EVERY;
          res.pause();
          setTimeout(() => res.resume(), PAUSE_MS);
        }
      });
      res.on('end', () => (received === total ? resolve() : reject(new Error(`download got ${received} of ${total} bytes`))));
      res.on('error', reject);
      res.on('close', () => {
        if (!res.complete) reject(new Error(`download cut after ${received} bytes`));
      });
    });
    req.on('error', reject);
  });
}

async function main(): Promise<number> {
  const program = new Command('memory-check')
    .option('--bytes <n>', 'bytes to upload and to download', parseInteger(MiB, 16 * 1024 * MiB), 1024 * MiB)
    .option('--limit-mib <n>', 'largest allowed RSS growth of the router (MiB)', parseInteger(1, 1_000_000), 64)
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));
  program.parse(process.argv.slice(2), { from: 'user' });
  const { bytes: total, limitMib } = program.opts<{ bytes: number; limitMib: number }>();
  const group = new ProcessGroup();
  const tmp = makeTempDir('zp-mem-');
  try {
    // The default body limit (100 MiB) would answer 413: this check is about streaming, so lift it.
    const router = await startRouter(group, { bind: tmp.ipc('r.sock'), args: ['--max-body-size', String(total + MiB)] });
    await startWorker(group, { connect: router.bindEndpoint, id: 'memory-check', args: ['--handler', path.join(REPO_ROOT, 'chaos', 'handler.ts')] });
    const watch = new RssWatch(router.proc.pid);
    // Warm up (JIT, buffers, first connection), then take the baseline.
    await download(`${router.httpUrl}/chaos/stream?seed=9&bytes=${16 * MiB}`, 16 * MiB, { name: 'warm-up', done: 0 });
    await upload(`${router.httpUrl}/chaos/sink?seed=0&delay=0`, 16 * MiB, { name: 'warm-up', done: 0 });
    await sleep(500); // let the warm-up's garbage settle before the baseline
    const baseline = await watch.sample();
    watch.peak = baseline;
    process.stdout.write(`router pid ${router.proc.pid}, RSS baseline ${mib(baseline)} MiB; ${mib(total)} MiB each way, slow consumers\n`);

    const phase: Phase = { name: 'upload', done: 0 };
    const started = Date.now();
    let lastDone = 0;
    const progress = setInterval(() => {
      const rate = (phase.done - lastDone) / MiB;
      lastDone = phase.done;
      process.stdout.write(
        `[${String(Math.round((Date.now() - started) / 1000)).padStart(4)} s] ${phase.name.padEnd(8)} ${mib(phase.done).padStart(7)} / ${mib(total)} MiB  ${rate.toFixed(0).padStart(4)} MiB/s  router RSS ${mib(watch.last)} MiB (growth ${mib(watch.last - baseline)}, peak growth ${mib(watch.peak - baseline)})\n`,
      );
    }, 1000);
    try {
      await upload(`${router.httpUrl}/chaos/sink?seed=0&delay=${PAUSE_MS}`, total, phase);
      const afterUpload = watch.peak - baseline;
      phase.name = 'download';
      phase.done = 0;
      lastDone = 0;
      await download(`${router.httpUrl}/chaos/stream?seed=9&bytes=${total}`, total, phase);
      await watch.sample();
      watch.stop();
      const growth = watch.peak - baseline;
      process.stdout.write(`upload peak growth ${mib(afterUpload)} MiB, overall peak growth ${mib(growth)} MiB\n`);
      const verdict = growth <= limitMib * MiB ? 'OK' : 'FAIL';
      process.stdout.write(
        `memory-check ${verdict}: router RSS grew by ${mib(growth)} MiB (limit ${limitMib} MiB) over ${mib(2 * total)} MiB streamed in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
      );
      return verdict === 'OK' ? 0 : 1;
    } finally {
      clearInterval(progress);
      watch.stop();
    }
  } finally {
    await group.stopAll();
    tmp.remove();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`memory-check: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
