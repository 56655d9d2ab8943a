/** Starting a router process with its admin endpoint on, and reading that endpoint. */
import { httpRequest, startRouter, type ProcessGroup, type RouterProcess, type StartRouterOptions } from '../helpers/index.ts';
import { parseExposition, type Exposition } from './prometheus-text.ts';

export interface AdminRouterProcess extends RouterProcess {
  /** e.g. "http://127.0.0.1:43125" */
  adminUrl: string;
}

/** `zeroproxy router … --admin 127.0.0.1:0`; the admin URL comes from the "router listening" line. */
export async function startAdminRouter(group: ProcessGroup, options: StartRouterOptions): Promise<AdminRouterProcess> {
  const router = await startRouter(group, { ...options, args: ['--admin', '127.0.0.1:0', ...(options.args ?? [])] });
  const line = router.proc.findLogs((l) => l.msg === 'router listening')[0];
  const adminUrl = line?.['admin'];
  if (typeof adminUrl !== 'string' || !/^http:\/\/127\.0\.0\.1:\d+$/.test(adminUrl)) {
    throw new Error(`"router listening" line lacks the admin URL: ${JSON.stringify(line)}`);
  }
  return { ...router, adminUrl };
}

export interface JsonResult<T> {
  status: number;
  body: T;
  headers: Record<string, string | string[] | undefined>;
}

export async function getJson<T>(url: string): Promise<JsonResult<T>> {
  const res = await httpRequest(url, { timeoutMs: 10_000 });
  return { status: res.status, body: JSON.parse(res.body.toString('utf8')) as T, headers: res.headers };
}

/** GET /metrics, checked to be Prometheus text, parsed. */
export async function scrape(adminUrl: string): Promise<Exposition> {
  const res = await httpRequest(`${adminUrl}/metrics`, { timeoutMs: 10_000 });
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  const type = String(res.headers['content-type'] ?? '');
  if (!type.startsWith('text/plain') || !type.includes('version=0.0.4')) throw new Error(`/metrics content-type is ${type}`);
  return parseExposition(res.body.toString('utf8'));
}
