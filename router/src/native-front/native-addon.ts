/**
 * The native HTTP/1.1 front's addon (native/, built by native/build.sh): its typed surface, and
 * loading it. A missing or unloadable build is not an error here: the caller falls back to the
 * node:http front door and says so once.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** Event record types of one batch (native/src/front.h; the flat layout is in native/src/events.c). */
export const NativeEvent = {
  OPEN: 1, // [1, id, remoteAddress]
  HEAD: 2, // [2, id, method, url, httpMinor, flags, rawHeaders]
  BODY: 3, // [3, id, Buffer]
  END: 4, // [4, id]
  CLOSE: 5, // [5, id]
  DRAIN: 6, // [6, id]
  HANDOFF: 7, // [7, id, fd, Buffer]
} as const;

/** HEAD flags. */
export const HeadFlag = { KEEP_ALIVE: 1, HAS_BODY: 2, UPGRADE: 4 } as const;

/** write() flags. */
export const WriteFlag = { END: 1, CLOSE: 2 } as const;

/** An opaque handle to one listening front. */
export type NativeFrontHandle = { readonly __brand: 'NativeFrontHandle' };

export interface NativeListenOptions {
  maxHeaderSize: number;
  headerTimeoutMs: number;
  /** 0 = none. */
  bodyTimeoutMs: number;
  keepAliveMs: number;
  /** write() results above this mean "wait for DRAIN". */
  highWaterMark: number;
  backlog?: number;
  /** How often timeouts are checked (ms). */
  sweepMs: number;
}

export interface NativeAddon {
  listen(host: string, port: number, options: NativeListenOptions, onEvents: (events: unknown[]) => void): [NativeFrontHandle, number];
  /** Bytes still queued on the connection after this write, or -1 when it is gone. */
  write(front: NativeFrontHandle, id: number, head: string | null, body: Buffer | null, flags: number): number;
  pause(front: NativeFrontHandle, id: number): boolean;
  resume(front: NativeFrontHandle, id: number): boolean;
  destroy(front: NativeFrontHandle, id: number): boolean;
  stop(front: NativeFrontHandle): void;
  closeAll(front: NativeFrontHandle): void;
}

/** Where native/build.sh puts the addon, from the source tree and from dist/. */
function candidates(): string[] {
  return ['../../../native/build/Release/zeroproxy_front.node', '../../../../native/build/Release/zeroproxy_front.node'].map((p) => fileURLToPath(new URL(p, import.meta.url)));
}

export type AddonLoad = { addon: NativeAddon; path: string } | { addon: null; reason: string };

/** Loads the addon, or says why it cannot be used (not built, or built for another Node). */
export function loadNativeAddon(): AddonLoad {
  const require = createRequire(import.meta.url);
  const found = candidates().find((p) => existsSync(p));
  if (found === undefined) return { addon: null, reason: 'native/build/Release/zeroproxy_front.node is not built (run native/build.sh)' };
  try {
    return { addon: require(found) as NativeAddon, path: found };
  } catch (err) {
    return { addon: null, reason: `${found}: ${(err as Error).message}` };
  }
}
