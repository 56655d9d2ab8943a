/**
 * Keeps zeromq.js's zero-copy receive from driving V8 into back-to-back full collections.
 *
 * zeromq.js hands every received frame over 128 bytes to JavaScript as an external buffer and
 * reports its size to V8 (AdjustExternalMemory). Those buffers die young, but V8 only frees them in
 * a garbage collection, and when the external total grows by tens of MiB without one it runs a full
 * mark-compact: receiving 64 KB frames at ~400 MB/s meant ~40 mark-compacts per second, a quarter
 * of a worker's time (bench/micro/zmq-receive-gc.ts). A young-generation collection frees the same
 * buffers in well under a millisecond when the young heap is small, so the receive loops count the
 * bytes they take in and ask for one after every `thresholdBytes`.
 *
 * The collector is V8's own `gc` function, exposed at run time (the documented --expose-gc flag set
 * through v8.setFlagsFromString, then read from a fresh context): nothing to pass on the command line.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Bytes received between two young-generation collections (well under V8's external-memory trigger). */
export const DEFAULT_EXTERNAL_GC_BYTES = 16 * 1024 * 1024;

type MinorGc = (options: { type: 'minor' }) => void;

let minorGc: MinorGc | null | undefined;

/** V8's gc function, or null where it cannot be had (then nothing is collected early). */
function collector(): MinorGc | null {
  if (minorGc === undefined) {
    try {
      setFlagsFromString('--expose-gc');
      minorGc = runInNewContext('gc') as MinorGc;
    } catch {
      minorGc = null;
    }
  }
  return minorGc;
}

export class ReceivedBytesGc {
  private pending = 0;
  private readonly gc: MinorGc | null;

  constructor(private readonly thresholdBytes: number = DEFAULT_EXTERNAL_GC_BYTES) {
    this.gc = thresholdBytes > 0 ? collector() : null;
  }

  /** Counts the bytes of one received message; collects the young generation past the threshold. */
  note(bytes: number): void {
    this.pending += bytes;
    if (this.pending < this.thresholdBytes || this.gc === null) return;
    this.pending = 0;
    this.gc({ type: 'minor' });
  }
}
