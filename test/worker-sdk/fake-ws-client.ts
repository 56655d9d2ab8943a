/**
 * The router's side of one WebSocket stream, driven by a test through the FakeRouter: sends the ws
 * REQ and DATA with `op` (keeping the router → worker seq), and reads back what the worker sends,
 * message by message (fragments joined, fin and op checked).
 */
import type { Data, Req, WsOp } from '../../proto/src/index.ts';
import { DEFAULT_WAIT_MS, req, type FakeRouter } from './fake-router.ts';

export class FakeWsClient {
  private seq = 1;

  constructor(
    readonly router: FakeRouter,
    readonly workerId: string,
    readonly stream: number,
  ) {}

  /** Sends the REQ of a WebSocket handshake as the router would (scheme ws, handshake fields gone). */
  async open(over: Partial<Req> = {}, protocols?: string): Promise<void> {
    const headers = ['host', 'example.test', 'origin', 'http://example.test'];
    if (protocols !== undefined) headers.push('sec-websocket-protocol', protocols);
    await this.router.send(this.workerId, req(this.stream, { scheme: 'ws', path: '/chat', headers, ...over }));
  }

  async data(op: WsOp, body: Buffer | string, fin = true): Promise<void> {
    const buf = typeof body === 'string' ? Buffer.from(body) : body;
    await this.router.send(this.workerId, { type: 'DATA', stream: this.stream, seq: this.seq++, fin, body: buf, op });
  }

  async close(code?: number, reason = ''): Promise<void> {
    await this.data('close', closePayload(code, reason));
  }

  async window(increment: number): Promise<void> {
    await this.router.send(this.workerId, { type: 'WINDOW', stream: this.stream, seq: this.seq++, increment });
  }

  /** The next DATA the worker sent on this stream. */
  nextData(timeoutMs = DEFAULT_WAIT_MS): Promise<Data> {
    return this.router.next('DATA', (m) => m.stream === this.stream, timeoutMs);
  }

  /** The next whole message: fragments until fin, all with the same op. */
  async readMessage(timeoutMs = DEFAULT_WAIT_MS): Promise<{ op: WsOp; data: Buffer; fragments: number[] }> {
    const first = await this.nextData(timeoutMs);
    const chunks = [first.body];
    let last = first;
    while (!last.fin) {
      last = await this.nextData(timeoutMs);
      if (last.op !== first.op) throw new Error(`op changed inside a message: ${first.op} → ${last.op}`);
      chunks.push(last.body);
    }
    if (first.op === undefined) throw new Error('DATA without op on a WebSocket stream');
    return { op: first.op, data: Buffer.concat(chunks), fragments: chunks.map((c) => c.length) };
  }

  /** Reads messages until a close; returns its code and reason (code undefined when empty). */
  async readClose(timeoutMs = DEFAULT_WAIT_MS): Promise<{ code: number | undefined; reason: string; skipped: number }> {
    let skipped = 0;
    for (;;) {
      const m = await this.readMessage(timeoutMs);
      if (m.op !== 'close') {
        skipped++;
        continue;
      }
      if (m.data.length === 0) return { code: undefined, reason: '', skipped };
      return { code: m.data.readUInt16BE(0), reason: m.data.toString('utf8', 2), skipped };
    }
  }
}

export function closePayload(code?: number, reason = ''): Buffer {
  if (code === undefined) return Buffer.alloc(0);
  const text = Buffer.from(reason);
  const out = Buffer.alloc(2 + text.length);
  out.writeUInt16BE(code, 0);
  text.copy(out, 2);
  return out;
}
