/**
 * `zeroproxy keygen [--out <prefix>]`: a new CURVE keypair (Z85, zeromq.js curveKeyPair()). With
 * --out it writes `<prefix>.key` (the secret, mode 0600, never overwritten) and `<prefix>.pub`;
 * without, it prints both. Also the flag parsers for key files used by `router` and `worker`.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import { curveKeyPair } from 'zeromq';
import { CurveKeyError, keyOrKeyFile, readSecretKeyPair, type CurveKeyPair } from '../proto/src/curve-keys.ts';

interface KeygenFlags {
  out?: string;
}

/** --curve-secret <file>: the secret key in it (a bad or unreadable file is a usage error, exit 2). */
export function parseSecretKeyFile(value: string): string {
  try {
    return readSecretKeyPair(value).secretKey;
  } catch (err) {
    if (err instanceof CurveKeyError) throw new InvalidArgumentError(err.message);
    throw err;
  }
}

/** --router-key <key|file>: the router's public key, given inline (40 Z85 characters) or as a file. */
export function parsePublicKeyOrFile(value: string): string {
  try {
    return keyOrKeyFile(value, 'router public key');
  } catch (err) {
    if (err instanceof CurveKeyError) throw new InvalidArgumentError(err.message);
    throw err;
  }
}

function writeKeyFiles(prefix: string, pair: CurveKeyPair): void {
  for (const file of [`${prefix}.key`, `${prefix}.pub`]) {
    if (existsSync(file)) throw Object.assign(new Error(`${file} exists`), { code: 'EEXIST' });
  }
  const created = new Date().toISOString();
  // 'wx': never overwrite an existing key by accident; 0600: only the owner reads the secret.
  writeFileSync(`${prefix}.key`, `# zeroproxy CURVE secret key (keep private), created ${created}\n# public key: ${pair.publicKey}\n${pair.secretKey}\n`, {
    mode: 0o600,
    flag: 'wx',
  });
  writeFileSync(`${prefix}.pub`, `# zeroproxy CURVE public key, created ${created}\n${pair.publicKey}\n`, { mode: 0o644, flag: 'wx' });
}

export function registerKeygenCommand(program: Command): void {
  program
    .command('keygen')
    .description('make a CURVE keypair for --curve-secret / --allow-workers / --router-key')
    .option('--out <prefix>', 'write <prefix>.key (secret, mode 0600) and <prefix>.pub instead of printing')
    .action((flags: KeygenFlags, cmd: Command) => {
      const pair = curveKeyPair();
      if (flags.out === undefined) {
        process.stdout.write(`public-key: ${pair.publicKey}\nsecret-key: ${pair.secretKey}\n`);
        return;
      }
      try {
        writeKeyFiles(flags.out, pair);
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        cmd.error(`error: cannot write ${flags.out}.key/.pub: ${e.code === 'EEXIST' ? 'a key file exists (not overwritten)' : e.message}`, { exitCode: 2 });
      }
      process.stdout.write(`wrote ${flags.out}.key (secret) and ${flags.out}.pub (public: ${pair.publicKey})\n`);
    });
}
