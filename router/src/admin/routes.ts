/**
 * The admin endpoint's request handling: a table of GET routes (HEAD answers each with the same
 * head), an access check in front of them (access.ts), and the answers for everything else.
 *
 *   target not a valid URL (`/%zz`)  → 400, before any check
 *   access check refuses              → its 421 / 401
 *   no GET route for the path         → 404 (any method other than GET/HEAD, too)
 *   route throws                      → 500
 *
 * A route's path is matched exactly (case and trailing slash count) after the query (`?`) or
 * fragment (`#`) is cut off and percent-escapes of unreserved characters are decoded (`decodeURI`:
 * `/%68ealthz` is `/healthz`, `/%2Fhealthz` is not). An absolute-form target
 * (`http://host:port/path`) is matched by its path.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { internalErrorReply, notFoundReply, sendBadUrl, sendReply, type AdminReply } from './reply.ts';

export type AdminRoute = () => AdminReply | Promise<AdminReply>;
/** Returns the refusal for a request that may not be answered, or null. */
export type AccessCheck = (req: IncomingMessage) => AdminReply | null;

/** The path of `target` as the route table sees it, or null when it is not a valid URL. */
export function routePath(target: string): string | null {
  let path = target;
  if (!path.startsWith('/') && path !== '*') {
    path = absoluteFormPath(target) ?? '';
    if (path === '') return null;
  }
  const end = path.search(/[?#]/);
  if (end >= 0) path = path.slice(0, end);
  if (!path.includes('%')) return path;
  try {
    return decodeURI(path);
  } catch {
    return null;
  }
}

/** `http(s)://authority[/path][?query]` → `/path[?query]` (`/` when there is no path); null otherwise. */
function absoluteFormPath(target: string): string | null {
  const m = /^(https?):\/\/([^/?#]+)([/?][^#]*)?$/i.exec(target);
  if (m === null) return null;
  try {
    new URL(target);
  } catch {
    return null;
  }
  const rest = m[3] ?? '';
  return rest.startsWith('/') ? rest : `/${rest}`;
}

export function createAdminHandler(routes: ReadonlyMap<string, AdminRoute>, access: AccessCheck, log: Logger): (req: IncomingMessage, res: ServerResponse) => void {
  const answer = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = req.url ?? '/';
    const path = routePath(url);
    if (path === null) return sendBadUrl(res, url);
    const refusal = access(req);
    if (refusal !== null) return sendReply(res, refusal);
    const method = req.method ?? 'GET';
    const route = method === 'GET' || method === 'HEAD' ? routes.get(path) : undefined;
    if (route === undefined) return sendReply(res, notFoundReply(method, url));
    let reply: AdminReply;
    try {
      reply = await route();
    } catch (err) {
      log.warn({ err, path }, 'admin route failed');
      reply = internalErrorReply(err as Error);
    }
    if (!res.destroyed) sendReply(res, reply);
  };
  return (req, res) => void answer(req, res);
}
