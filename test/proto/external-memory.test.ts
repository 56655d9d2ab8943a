/**
 * ReceivedBytesGc: the receive loops' early young-generation collection (proto/src/external-memory.ts).
 * Observed through node's own GC performance entries: a real collection, not a stand-in.
 */
import assert from 'node:assert/strict';
import { PerformanceObserver, constants, type PerformanceEntry } from 'node:perf_hooks';
import { test } from 'node:test';
import { ReceivedBytesGc } from '../../proto/src/external-memory.ts';

/** Runs `body`, then reports how many minor (young-generation) collections node saw meanwhile. */
async function minorCollectionsDuring(body: () => void): Promise<number> {
  let minor = 0;
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      if ((e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) minor++;
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  try {
    body();
    // GC entries are delivered asynchronously, after the collection.
    await new Promise((resolve) => setTimeout(resolve, 50));
  } finally {
    observer.disconnect();
  }
  return minor;
}

// V8 may run a scavenge of its own in a window (rarely: this process allocates almost nothing),
// so "none" allows one and exact counts allow one more.
test('below the threshold nothing is collected early; crossing it runs one young-generation collection', async () => {
  const gc = new ReceivedBytesGc(1_000_000);
  // Let start-up allocation (the test runner's included) be collected before counting.
  await minorCollectionsDuring(() => {});
  assert.ok((await minorCollectionsDuring(() => gc.note(999_999))) <= 1);
  assert.ok((await minorCollectionsDuring(() => gc.note(1))) >= 1);
  // The count starts again after a collection: 200 notes below the threshold collect nothing early.
  assert.ok((await minorCollectionsDuring(() => {
    for (let i = 0; i < 200; i++) gc.note(4_000);
  })) <= 1);
});

test('many messages: one collection per threshold crossed, never one per message', async () => {
  const gc = new ReceivedBytesGc(64 * 1024);
  const collections = await minorCollectionsDuring(() => {
    for (let i = 0; i < 1000; i++) gc.note(1024); // 1000 KiB in all: 15 crossings of 64 KiB
  });
  assert.ok(collections >= 15 && collections <= 16, `${collections} collections`);
});

test('a threshold of 0 turns it off', async () => {
  const gc = new ReceivedBytesGc(0);
  assert.ok((await minorCollectionsDuring(() => {
    for (let i = 0; i < 100; i++) gc.note(1024 * 1024);
  })) <= 1);
});
