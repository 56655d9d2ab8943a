/**
 * How V8's garbage collector reacts to receiving ZeroMQ messages of a given size in Node, with the
 * receiver doing nothing but dropping them. zeromq.js hands every received frame larger than 128
 * bytes to JS zero-copy, as an external buffer it reports to V8 with AdjustExternalMemory; V8 answers
 * growing external memory with full mark-compact collections, not scavenges. This is what makes a
 * worker that receives 64 KB request bodies spend a quarter of its time in GC (README "Benchmarks").
 *
 * Usage: node --import tsx bench/micro/zmq-receive-gc.ts [--seconds S] [--sizes 1024,65536] [--early-gc-mib N]
 * Prints, per message size: messages/s, MB/s, and mark-compact and scavenge collections per second.
 * `--early-gc-mib N` runs the receive loop as the router and worker do: a young-generation
 * collection after every N MiB received (proto/src/external-memory.ts); 0 (default) = none.
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import * as zmq from 'zeromq';
import { ReceivedBytesGc } from '../../proto/src/external-memory.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '3' },
    sizes: { type: 'string', default: '1024,65536' },
    'early-gc-mib': { type: 'string', default: '0' },
    send: { type: 'string' },
    endpoint: { type: 'string' },
  },
});

/** Child mode: push messages of `size` bytes as fast as the socket takes them, until killed. */
async function sendForever(endpoint: string, size: number): Promise<never> {
  const socket = new zmq.Push({ sendHighWaterMark: 1000 });
  socket.connect(endpoint);
  const body = Buffer.alloc(size, 1);
  for (;;) await socket.send(body);
}

interface Row {
  size: number;
  messagesPerSec: number;
  mbPerSec: number;
  majorPerSec: number;
  minorPerSec: number;
}

async function measure(size: number, seconds: number, earlyGcBytes: number): Promise<Row> {
  const earlyGc = new ReceivedBytesGc(earlyGcBytes);
  const dir = mkdtempSync(join(tmpdir(), 'zp-gc-'));
  const endpoint = `ipc://${join(dir, 's.ipc')}`;
  const socket = new zmq.Pull();
  await socket.bind(endpoint);
  const sender = fork(new URL(import.meta.url).pathname, ['--send', String(size), '--endpoint', endpoint], { execArgv: ['--import', 'tsx'] });
  let major = 0;
  let minor = 0;
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = (e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind;
      if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) major++;
      else if (kind === constants.NODE_PERFORMANCE_GC_MINOR) minor++;
    }
  });
  try {
    // Warm up until the first message, then count for `seconds`.
    await socket.receive();
    observer.observe({ entryTypes: ['gc'] });
    const started = performance.now();
    let messages = 0;
    let bytes = 0;
    while (performance.now() - started < seconds * 1000) {
      const [frame] = await socket.receive();
      messages++;
      bytes += frame!.length;
      earlyGc.note(frame!.length);
    }
    const elapsed = (performance.now() - started) / 1000;
    // GC entries are delivered asynchronously: let the last ones arrive.
    await new Promise((resolve) => setTimeout(resolve, 50));
    return { size, messagesPerSec: messages / elapsed, mbPerSec: bytes / elapsed / 1e6, majorPerSec: major / elapsed, minorPerSec: minor / elapsed };
  } finally {
    observer.disconnect();
    sender.kill('SIGKILL');
    socket.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (values.send !== undefined) {
  await sendForever(values.endpoint!, Number(values.send));
} else {
  const seconds = Number(values.seconds);
  const sizes = values.sizes.split(',').map(Number);
  const earlyGcMib = Number(values['early-gc-mib']);
  if (!(seconds > 0 && seconds <= 60) || sizes.some((s) => !Number.isInteger(s) || s < 1 || s > 16 * 1024 * 1024) || !(earlyGcMib >= 0 && earlyGcMib <= 1024)) {
    process.stderr.write('usage: zmq-receive-gc.ts [--seconds 0..60] [--sizes 1024,65536] [--early-gc-mib 0..1024]\n');
    process.exit(2);
  }
  console.log('size B   msgs/s    MB/s  mark-compact/s  scavenge/s');
  for (const size of sizes) {
    const r = await measure(size, seconds, earlyGcMib * 1024 * 1024);
    console.log(
      `${String(r.size).padStart(6)} ${r.messagesPerSec.toFixed(0).padStart(8)} ${r.mbPerSec.toFixed(0).padStart(7)} ${r.majorPerSec.toFixed(1).padStart(15)} ${r.minorPerSec.toFixed(1).padStart(11)}`,
    );
  }
}
