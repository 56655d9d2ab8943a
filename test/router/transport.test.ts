/**
 * The transport alone over real ZeroMQ sockets: per-turn batching into one multipart message,
 * decoding pair by pair, and send failures reported with the REQs that never left.
 */
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { pino } from 'pino';
import { Router } from 'zeromq';
import { decodeFrames, encode, type Message, type ProtocolError } from '../../proto/src/index.ts';
import { Transport, type TransportHandler } from '../../router/src/transport/socket.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Recorded {
  messages: [string, Message][];
  decodeErrors: ProtocolError[];
  failures: { peer: string; unsent: number[]; code: string }[];
  /** Routing ids of ROUTER_NOTIFY connect/disconnect events, in order. */
  peerEvents: string[];
  /** Resolves once `check()` holds, re-checked on every event; rejects after 3 s. */
  waitFor(check: () => boolean, what: string): Promise<void>;
}

function recordingHandler(): TransportHandler & Recorded {
  const waiters = new Set<() => void>();
  const changed = (): void => {
    for (const w of [...waiters]) w();
  };
  const rec: TransportHandler & Recorded = {
    messages: [],
    decodeErrors: [],
    failures: [],
    peerEvents: [],
    onMessage: (peer, m) => {
      rec.messages.push([peer, m]);
      changed();
    },
    onDecodeError: (_peer, e) => {
      rec.decodeErrors.push(e);
      changed();
    },
    onSendFailed: (peer, unsent, code) => {
      rec.failures.push({ peer, unsent, code });
      changed();
    },
    onPeerEvent: (peer) => {
      rec.peerEvents.push(peer);
      changed();
    },
    waitFor: (check, what) =>
      new Promise<void>((resolve, reject) => {
        if (check()) return resolve();
        const waiter = (): void => {
          if (!check()) return;
          waiters.delete(waiter);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`timed out after 3 s waiting for ${what}`));
        }, 3000);
        waiters.add(waiter);
      }),
  };
  return rec;
}

async function boundTransport(handler: TransportHandler): Promise<Transport> {
  const transport = new Transport(handler, pino({ level: 'silent' }));
  await transport.bind('tcp://127.0.0.1:*');
  cleanups.push(() => transport.close());
  return transport;
}

async function connectedPeer(endpoint: string, id: string): Promise<Router> {
  const peer = new Router({ routingId: id, mandatory: true, linger: 0 });
  peer.connect(endpoint, { routingId: 'router' });
  cleanups.push(() => peer.close());
  // Introduce ourselves so the router side knows the routing id (retry until the handshake is done).
  for (let i = 0; ; i++) {
    try {
      await peer.send(['router', ...encode({ type: 'HEARTBEAT', epoch: 'e' })]);
      return peer;
    } catch (err) {
      if (i > 200) throw err;
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

test('everything queued for a peer in one turn leaves as ONE multipart message, in order', async () => {
  const handler = recordingHandler();
  const transport = await boundTransport(handler);
  const peer = await connectedPeer(transport.endpoint, 'peer-1');
  for (let i = 1; i <= 5; i++) transport.send('peer-1', { type: 'DATA', stream: 9, seq: i - 1, fin: i === 5, body: Buffer.from(`chunk-${i}`) });
  const [, ...frames] = await peer.receive();
  assert.equal(frames.length, 10, 'five (header, body) pairs in one message');
  const decoded: Message[] = [];
  decodeFrames(frames, { message: (m) => decoded.push(m), error: (e) => assert.fail(e.message) });
  assert.deepEqual(
    decoded.map((m) => (m.type === 'DATA' ? m.body.toString() : m.type)),
    ['chunk-1', 'chunk-2', 'chunk-3', 'chunk-4', 'chunk-5'],
  );
  // And the peer's own message was decoded on the way in (the send above needs only the ZMTP
  // handshake, so the HEARTBEAT may still be on its way: wait for it).
  await handler.waitFor(() => handler.messages.length > 0, "the peer's HEARTBEAT");
  assert.equal(handler.messages[0]![0], 'peer-1');
  assert.equal(handler.messages[0]![1].type, 'HEARTBEAT');
});

test('a send to a peer that is not there reports EHOSTUNREACH and the REQs that never left', async () => {
  const handler = recordingHandler();
  const transport = await boundTransport(handler);
  const req = (stream: number): Message => ({
    type: 'REQ',
    stream,
    seq: 0,
    method: 'POST',
    scheme: 'http',
    authority: 'x',
    path: '/',
    headers: [],
    remote: '127.0.0.1',
    requestId: `r${stream}`,
    timeoutMs: 0,
    fin: true,
    body: Buffer.alloc(0),
  });
  transport.send('nobody', req(1));
  transport.send('nobody', req(2));
  await handler.waitFor(() => handler.failures.length > 0, 'a send failure');
  assert.equal(handler.failures.length, 1);
  assert.equal(handler.failures[0]!.peer, 'nobody');
  assert.equal(handler.failures[0]!.code, 'EHOSTUNREACH');
  assert.deepEqual(handler.failures[0]!.unsent.sort(), [1, 2]);
});

test('a garbled pair is reported on its own and its neighbours in the same message still decode', async () => {
  const handler = recordingHandler();
  const transport = await boundTransport(handler);
  const peer = await connectedPeer(transport.endpoint, 'peer-2');
  await peer.send(['router', ...encode({ type: 'CREDIT', credit: 1 }), Buffer.from('garbage'), Buffer.alloc(0), ...encode({ type: 'CREDIT', credit: 2 })]);
  await handler.waitFor(() => handler.messages.filter(([, m]) => m.type === 'CREDIT').length >= 2, 'two CREDIT messages');
  const credits = handler.messages.flatMap(([, m]) => (m.type === 'CREDIT' ? [m.credit] : []));
  assert.deepEqual(credits, [1, 2]);
  assert.equal(handler.decodeErrors.length, 1);
});

test('a peer connecting and leaving is reported as peer events (ROUTER_NOTIFY), never as a decode error; a duplicate routing id is ignored', async () => {
  const handler = recordingHandler();
  const transport = await boundTransport(handler);
  const first = await connectedPeer(transport.endpoint, 'peer-3');
  await handler.waitFor(() => handler.peerEvents.includes('peer-3'), 'the connect event of peer-3');
  await handler.waitFor(() => handler.messages.some(([p]) => p === 'peer-3'), 'the HEARTBEAT of peer-3');
  // A second connection with the same routing id: no handover, so libzmq ignores it while the first lives.
  const second = new Router({ routingId: 'peer-3', mandatory: true, linger: 0 });
  second.connect(transport.endpoint, { routingId: 'router' });
  cleanups.push(() => second.close());
  for (let i = 0; i < 50; i++) {
    try {
      await second.send(['router', ...encode({ type: 'HEARTBEAT', epoch: 'second' })]);
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  await first.send(['router', ...encode({ type: 'HEARTBEAT', epoch: 'first-again' })]);
  await handler.waitFor(() => handler.messages.some(([, m]) => m.type === 'HEARTBEAT' && m.epoch === 'first-again'), 'the second HEARTBEAT of the first connection');
  const events = handler.peerEvents.length;
  first.close();
  await handler.waitFor(() => handler.peerEvents.length > events, 'the disconnect event of peer-3');
  assert.ok(handler.peerEvents.every((p) => p === 'peer-3'), JSON.stringify(handler.peerEvents));
  assert.ok(!handler.messages.some(([p, m]) => p === 'peer-3' && m.type === 'HEARTBEAT' && m.epoch === 'second'), 'the duplicate connection was not heard as peer-3');
  assert.equal(handler.decodeErrors.length, 0, 'no notification was decoded as a message');
});
