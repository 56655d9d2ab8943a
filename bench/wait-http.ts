/** Polls a URL until it answers 200 (for nginx/haproxy, which print nothing when ready). Bounded. */
import { request } from 'node:http';
import type { ManagedChild } from './children.ts';

const POLL_INTERVAL_MS = 50;

function getStatus(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(url, { method: 'GET', agent: false, timeout: 1000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', () => resolve(0));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
    req.end();
  });
}

export async function waitForHttp200(url: string, child: ManagedChild, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 0;
  while (Date.now() < deadline) {
    if (!child.running) throw new Error(`${child.name} exited before answering ${url}; last output:\n${child.tail()}`);
    last = await getStatus(url);
    if (last === 200) return;
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
  throw new Error(`${child.name}: ${url} did not answer 200 within ${timeoutMs} ms (last status ${last}); output:\n${child.tail()}`);
}
