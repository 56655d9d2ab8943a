/** Value parsers for CLI flags: each throws InvalidArgumentError with a one-line reason (exit code 2). */
import { InvalidArgumentError } from 'commander';

export function parseInteger(min: number, max: number = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value: string) => {
    if (!/^-?\d+$/.test(value)) throw new InvalidArgumentError(`"${value}" is not an integer`);
    const n = Number(value);
    if (n < min || n > max) throw new InvalidArgumentError(`${n} is out of range ${min}..${max}`);
    return n;
  };
}

export interface HostPort {
  host: string;
  port: number;
}

/** "[host:]port" → { host, port }; "[::1]:8080" for IPv6. Port 0 asks for an ephemeral port. */
export function parseHostPort(defaultHost: string): (value: string) => HostPort {
  return (value: string) => {
    const m = /^(?:\[([0-9a-fA-F:.]+)\]:|([^:\s]*):)?(\d{1,5})$/.exec(value.trim());
    if (!m) throw new InvalidArgumentError(`"${value}" is not [host:]port`);
    const port = Number(m[3]);
    if (port > 65535) throw new InvalidArgumentError(`port ${port} is out of range 0..65535`);
    const host = m[1] ?? (m[2] || defaultHost);
    return { host, port };
  };
}

/** A ZeroMQ endpoint: tcp://host:port (port may be * on bind), ipc://path or inproc://name. */
export function parseEndpoint(value: string): string {
  if (!/^(tcp:\/\/[^\s]+:(\d{1,5}|\*)|ipc:\/\/\S+|inproc:\/\/\S+)$/.test(value)) {
    throw new InvalidArgumentError(`"${value}" is not a ZeroMQ endpoint (tcp://host:port, ipc://path)`);
  }
  return value;
}

/** Repeatable / comma-separated endpoint list. */
export function collectEndpoints(value: string, previous: string[] | undefined): string[] {
  const list = value.split(',').map((s) => parseEndpoint(s.trim()));
  return [...(previous ?? []), ...list];
}

export function parseUrl(value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError(`"${value}" is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidArgumentError(`"${value}" is not an http(s) URL`);
  return url;
}
