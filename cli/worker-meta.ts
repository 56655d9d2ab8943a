/**
 * HELLO meta from worker flags: `--meta k=v` (repeatable), `--weight n` (shard weight), and for a
 * `--forward` bridge `forward=<target URL>` — routing config selects bridges by the URL they serve.
 */
import { InvalidArgumentError } from 'commander';

/** Repeatable `--meta key=value`. */
export function collectMeta(value: string, previous: Record<string, string> | undefined): Record<string, string> {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError(`"${value}" is not key=value`);
  const key = value.slice(0, eq);
  if (key === '__proto__' || !/^[\x21-\x7e]{1,64}$/.test(key)) throw new InvalidArgumentError(`"${key}" is not a valid meta key`);
  const v = value.slice(eq + 1);
  if (key === 'forward' && !URL.canParse(v)) throw new InvalidArgumentError(`forward="${v}" is not a URL`);
  return { ...previous, [key]: v };
}

/** A positive number (shard weight). */
export function parseWeight(value: string): number {
  const n = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || !(n > 0) || n > 1_000_000) throw new InvalidArgumentError(`"${value}" is not a weight > 0`);
  return n;
}

export function workerMeta(flags: { meta?: Record<string, string>; weight?: number; forward?: URL }): Record<string, string> {
  const meta: Record<string, string> = {};
  if (flags.forward !== undefined) meta['forward'] = flags.forward.href;
  if (flags.weight !== undefined) meta['weight'] = String(flags.weight);
  // An explicit --meta wins: e.g. a bridge to a local mirror announcing the public URL it stands for.
  const out = { ...meta, ...flags.meta };
  // Routing compares URLs in one form (new URL(x).href): "http://a" and "http://a/" are the same target.
  if (out['forward'] !== undefined) {
    try {
      out['forward'] = new URL(out['forward']).href;
    } catch {
      throw new InvalidArgumentError(`--meta forward="${out['forward']}" is not a URL`);
    }
  }
  return out;
}
