/**
 * The default Resolver: every address the system resolver gives for a name (A and AAAA), through
 * getaddrinfo so /etc/hosts and the cluster's search domains apply as they do for any client.
 */
import { lookup } from 'node:dns/promises';
import type { Resolver } from './discovery.ts';

/** getaddrinfo errors that mean "this name has no addresses now" rather than "DNS is failing". */
const NO_SUCH_NAME = new Set(['ENOTFOUND', 'ENODATA']);

export const systemResolver: Resolver = async (name) => {
  try {
    const answers = await lookup(name, { all: true, verbatim: true });
    return [...new Set(answers.map((a) => a.address))];
  } catch (err) {
    if (NO_SUCH_NAME.has((err as NodeJS.ErrnoException).code ?? '')) return [];
    throw err;
  }
};
