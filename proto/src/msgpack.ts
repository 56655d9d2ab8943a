/**
 * The msgpack subset ZP/1 headers use (SPEC §3): nil, bool, int, float (read only), str, bin (read
 * only), array, map with str keys. No ext types.
 *
 * Hand-written because headers are on the hot path: @msgpack/msgpack's general Encoder/Decoder cost
 * ~1.4 µs each for a REQ header, this ~5× less. The bytes written are exactly what @msgpack/msgpack
 * writes (shortest int and str formats, insertion-ordered maps), which the canonical vectors pin.
 */

/** Thrown for any input that is not valid msgpack within the limits; codec.ts maps it to ZP_ERR_MSGPACK. */
export class MsgpackError extends Error {
  override readonly name = 'MsgpackError';
}

export interface UnpackLimits {
  /** Most elements in one array. */
  maxArrayLength: number;
  /** Most entries in one map. */
  maxMapLength: number;
  /** Deepest container nesting (the decoder recurses; this bounds the stack). */
  maxDepth: number;
}

/** Builds one header frame. Grows its buffer when the caller's size estimate was short. */
export class HeaderWriter {
  private buf: Buffer;
  private pos = 0;

  constructor(estimatedBytes: number) {
    this.buf = Buffer.allocUnsafe(estimatedBytes);
  }

  /** The encoded bytes: a fresh Buffer per header, never reused (zeromq.js keeps sent Buffers). */
  finish(): Buffer {
    return this.buf.subarray(0, this.pos);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(bigger, 0, 0, this.pos);
    this.buf = bigger;
  }

  /** Raw bytes known to be valid msgpack (the "ZP" signature). */
  raw(bytes: readonly number[]): void {
    this.ensure(bytes.length);
    for (const b of bytes) this.buf[this.pos++] = b;
  }

  arrayHeader(n: number): void {
    this.ensure(5);
    const b = this.buf;
    if (n < 16) b[this.pos++] = 0x90 | n;
    else if (n < 0x10000) {
      b[this.pos++] = 0xdc;
      b[this.pos++] = n >>> 8;
      b[this.pos++] = n & 0xff;
    } else {
      b[this.pos++] = 0xdd;
      b.writeUInt32BE(n, this.pos);
      this.pos += 4;
    }
  }

  private mapHeader(n: number): void {
    this.ensure(5);
    const b = this.buf;
    if (n < 16) b[this.pos++] = 0x80 | n;
    else if (n < 0x10000) {
      b[this.pos++] = 0xde;
      b[this.pos++] = n >>> 8;
      b[this.pos++] = n & 0xff;
    } else {
      b[this.pos++] = 0xdf;
      b.writeUInt32BE(n, this.pos);
      this.pos += 4;
    }
  }

  bool(v: boolean): void {
    this.ensure(1);
    this.buf[this.pos++] = v ? 0xc3 : 0xc2;
  }

  /** Shortest msgpack integer format for safe integers, float64 otherwise (as @msgpack/msgpack). */
  num(v: number): void {
    this.ensure(9);
    const b = this.buf;
    if (!Number.isSafeInteger(v)) {
      b[this.pos++] = 0xcb;
      b.writeDoubleBE(v, this.pos);
      this.pos += 8;
    } else if (v >= 0) {
      if (v < 0x80) b[this.pos++] = v;
      else if (v < 0x100) {
        b[this.pos++] = 0xcc;
        b[this.pos++] = v;
      } else if (v < 0x10000) {
        b[this.pos++] = 0xcd;
        b[this.pos++] = v >>> 8;
        b[this.pos++] = v & 0xff;
      } else if (v < 0x100000000) {
        b[this.pos++] = 0xce;
        b.writeUInt32BE(v, this.pos);
        this.pos += 4;
      } else {
        b[this.pos++] = 0xcf;
        b.writeUInt32BE(Math.floor(v / 0x100000000), this.pos);
        b.writeUInt32BE(v >>> 0, this.pos + 4);
        this.pos += 8;
      }
    } else if (v >= -0x20) {
      b[this.pos++] = 0xe0 | (v + 0x20);
    } else if (v >= -0x80) {
      b[this.pos++] = 0xd0;
      b.writeInt8(v, this.pos++);
    } else if (v >= -0x8000) {
      b[this.pos++] = 0xd1;
      b.writeInt16BE(v, this.pos);
      this.pos += 2;
    } else if (v >= -0x80000000) {
      b[this.pos++] = 0xd2;
      b.writeInt32BE(v, this.pos);
      this.pos += 4;
    } else {
      b[this.pos++] = 0xd3;
      b.writeBigInt64BE(BigInt(v), this.pos);
      this.pos += 8;
    }
  }

  private strHeader(byteLength: number): void {
    const b = this.buf;
    if (byteLength < 32) b[this.pos++] = 0xa0 | byteLength;
    else if (byteLength < 0x100) {
      b[this.pos++] = 0xd9;
      b[this.pos++] = byteLength;
    } else if (byteLength < 0x10000) {
      b[this.pos++] = 0xda;
      b[this.pos++] = byteLength >>> 8;
      b[this.pos++] = byteLength & 0xff;
    } else {
      b[this.pos++] = 0xdb;
      b.writeUInt32BE(byteLength, this.pos);
      this.pos += 4;
    }
  }

  str(s: string): void {
    const n = s.length;
    this.ensure(5 + n);
    const start = this.pos;
    // Fast path: ASCII, where UTF-16 units = UTF-8 bytes, copied char by char (short strings dominate).
    if (n < 64) {
      this.strHeader(n);
      const b = this.buf;
      let p = this.pos;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        b[p++] = c;
      }
      if (i === n) {
        this.pos = p;
        return;
      }
      this.pos = start; // not ASCII: start again with the real byte length
    }
    const byteLength = Buffer.byteLength(s, 'utf8');
    this.ensure(5 + byteLength);
    this.strHeader(byteLength);
    this.pos += this.buf.write(s, this.pos, byteLength, 'utf8');
  }

  strArray(a: readonly string[]): void {
    this.arrayHeader(a.length);
    for (const s of a) this.str(s);
  }

  numArray(a: readonly number[]): void {
    this.arrayHeader(a.length);
    for (const v of a) this.num(v);
  }

  strMap(o: Readonly<Record<string, string>>): void {
    const keys = Object.keys(o);
    this.mapHeader(keys.length);
    for (const k of keys) {
      this.str(k);
      this.str(o[k]!);
    }
  }
}

/** Decodes exactly one msgpack object filling `bytes`. Throws MsgpackError on anything else. */
export function unpackHeader(bytes: Buffer, limits: UnpackLimits): unknown {
  const r = new Reader(bytes, limits);
  const v = r.value(0);
  if (r.pos !== bytes.length) throw new MsgpackError(`${bytes.length - r.pos} trailing byte(s)`);
  return v;
}

/**
 * Strings that fill most headers (methods, schemes, common header names, RST codes). Decoding them
 * from this table skips the native UTF-8 decoder (~50 ns each). Read-only after module load.
 */
const KNOWN_STRINGS: ReadonlyMap<number, readonly string[]> = (() => {
  const words = [
    'ZP', 'GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'http', 'https', 'host', 'accept',
    'accept-encoding', 'accept-language', 'authorization', 'cache-control', 'connection', 'content-encoding',
    'content-length', 'content-type', 'cookie', 'date', 'etag', 'forwarded', 'if-modified-since', 'if-none-match',
    'last-modified', 'location', 'origin', 'referer', 'server', 'set-cookie', 'traceparent', 'tracestate',
    'user-agent', 'vary', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'x-request-id',
    'x-real-ip', 'application/json', 'text/plain', 'text/html', '*/*', 'gzip', 'keep-alive', 'close',
    '127.0.0.1', '::1', 'default', 'cancel', 'refused', 'timeout', 'flow_control', 'protocol', 'peer_restart', 'internal',
  ];
  const byKey = new Map<number, string[]>();
  for (const w of words) {
    const k = knownKey(w.length, w.charCodeAt(0), w.charCodeAt(w.length - 1));
    const list = byKey.get(k) ?? [];
    list.push(w);
    byKey.set(k, list);
  }
  return byKey;
})();

function knownKey(length: number, first: number, last: number): number {
  return (length << 16) | (first << 8) | last;
}

/** Whether the bytes at `start` are exactly the ASCII string `w` (caller checked the length). */
function sameAscii(b: Buffer, start: number, w: string): boolean {
  for (let i = 1; i < w.length - 1; i++) if (b[start + i] !== w.charCodeAt(i)) return false;
  return true;
}

class Reader {
  pos = 0;
  constructor(
    private readonly b: Buffer,
    private readonly limits: UnpackLimits,
  ) {}

  private need(n: number): void {
    if (this.pos + n > this.b.length) throw new MsgpackError('truncated');
  }

  private u8(): number {
    this.need(1);
    return this.b[this.pos++]!;
  }

  private u16(): number {
    this.need(2);
    const b = this.b;
    const v = (b[this.pos]! << 8) | b[this.pos + 1]!;
    this.pos += 2;
    return v;
  }

  private u32(): number {
    this.need(4);
    const v = this.b.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  value(depth: number): unknown {
    const t = this.u8();
    if (t < 0x80) return t;
    if (t >= 0xe0) return t - 0x100;
    if (t >= 0xa0 && t < 0xc0) return this.str(t & 0x1f);
    if (t >= 0x90 && t < 0xa0) return this.array(t & 0x0f, depth);
    if (t < 0x90) return this.map(t & 0x0f, depth);
    const b = this.b;
    switch (t) {
      case 0xc0:
        return null;
      case 0xc2:
        return false;
      case 0xc3:
        return true;
      case 0xc4:
        return this.bin(this.u8());
      case 0xc5:
        return this.bin(this.u16());
      case 0xc6:
        return this.bin(this.u32());
      case 0xca: {
        this.need(4);
        const v = b.readFloatBE(this.pos);
        this.pos += 4;
        return v;
      }
      case 0xcb: {
        this.need(8);
        const v = b.readDoubleBE(this.pos);
        this.pos += 8;
        return v;
      }
      case 0xcc:
        return this.u8();
      case 0xcd:
        return this.u16();
      case 0xce:
        return this.u32();
      case 0xcf: {
        const high = this.u32();
        return high * 0x100000000 + this.u32();
      }
      case 0xd0: {
        this.need(1);
        return b.readInt8(this.pos++);
      }
      case 0xd1: {
        this.need(2);
        const v = b.readInt16BE(this.pos);
        this.pos += 2;
        return v;
      }
      case 0xd2: {
        this.need(4);
        const v = b.readInt32BE(this.pos);
        this.pos += 4;
        return v;
      }
      case 0xd3: {
        this.need(8);
        const high = b.readInt32BE(this.pos);
        const low = b.readUInt32BE(this.pos + 4);
        this.pos += 8;
        return high * 0x100000000 + low;
      }
      case 0xd9:
        return this.str(this.u8());
      case 0xda:
        return this.str(this.u16());
      case 0xdb:
        return this.str(this.u32());
      case 0xdc:
        return this.array(this.u16(), depth);
      case 0xdd:
        return this.array(this.u32(), depth);
      case 0xde:
        return this.map(this.u16(), depth);
      case 0xdf:
        return this.map(this.u32(), depth);
      default:
        // 0xc1 (never used) and the ext types 0xc7-0xc9, 0xd4-0xd8.
        throw new MsgpackError(`type byte 0x${t.toString(16)} not allowed`);
    }
  }

  private str(n: number): string {
    this.need(n);
    const b = this.b;
    const start = this.pos;
    this.pos += n;
    if (n > 1 && n < 64) {
      const candidates = KNOWN_STRINGS.get(knownKey(n, b[start]!, b[start + n - 1]!));
      if (candidates !== undefined) {
        for (const w of candidates) if (sameAscii(b, start, w)) return w;
      }
    }
    // Very short ASCII strings are cheaper to build in JS than to cross into the native decoder
    // (measured: 3 chars ~20 ns vs ~60 ns); anything else is native (invalid UTF-8 becomes U+FFFD).
    if (n <= 6) {
      let s = '';
      for (let i = start; i < start + n; i++) {
        const c = b[i]!;
        if (c >= 0x80) return b.toString('utf8', start, start + n);
        s += String.fromCharCode(c);
      }
      return s;
    }
    return b.toString('utf8', start, start + n);
  }

  private bin(n: number): Buffer {
    this.need(n);
    const v = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  private array(n: number, depth: number): unknown[] {
    if (n > this.limits.maxArrayLength) throw new MsgpackError(`array of ${n} elements`);
    if (depth >= this.limits.maxDepth) throw new MsgpackError('nested too deep');
    const a: unknown[] = new Array(n);
    for (let i = 0; i < n; i++) a[i] = this.value(depth + 1);
    return a;
  }

  private map(n: number, depth: number): Record<string, unknown> {
    if (n > this.limits.maxMapLength) throw new MsgpackError(`map of ${n} entries`);
    if (depth >= this.limits.maxDepth) throw new MsgpackError('nested too deep');
    const o: Record<string, unknown> = {};
    for (let i = 0; i < n; i++) {
      const k = this.value(depth + 1);
      if (typeof k !== 'string') throw new MsgpackError('map key is not a str');
      if (k === '__proto__') throw new MsgpackError('map key __proto__ not allowed');
      o[k] = this.value(depth + 1);
    }
    return o;
  }
}
