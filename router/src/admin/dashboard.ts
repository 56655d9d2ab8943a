/**
 * The dashboard page: one static HTML file (dashboard.html, inline CSS and JS, no build step), read
 * once when the admin endpoint starts. Its Content-Security-Policy allows exactly that inline script
 * and style (by hash) and fetches to the same origin — nothing else, so even a worker id crafted as
 * markup could not run script in an operator's browser (the page also only ever uses textContent).
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';

const DASHBOARD_FILE = new URL('./dashboard.html', import.meta.url);

export interface DashboardPage {
  html: string;
  contentSecurityPolicy: string;
}

function inlineHashes(html: string, tag: 'script' | 'style'): string[] {
  const hashes: string[] = [];
  const re = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, 'g');
  for (const m of html.matchAll(re)) hashes.push(`'sha256-${createHash('sha256').update(m[1]!).digest('base64')}'`);
  return hashes;
}

export async function loadDashboard(): Promise<DashboardPage> {
  const html = await readFile(DASHBOARD_FILE, 'utf8');
  const csp = [
    "default-src 'none'",
    `script-src ${inlineHashes(html, 'script').join(' ')}`,
    `style-src ${inlineHashes(html, 'style').join(' ')}`,
    "connect-src 'self'",
    'img-src data:',
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  return { html, contentSecurityPolicy: csp };
}
