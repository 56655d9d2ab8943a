/**
 * Router discovery by DNS: `dns:<name>:<port>` in a worker's connect list stands for every A/AAAA
 * record of <name> (a Kubernetes headless service lists one per router pod), each connected as
 * tcp://<ip>:<port>. This file parses connect lists and builds endpoints; discovery-resolver.ts
 * asks DNS, discovery-watcher.ts re-asks on a timer.
 */
import { isIP } from 'node:net';

export const DNS_PREFIX = 'dns:';
/** Default time between two resolutions of one name. */
export const DEFAULT_RESOLVE_INTERVAL_MS = 5000;
/** A name answering more addresses than this keeps the first ones (every table has a limit). */
export const MAX_ADDRESSES_PER_NAME = 64;

/** Resolves a name to IP addresses; [] means "no such name / no records"; a throw means "try later". */
export type Resolver = (name: string) => Promise<string[]>;

export interface DnsTarget {
  /** As written, e.g. "dns:routers.default.svc:5555". */
  spec: string;
  name: string;
  port: number;
}

export interface ConnectList {
  /** Endpoints connected as given (tcp://, ipc://, inproc://). */
  endpoints: string[];
  /** Names re-resolved periodically. */
  dnsTargets: DnsTarget[];
}

/** A malformed `dns:` connect entry. */
export class DiscoveryTargetError extends RangeError {
  readonly code = 'ZP_ERR_DNS_TARGET';
  constructor(spec: string, reason: string) {
    super(`"${spec}" is not dns:<name>:<port> (${reason})`);
    this.name = 'DiscoveryTargetError';
  }
}

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62})(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62}))*\.?$/;

/** "dns:<name>:<port>" → target; throws DiscoveryTargetError. */
export function parseDnsTarget(spec: string): DnsTarget {
  if (!spec.startsWith(DNS_PREFIX)) throw new DiscoveryTargetError(spec, 'missing "dns:" prefix');
  const rest = spec.slice(DNS_PREFIX.length);
  const colon = rest.lastIndexOf(':');
  if (colon <= 0) throw new DiscoveryTargetError(spec, 'expected <name>:<port>');
  const name = rest.slice(0, colon);
  const portText = rest.slice(colon + 1);
  if (!HOSTNAME.test(name)) throw new DiscoveryTargetError(spec, `bad host name "${name}"`);
  if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) {
    throw new DiscoveryTargetError(spec, `port must be 1..65535, got "${portText}"`);
  }
  return { spec, name, port: Number(portText) };
}

/** Splits a connect list into fixed endpoints and DNS targets (duplicates removed). */
export function parseConnectList(entries: readonly string[]): ConnectList {
  const endpoints: string[] = [];
  const dnsTargets: DnsTarget[] = [];
  for (const entry of new Set(entries)) {
    if (entry.startsWith(DNS_PREFIX)) dnsTargets.push(parseDnsTarget(entry));
    else endpoints.push(entry);
  }
  return { endpoints, dnsTargets };
}

/** tcp://1.2.3.4:5555 or tcp://[::1]:5555; undefined for something that is not an IP address. */
export function endpointForAddress(address: string, port: number): string | undefined {
  const family = isIP(address);
  if (family === 4) return `tcp://${address}:${port}`;
  if (family === 6) return `tcp://[${address}]:${port}`;
  return undefined;
}

/** True when connecting needs the socket's IPv6 option (an IPv6 literal, or DNS that may answer AAAA). */
export function needsIpv6(list: ConnectList): boolean {
  return list.dnsTargets.length > 0 || list.endpoints.some((e) => e.startsWith('tcp://['));
}
