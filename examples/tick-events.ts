/**
 * A server-sent-events stream: one `tick` event every `tickMs`, each sent as soon as it is produced,
 * until `count` ticks or until `signal` aborts (the client left and the router reset the stream).
 */
export interface TickOptions {
  count: number;
  tickMs: number;
}

/** A stream ends after this many ticks at most, so no stream stays open forever. */
export const MAX_TICKS = 3600;

export function tickEvents(signal: AbortSignal, options: TickOptions): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  const count = Math.max(1, Math.min(options.count, MAX_TICKS));
  let timer: NodeJS.Timeout | undefined;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      let n = 0;
      const stop = (): void => {
        clearInterval(timer);
        try {
          controller.close();
        } catch {
          // already closed by the consumer
        }
      };
      controller.enqueue(encoder.encode('retry: 2000\n\n'));
      timer = setInterval(() => {
        n += 1;
        controller.enqueue(encoder.encode(`event: tick\nid: ${n}\ndata: ${JSON.stringify({ n, at: new Date().toISOString() })}\n\n`));
        if (n >= count) stop();
      }, options.tickMs);
      signal.addEventListener('abort', stop, { once: true });
    },
    cancel() {
      clearInterval(timer);
    },
  });
}

/** The Response for `GET /events?count=N`. */
export function tickEventsResponse(request: Request, signal: AbortSignal, workerId: string, tickMs: number): Response {
  const count = Number(new URL(request.url).searchParams.get('count') ?? MAX_TICKS) || MAX_TICKS;
  return new Response(tickEvents(signal, { count, tickMs }), {
    headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-worker-id': workerId },
  });
}
