/**
 * The router's own retry count, from its admin endpoint's Prometheus text (`--admin`):
 * zeroproxy_retries_total. null when the router has no admin endpoint or does not export it.
 */
import { request } from 'undici';

const RETRIES = /^zeroproxy_retries_total(?:\{[^}]*\})?\s+(\d+(?:\.\d+)?(?:e[+-]?\d+)?)\s*$/gm;

export async function scrapeRetries(adminUrl: string | null): Promise<number | null> {
  if (adminUrl === null) return null;
  try {
    const res = await request(`${adminUrl.replace(/\/$/, '')}/metrics`, { headersTimeout: 5000, bodyTimeout: 5000 });
    const text = await res.body.text();
    if (res.statusCode !== 200) return null;
    let total: number | null = null;
    for (const m of text.matchAll(RETRIES)) total = (total ?? 0) + Number(m[1]);
    return total;
  } catch {
    return null;
  }
}
