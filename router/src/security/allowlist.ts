/**
 * The worker allowlist: CURVE public keys allowed to connect, read from a file (one Z85 key a line,
 * `#` comments) or from a directory of such files (e.g. every worker's `<name>.pub`). Reading is
 * all-or-nothing: a bad line fails the load with its file and line, and the caller keeps the old list.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { CurveKeyError, parseCurveKey } from '../../../proto/src/curve-keys.ts';

/** Most keys an allowlist may hold (every table has a limit). */
export const MAX_ALLOWED_KEYS = 100_000;
/** Files larger than this are not key files. */
const MAX_FILE_BYTES = 16 * 1024 * 1024;

function keysOfFile(file: string, into: Set<string>): void {
  const size = statSync(file).size;
  if (size > MAX_FILE_BYTES) throw new CurveKeyError(`${file}: larger than ${MAX_FILE_BYTES} bytes`);
  const lines = readFileSync(file, 'utf8').split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line.length === 0 || line.startsWith('#')) continue;
    try {
      into.add(parseCurveKey(line, 'public key'));
    } catch (err) {
      throw new CurveKeyError(`${file}:${i + 1}: ${(err as Error).message}`);
    }
    if (into.size > MAX_ALLOWED_KEYS) throw new CurveKeyError(`more than ${MAX_ALLOWED_KEYS} allowed keys`);
  }
}

/**
 * Reads the allowlist at `location`: a file, or a directory whose `*.pub` files are read (other
 * files, e.g. secret `*.key` files someone left there, are ignored rather than trusted).
 */
export function readAllowlist(location: string): Set<string> {
  const keys = new Set<string>();
  let stats;
  try {
    stats = statSync(location);
  } catch (err) {
    throw new CurveKeyError(`cannot read allowlist ${location}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (stats.isDirectory()) {
    for (const name of readdirSync(location).sort()) {
      if (!name.endsWith('.pub')) continue;
      const file = path.join(location, name);
      if (statSync(file).isFile()) keysOfFile(file, keys);
    }
  } else {
    keysOfFile(location, keys);
  }
  return keys;
}
