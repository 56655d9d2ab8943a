/**
 * What the router checks in a decoded HELLO beyond the codec's field limits (SPEC §5.2, §10): the
 * bounds that keep one registration small, so `--max-workers` registrations bound the registry's
 * memory. Exported on its own so the rogue-peer test can model the registry's decisions exactly.
 */
import { PROTOCOL_VERSION, type Hello } from '../../../proto/src/index.ts';

/** Most bytes of HELLO.meta (UTF-8 keys + values) a registration may keep: 4096 workers × 8 KiB ≤ 32 MiB. */
export const MAX_META_BYTES = 8 * 1024;

export type HelloRefusal = { code: 'version' | 'protocol'; message: string };

/** Null when the HELLO may register; otherwise the ERROR to answer it with. */
export function helloRefusal(m: Hello): HelloRefusal | null {
  if (!m.versions.includes(PROTOCOL_VERSION)) return { code: 'version', message: `this router speaks version ${PROTOCOL_VERSION}` };
  let bytes = 0;
  for (const key of Object.keys(m.meta)) bytes += Buffer.byteLength(key) + Buffer.byteLength(m.meta[key]!);
  if (bytes > MAX_META_BYTES) return { code: 'protocol', message: `HELLO.meta is ${bytes} bytes, more than ${MAX_META_BYTES}` };
  return null;
}

/** A copy of HELLO.meta without a prototype: keys like `constructor` stay plain data. */
export function storedMeta(meta: Readonly<Record<string, string>>): Record<string, string> {
  const out = Object.create(null) as Record<string, string>;
  for (const key of Object.keys(meta)) out[key] = meta[key]!;
  return out;
}
