/** The echo answer shared by the example workers: what the request looked like, as JSON. */
import type { FetchContext } from '../worker-sdk/src/index.ts';

export async function echoResponse(request: Request, ctx: FetchContext): Promise<Response> {
  const body = await request.text();
  const url = new URL(request.url);
  const headers: Record<string, string> = {};
  request.headers.forEach((value, name) => {
    headers[name] = value;
  });
  return Response.json(
    { method: request.method, path: url.pathname + url.search, headers, body, requestId: ctx.requestId, servedBy: ctx.workerId },
    { headers: { 'x-worker-id': ctx.workerId } },
  );
}
