/**
 * `zeroproxy router` flags of the HTTP front door: TLS (--tls-cert/--tls-key) and the access log
 * (--no-access-log). Kept apart from router-command.ts so that file only wires them.
 */
import { accessSync, constants } from 'node:fs';
import { InvalidArgumentError, Option, type Command } from 'commander';

export interface FrontDoorFlags {
  tlsCert?: string;
  tlsKey?: string;
  /** commander's --no-access-log: true unless the flag is given. */
  accessLog: boolean;
}

/** A path to a file this process can read (checked at start, so a typo fails with exit 2). */
export function parseReadableFile(value: string): string {
  try {
    accessSync(value, constants.R_OK);
  } catch {
    throw new InvalidArgumentError(`cannot read file "${value}"`);
  }
  return value;
}

export function tlsCertOption(): Option {
  return new Option('--tls-cert <file>', 'TLS: PEM certificate chain; with --tls-key the port speaks HTTPS (ALPN h2, http/1.1)').argParser(parseReadableFile);
}

export function tlsKeyOption(): Option {
  return new Option('--tls-key <file>', 'TLS: PEM private key').argParser(parseReadableFile);
}

export function accessLogOption(): Option {
  return new Option('--no-access-log', 'do not log one "access" line per request (on by default, at info level)');
}

/** Exits 2 with one line when only one of the TLS pair is given. */
export function checkFrontDoorFlags(flags: FrontDoorFlags, cmd: Command): void {
  if ((flags.tlsCert === undefined) !== (flags.tlsKey === undefined)) {
    cmd.error('error: TLS needs both --tls-cert <file> and --tls-key <file>', { exitCode: 2 });
  }
}
