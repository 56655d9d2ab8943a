/**
 * The only code that knows the frame layout (SPEC.md "Framing").
 *
 * A ZeroMQ message (after the routing envelope) is 2N frames: header_1, body_1, ..., header_N, body_N.
 * A header is a msgpack array ["ZP", version, typeCode, ...fields]; a body is raw bytes, empty for
 * types that carry none. Fixed pairs keep batching unambiguous: no frame's meaning depends on another's.
 */
import { ProtocolError } from './errors.ts';
import { HeaderWriter, MsgpackError, unpackHeader, type UnpackLimits } from './msgpack.ts';
import {
  ERROR_CODES,
  Limits,
  MessageCode,
  PROTOCOL_VERSION,
  RST_CODES,
  SIGNATURE,
  SUPPORTED_VERSIONS,
  type ErrorCode,
  type HeaderList,
  type Message,
  type RstCode,
  type WsOp,
  type Data,
  WS_OPS,
} from './messages.ts';

export const EMPTY_BODY: Buffer = Buffer.alloc(0);

/** SPEC §8.1 step 3: what a header frame may contain before any field is looked at. */
const UNPACK_LIMITS: UnpackLimits = {
  maxArrayLength: Limits.maxHeaderFields * 2 + 16,
  maxMapLength: 256,
  maxDepth: 32,
};

/** fixstr "ZP": the signature, already msgpack-encoded. */
const SIGNATURE_BYTES: readonly number[] = [0xa2, 0x5a, 0x50];

const TYPE_BY_CODE: readonly (Message['type'] | undefined)[] = (() => {
  const byCode: (Message['type'] | undefined)[] = [];
  for (const [name, code] of Object.entries(MessageCode)) byCode[code] = name as Message['type'];
  return byCode;
})();

/** A size guess for the header (ASCII assumed; the writer grows if it is short). */
function estimateHeaderBytes(m: Message): number {
  let n = 64;
  if (m.type === 'REQ') n += m.method.length + m.authority.length + m.path.length + m.remote.length + m.requestId.length;
  if (m.type === 'REQ' || m.type === 'RES') for (const h of m.headers) n += h.length + 2;
  return n;
}

/** The array header and the three elements every header starts with: "ZP", version, type code. */
function startHeader(w: HeaderWriter, m: Message, fieldCount: number): void {
  w.arrayHeader(3 + fieldCount);
  w.raw(SIGNATURE_BYTES);
  w.num(PROTOCOL_VERSION);
  w.num(MessageCode[m.type]);
}

/** Writes the header of `m`: ["ZP", version, code, ...fields in wire order (SPEC §4.1)]. */
function packHeader(m: Message): Buffer {
  const w = new HeaderWriter(estimateHeaderBytes(m));
  switch (m.type) {
    case 'HELLO':
      startHeader(w, m, 8);
      w.num(m.nonce);
      w.str(m.workerId);
      w.str(m.epoch);
      w.numArray(m.versions);
      w.str(m.pool);
      w.num(m.capacity);
      w.num(m.window);
      w.strMap(m.meta);
      break;
    case 'WELCOME':
      startHeader(w, m, 7);
      w.num(m.nonce);
      w.str(m.routerId);
      w.str(m.epoch);
      w.num(m.version);
      w.num(m.heartbeatMs);
      w.num(m.window);
      w.num(m.maxFrame);
      break;
    case 'CREDIT':
      startHeader(w, m, 1);
      w.num(m.credit);
      break;
    case 'HEARTBEAT':
      startHeader(w, m, 1);
      w.str(m.epoch);
      break;
    case 'DRAIN':
      startHeader(w, m, 1);
      w.num(m.lastStream);
      break;
    case 'BYE':
      startHeader(w, m, 1);
      w.str(m.reason);
      break;
    case 'REQ':
      startHeader(w, m, 11);
      w.num(m.stream);
      w.num(m.seq);
      w.str(m.method);
      w.str(m.scheme);
      w.str(m.authority);
      w.str(m.path);
      w.strArray(m.headers);
      w.str(m.remote);
      w.str(m.requestId);
      w.num(m.timeoutMs);
      w.bool(m.fin);
      break;
    case 'DATA':
      startHeader(w, m, m.op === undefined ? 3 : 4);
      w.num(m.stream);
      w.num(m.seq);
      w.bool(m.fin);
      if (m.op !== undefined) w.str(m.op);
      break;
    case 'RES':
      startHeader(w, m, 5);
      w.num(m.stream);
      w.num(m.seq);
      w.num(m.status);
      w.strArray(m.headers);
      w.bool(m.fin);
      break;
    case 'WINDOW':
      startHeader(w, m, 3);
      w.num(m.stream);
      w.num(m.seq);
      w.num(m.increment);
      break;
    case 'RST':
      startHeader(w, m, 3);
      w.num(m.stream);
      w.str(m.code);
      w.str(m.message);
      break;
    case 'ERROR':
      startHeader(w, m, 2);
      w.str(m.code);
      w.str(m.message);
      break;
  }
  return w.finish();
}

/**
 * Appends the two frames of `m` to `frames` (so a caller can batch several messages into one send).
 * It does not validate `m`: the types say what is allowed, and the receiver's decoder checks ranges.
 */
export function encodeInto(frames: Buffer[], m: Message): void {
  frames.push(packHeader(m));
  frames.push(m.type === 'REQ' || m.type === 'DATA' || m.type === 'RES' ? m.body : EMPTY_BODY);
}

/** The two frames [header, body] of one message. */
export function encode(m: Message): Buffer[] {
  const frames: Buffer[] = [];
  encodeInto(frames, m);
  return frames;
}

/** Reads typed fields from a decoded header array; every failure names the field. */
class FieldReader {
  stream: number | undefined;
  constructor(
    private readonly h: unknown[],
    private readonly typeCode: number,
  ) {}

  private fail(field: string, why: string): never {
    throw new ProtocolError('ZP_ERR_FIELD', `${field}: ${why}`, { field, stream: this.stream, typeCode: this.typeCode });
  }

  /** Optional trailing fields (DATA.op) are present when the header is long enough. */
  has(i: number): boolean {
    return i < this.h.length;
  }

  private at(i: number, field: string): unknown {
    if (i >= this.h.length) this.fail(field, 'missing');
    return this.h[i];
  }

  uint(i: number, field: string, max: number = Limits.maxUint32, min = 0): number {
    const v = this.at(i, field);
    if (typeof v !== 'number' || !Number.isInteger(v)) this.fail(field, 'not an integer');
    if (v < min || v > max) this.fail(field, `out of range ${min}..${max}`);
    return v;
  }

  int(i: number, field: string, min: number, max: number): number {
    return this.uint(i, field, max, min);
  }

  streamId(i: number): number {
    const s = this.uint(i, 'stream', Limits.maxUint32, 1);
    this.stream = s;
    return s;
  }

  /** Length limits are in UTF-8 bytes (SPEC §3), so every language checks the same thing. */
  str(i: number, field: string, maxLength: number = Limits.maxIdLength, minLength = 0): string {
    const v = this.at(i, field);
    if (typeof v !== 'string') this.fail(field, 'not a string');
    // UTF-8 bytes >= UTF-16 units and <= 3 per unit: only measure bytes when the cheap bounds disagree.
    if (v.length > maxLength || (v.length * 3 > maxLength && Buffer.byteLength(v, 'utf8') > maxLength)) {
      this.fail(field, `longer than ${maxLength} bytes`);
    }
    if (v.length < minLength) this.fail(field, 'empty');
    return v;
  }

  bool(i: number, field: string): boolean {
    const v = this.at(i, field);
    if (typeof v !== 'boolean') this.fail(field, 'not a boolean');
    return v;
  }

  headers(i: number, field: string): HeaderList {
    const v = this.at(i, field);
    if (!Array.isArray(v)) this.fail(field, 'not an array');
    if (v.length % 2 !== 0) this.fail(field, 'odd number of name/value elements');
    if (v.length > Limits.maxHeaderFields * 2) this.fail(field, `more than ${Limits.maxHeaderFields} fields`);
    for (let k = 0; k < v.length; k++) {
      if (typeof v[k] !== 'string') this.fail(field, `element ${k} not a string`);
    }
    return v as HeaderList;
  }

  versions(i: number, field: string): number[] {
    const v = this.at(i, field);
    if (!Array.isArray(v) || v.length === 0 || v.length > 16) this.fail(field, 'not an array of 1..16 versions');
    for (const x of v) {
      if (typeof x !== 'number' || !Number.isInteger(x) || x < 1 || x > 0xffff) this.fail(field, 'version not an integer 1..65535');
    }
    return v as number[];
  }

  meta(i: number, field: string): Record<string, string> {
    const v = this.at(i, field);
    if (v === null || typeof v !== 'object' || Array.isArray(v) || v instanceof Uint8Array) this.fail(field, 'not a map');
    const out: Record<string, string> = {};
    for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
      if (typeof val !== 'string') this.fail(field, `value of "${k}" not a string`);
      out[k] = val;
    }
    return out;
  }

  oneOf<T extends string>(i: number, field: string, allowed: readonly T[]): T {
    const v = this.str(i, field, 64);
    if (!(allowed as readonly string[]).includes(v)) this.fail(field, `"${v}" is not one of ${allowed.join(', ')}`);
    return v as T;
  }
}

/** Message types whose fourth header element is the stream id (SPEC §4.1). */
const HAS_STREAM: readonly boolean[] = (() => {
  const has: boolean[] = [];
  for (const t of ['REQ', 'DATA', 'RES', 'WINDOW', 'RST'] as const) has[MessageCode[t]] = true;
  return has;
})();

/** A msgpack unsigned integer at `at` (fixint, uint8/16/32): [value, next offset], or null. */
function peekUint(b: Buffer, at: number): [number, number] | null {
  if (at >= b.length) return null;
  const t = b[at]!;
  if (t <= 0x7f) return [t, at + 1];
  if (t === 0xcc && at + 2 <= b.length) return [b[at + 1]!, at + 2];
  if (t === 0xcd && at + 3 <= b.length) return [b.readUInt16BE(at + 1), at + 3];
  if (t === 0xce && at + 5 <= b.length) return [b.readUInt32BE(at + 1), at + 5];
  return null;
}

/**
 * The type code and stream id from the start of a header the codec refuses as a whole (too large,
 * an array over the limits): the receiver can still end that one stream at once (SPEC §8.1)
 * instead of leaving it to its deadline. Runs on the error path only; reads at most ~20 bytes.
 */
export function peekStream(header: Buffer): { typeCode?: number; stream?: number } {
  const b = header;
  const t = b[0];
  let at: number;
  if (t === undefined) return {};
  if (t >= 0x94 && t <= 0x9f) at = 1;
  else if (t === 0xdc) at = 3;
  else if (t === 0xdd) at = 5;
  else return {};
  if (b[at] !== 0xa2 || b[at + 1] !== 0x5a || b[at + 2] !== 0x50) return {};
  const version = peekUint(b, at + 3);
  if (version === null) return {};
  const code = peekUint(b, version[1]);
  if (code === null) return {};
  const typeCode = code[0];
  if (!HAS_STREAM[typeCode]) return { typeCode };
  const stream = peekUint(b, code[1]);
  if (stream === null || stream[0] === 0) return { typeCode };
  return { typeCode, stream: stream[0] };
}

/** Decodes one (header, body) pair. Throws ProtocolError on anything malformed. */
export function decodeMessage(header: Buffer, body: Buffer): Message {
  if (header.length > Limits.maxHeaderBytes) throw new ProtocolError('ZP_ERR_HEADER_TOO_LARGE', `${header.length} bytes`, peekStream(header));
  let h: unknown;
  try {
    h = unpackHeader(header, UNPACK_LIMITS);
  } catch (err) {
    if (err instanceof MsgpackError) throw new ProtocolError('ZP_ERR_MSGPACK', err.message, peekStream(header));
    throw err;
  }
  if (!Array.isArray(h) || h.length < 3) throw new ProtocolError('ZP_ERR_HEADER_SHAPE');
  if (h[0] !== SIGNATURE) throw new ProtocolError('ZP_ERR_SIGNATURE');
  const version = h[1];
  const code = h[2];
  if (typeof code !== 'number' || !Number.isInteger(code)) throw new ProtocolError('ZP_ERR_HEADER_SHAPE', 'type is not an integer');
  const type = TYPE_BY_CODE[code];
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) {
    throw new ProtocolError('ZP_ERR_HEADER_SHAPE', 'version is not a positive integer');
  }
  // HELLO keeps its version-1 layout in every version so any router can read the offered versions.
  if (type !== 'HELLO' && !SUPPORTED_VERSIONS.includes(version)) {
    throw new ProtocolError('ZP_ERR_VERSION', `version ${version}`, { typeCode: code });
  }
  if (type === undefined) throw new ProtocolError('ZP_ERR_UNKNOWN_TYPE', `type ${code}`, { typeCode: code });
  const r = new FieldReader(h, code);
  const m = readFields(type, r, body);
  // Body limits are checked after the header so the error can name the stream (the receiver resets it).
  if (body.length > Limits.maxBodyBytes) {
    throw new ProtocolError('ZP_ERR_BODY_TOO_LARGE', `${body.length} bytes`, { typeCode: code, stream: r.stream });
  }
  if (body.length > 0 && type !== 'REQ' && type !== 'DATA' && type !== 'RES') {
    throw new ProtocolError('ZP_ERR_UNEXPECTED_BODY', `${type} with ${body.length} body bytes`, { typeCode: code, stream: r.stream });
  }
  return m;
}

function readFields(type: Message['type'], r: FieldReader, body: Buffer): Message {
  const F = 3; // first field index
  switch (type) {
    case 'HELLO':
      return {
        type,
        nonce: r.uint(F, 'nonce'),
        workerId: r.str(F + 1, 'workerId', Limits.maxIdLength, 1),
        epoch: r.str(F + 2, 'epoch', Limits.maxIdLength, 1),
        versions: r.versions(F + 3, 'versions'),
        pool: r.str(F + 4, 'pool', Limits.maxIdLength, 1),
        capacity: r.uint(F + 5, 'capacity', 1_000_000),
        window: r.uint(F + 6, 'window', Limits.maxWindow, 1),
        meta: r.meta(F + 7, 'meta'),
      };
    case 'WELCOME':
      return {
        type,
        nonce: r.uint(F, 'nonce'),
        routerId: r.str(F + 1, 'routerId', Limits.maxIdLength, 1),
        epoch: r.str(F + 2, 'epoch', Limits.maxIdLength, 1),
        version: r.uint(F + 3, 'version', 0xffff, 1),
        heartbeatMs: r.uint(F + 4, 'heartbeatMs', 3_600_000, 10),
        window: r.uint(F + 5, 'window', Limits.maxWindow, 1),
        maxFrame: r.uint(F + 6, 'maxFrame', Limits.maxBodyBytes, 1024),
      };
    case 'CREDIT':
      return { type, credit: r.int(F, 'credit', -1_000_000, 1_000_000) };
    case 'HEARTBEAT':
      return { type, epoch: r.str(F, 'epoch', Limits.maxIdLength, 1) };
    case 'DRAIN':
      return { type, lastStream: r.uint(F, 'lastStream') };
    case 'BYE':
      return { type, reason: r.str(F, 'reason', 1024) };
    case 'REQ':
      return {
        type,
        stream: r.streamId(F),
        seq: r.uint(F + 1, 'seq'),
        method: r.str(F + 2, 'method', 64, 1),
        scheme: r.str(F + 3, 'scheme', 16, 1),
        authority: r.str(F + 4, 'authority', 1024),
        path: r.str(F + 5, 'path', Limits.maxHeaderBytes, 1),
        headers: r.headers(F + 6, 'headers'),
        remote: r.str(F + 7, 'remote', 128),
        requestId: r.str(F + 8, 'requestId', 200),
        timeoutMs: r.uint(F + 9, 'timeoutMs'),
        fin: r.bool(F + 10, 'fin'),
        body,
      };
    case 'DATA':
{
      const data: Data = { type, stream: r.streamId(F), seq: r.uint(F + 1, 'seq'), fin: r.bool(F + 2, 'fin'), body };
      // The WebSocket op is a trailing field: HTTP DATA keeps its 3-field shape on the hot path.
      if (r.has(F + 3)) data.op = r.oneOf<WsOp>(F + 3, 'op', WS_OPS);
      return data;
    }
    case 'RES':
      return {
        type,
        stream: r.streamId(F),
        seq: r.uint(F + 1, 'seq'),
        status: r.uint(F + 2, 'status', 999, 100),
        headers: r.headers(F + 3, 'headers'),
        fin: r.bool(F + 4, 'fin'),
        body,
      };
    case 'WINDOW':
      return { type, stream: r.streamId(F), seq: r.uint(F + 1, 'seq'), increment: r.uint(F + 2, 'increment', Limits.maxWindow, 1) };
    case 'RST':
      return { type, stream: r.streamId(F), code: r.oneOf<RstCode>(F + 1, 'code', RST_CODES), message: r.str(F + 2, 'message', 1024) };
    case 'ERROR':
      return { type, code: r.oneOf<ErrorCode>(F, 'code', ERROR_CODES), message: r.str(F + 1, 'message', 1024) };
  }
}

/** Receives what a ZeroMQ message decodes to, pair by pair: a bad pair does not spoil its neighbours. */
export interface DecodeSink {
  message(m: Message): void;
  error(e: ProtocolError): void;
}

/**
 * A DecodeSink for the ZeroMQ message being read: tags each pair with its sender (`peer`, set per
 * message). One per socket, so no object or closures are made per message.
 */
export class PeerSink implements DecodeSink {
  peer = '';
  constructor(
    private readonly onMessage: (peer: string, m: Message) => void,
    private readonly onError: (peer: string, e: ProtocolError) => void,
  ) {}
  message(m: Message): void {
    this.onMessage(this.peer, m);
  }
  error(e: ProtocolError): void {
    this.onError(this.peer, e);
  }
}

/** Decodes all pairs of one ZeroMQ message (envelope already removed). */
export function decodeFrames(frames: Buffer[], sink: DecodeSink): void {
  const n = frames.length;
  if (n === 0 || n % 2 !== 0 || n > Limits.maxPairsPerMessage * 2) {
    sink.error(new ProtocolError('ZP_ERR_FRAME_COUNT', `${n} frames`));
    return;
  }
  for (let i = 0; i < n; i += 2) {
    let m: Message;
    try {
      m = decodeMessage(frames[i]!, frames[i + 1]!);
    } catch (err) {
      if (err instanceof ProtocolError) {
        sink.error(err);
        continue;
      }
      throw err;
    }
    sink.message(m);
  }
}
