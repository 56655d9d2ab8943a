/**
 * A membership storm in its own process (so the test's HTTP client measures the router, not this):
 * `node --import tsx storm-peers.ts <endpoint> <count>` opens <count> ZeroMQ connections, each with a
 * random routing id, registers each (HELLO → WELCOME, pool "storm", so no client request goes to
 * them), prints {"msg":"storm registered"}; on SIGUSR2 closes all of them at once and prints
 * {"msg":"storm closed"}. After the storm registered, one more peer says HELLO and the answer is
 * printed as {"msg":"extra answered","type":…,"code":…} (the router's --max-workers is checked with it).
 */
import { randomBytes } from 'node:crypto';
import { Context, Router } from 'zeromq';
import { decodeFrames, encode, type Message } from '../../proto/src/index.ts';

const [endpoint, countArg] = process.argv.slice(2);
const count = Number(countArg);
if (!endpoint || !Number.isInteger(count) || count < 1) {
  console.error('usage: storm-peers.ts <endpoint> <count>');
  process.exit(2);
}
const print = (line: Record<string, unknown>): void => void process.stdout.write(`${JSON.stringify(line)}\n`);

const context = new Context({ maxSockets: count + 64, ioThreads: 1 });

function hello(workerId: string): Buffer[] {
  return encode({ type: 'HELLO', nonce: 7, workerId, epoch: 'storm', versions: [1], pool: 'storm', capacity: 1, window: 65536, meta: { runtime: 'storm' } });
}

/** Connects one peer, says HELLO, resolves with the router's first answer. */
async function register(): Promise<{ socket: Router; answer: Message | null }> {
  // workerId = routing id, as a worker written from the old SPEC does (the router accepts both).
  const id = randomBytes(18).toString('base64url');
  const socket = new Router({ context, routingId: id, linger: 0 });
  socket.connect(endpoint!, { routingId: 'router' });
  // Queued until the connection is up (no ZMQ_IMMEDIATE): one send is enough.
  await socket.send(['router', ...hello(id)]);
  let answer: Message | null = null;
  const timer = setTimeout(() => socket.close(), 60_000);
  try {
    const [, ...frames] = await socket.receive();
    decodeFrames(frames, { message: (m) => void (answer ??= m), error: () => undefined });
  } catch {
    // closed by the timer: no answer
  }
  clearTimeout(timer);
  return { socket, answer };
}

const peers = await Promise.all(Array.from({ length: count }, () => register()));
const welcomed = peers.filter((p) => p.answer?.type === 'WELCOME').length;
print({ msg: 'storm registered', welcomed, count });
// One more: the router is at --max-workers now (the test sets it to the real workers + count).
const extra = await register();
const a = extra.answer as Message | null;
print({ msg: 'extra answered', type: a?.type ?? null, code: a?.type === 'ERROR' ? a.code : null });
peers.push(extra);

process.once('SIGUSR2', () => {
  // All at once: the router sees `count` disconnects in one burst.
  for (const p of peers) if (!p.socket.closed) p.socket.close();
  print({ msg: 'storm closed' });
  setTimeout(() => process.exit(0), 200);
});
// Bounded even if nobody signals (the test's process group stops it anyway).
setTimeout(() => process.exit(3), 300_000);
