/**
 * A plain Hono app — nothing in it knows about zeroproxy. The same `app` runs under
 * `@hono/node-server`, Bun, Deno or Workers; worker.ts puts it behind a zeroproxy router unchanged.
 */
import { Hono } from 'hono';
import { stream } from 'hono/streaming';

export const app = new Hono();

app.get('/', (c) => c.text('hello from Hono behind zeroproxy\n'));

// Path parameters and query strings, answered as JSON.
app.get('/users/:id', (c) => c.json({ id: c.req.param('id'), fields: c.req.query('fields') ?? null }));

// A JSON request body in, a 201 with a Location header out; bad JSON is a 400, not a crash.
app.post('/echo', async (c) => {
  let body: unknown;
  try {
    body = await c.req.json();
  } catch {
    return c.json({ error: 'body must be JSON' }, 400);
  }
  c.header('location', '/echo/1');
  return c.json({ received: body, requestId: c.req.header('x-request-id') ?? null }, 201);
});

// A streamed response: each line leaves as it is written (the router relays it unbuffered).
app.get('/count/:n', (c) => {
  const n = Math.min(Number(c.req.param('n')) || 0, 1000);
  c.header('content-type', 'text/plain; charset=utf-8');
  return stream(c, async (s) => {
    for (let i = 1; i <= n; i++) {
      await s.write(`${i}\n`);
      await s.sleep(5);
    }
  });
});

app.notFound((c) => c.json({ error: 'not found', path: c.req.path }, 404));
