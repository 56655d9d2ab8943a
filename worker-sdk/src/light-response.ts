/**
 * `LightResponse`: an opt-in drop-in for `Response` in fetch-style handlers (the idea of
 * @hono/node-server's `src/response.ts`, without replacing the global).
 *
 * `new Response(text)` costs ~9 µs on Node 20 (a byte ReadableStream and its bookkeeping per
 * response), more than everything else the SDK does for a request. A LightResponse made from a
 * string, bytes or null (or by `LightResponse.json`) keeps status, Headers and body as plain values;
 * the SDK sends them directly. Anything else — another body kind, or any property or method beyond
 * `status`, `ok` and `headers` (body, text(), clone(), statusText, …) — builds the real Response
 * once and answers from it. `instanceof Response` holds. Validation is the real constructor's: the
 * same inputs throw the same errors.
 *
 *   import { LightResponse as Response } from 'zeroproxy/worker-sdk';
 */

const NULL_BODY_STATUS = new Set([101, 103, 204, 205, 304]);

/** What the SDK reads from a LightResponse that was never turned into a real one. */
export interface LightResponseParts {
  status: number;
  headers: Headers;
  body: string | Uint8Array | null;
}

const PARTS = Symbol('zeroproxy light response parts');
const REAL = Symbol('zeroproxy light response real');

interface LightFields {
  [PARTS]: LightResponseParts | null;
  [REAL]: Response | null;
  [key: symbol]: unknown;
}

function realOf(self: LightFields): Response {
  let real = self[REAL];
  if (!real) {
    const parts = self[PARTS]!;
    real = new Response(parts.body as BodyInit | null, { status: parts.status, headers: parts.headers });
    self[REAL] = real;
    self[PARTS] = null;
  }
  return real;
}

function fields(self: unknown): LightFields {
  if (!(self as Partial<LightFields> | null)?.[REAL] && !(self as Partial<LightFields> | null)?.[PARTS]) throw new TypeError('Illegal invocation');
  return self as LightFields;
}

/** The parts of a LightResponse still in plain form, or null (not a LightResponse, or already real). */
export function lightResponseParts(res: Response): LightResponseParts | null {
  return (res as unknown as Partial<LightFields>)[PARTS] ?? null;
}

function cheapBody(body: unknown): body is string | Uint8Array | ArrayBuffer | null | undefined {
  return body === null || body === undefined || typeof body === 'string' || body instanceof Uint8Array || body instanceof ArrayBuffer;
}

export interface LightResponse extends Response {}

export class LightResponse {
  declare [PARTS]: LightResponseParts | null;
  declare [REAL]: Response | null;

  constructor(body?: BodyInit | null, init?: ResponseInit) {
    const status = init?.status ?? 200;
    const plain = cheapBody(body) && init?.statusText === undefined && Number.isInteger(status) && status >= 200 && status <= 599 && !(body != null && NULL_BODY_STATUS.has(status));
    if (!plain) {
      // The real constructor decides (and throws what it throws).
      this[PARTS] = null;
      this[REAL] = new Response(body, init);
      return;
    }
    const headers = new Headers(init?.headers);
    let bytes: string | Uint8Array | null;
    if (body === null || body === undefined) bytes = null;
    else if (typeof body === 'string') {
      bytes = body;
      if (!headers.has('content-type')) headers.set('content-type', 'text/plain;charset=UTF-8');
    } else {
      // The real Response copies byte bodies too: a later change to the caller's buffer is not sent.
      // (Buffer#slice would be a view: copy with the Uint8Array constructor.)
      bytes = body instanceof ArrayBuffer ? new Uint8Array(body.slice(0)) : new Uint8Array(body as Uint8Array);
    }
    this[PARTS] = { status, headers, body: bytes };
    this[REAL] = null;
  }

  static json(data: unknown, init?: ResponseInit): Response {
    const text = JSON.stringify(data);
    if (text === undefined) return Response.json(data, init); // throws as the real one does
    const headers = new Headers(init?.headers);
    if (!headers.has('content-type')) headers.set('content-type', 'application/json');
    return new LightResponse(text, { ...init, headers }) as unknown as Response;
  }
}

Object.setPrototypeOf(LightResponse, Response);
Object.setPrototypeOf(LightResponse.prototype, Response.prototype);

/** Own answers for the cheap properties; everything else on Response.prototype goes to the real one. */
function defineDelegates(): void {
  const own: PropertyDescriptorMap = {
    status: {
      get(this: unknown) {
        const f = fields(this);
        return f[PARTS]?.status ?? f[REAL]!.status;
      },
      configurable: true,
    },
    ok: {
      get(this: unknown) {
        const f = fields(this);
        const status = f[PARTS]?.status ?? f[REAL]!.status;
        return status >= 200 && status <= 299;
      },
      configurable: true,
    },
    headers: {
      get(this: unknown) {
        const f = fields(this);
        return f[PARTS]?.headers ?? f[REAL]!.headers;
      },
      configurable: true,
    },
    bodyUsed: {
      get(this: unknown) {
        const f = fields(this);
        return f[PARTS] ? false : f[REAL]!.bodyUsed;
      },
      configurable: true,
    },
  };
  for (const key of Reflect.ownKeys(Response.prototype)) {
    if (key === 'constructor' || key === Symbol.toStringTag || key in own) continue;
    const desc = Object.getOwnPropertyDescriptor(Response.prototype, key)!;
    if (typeof desc.value === 'function') {
      own[key] = {
        value: function (this: unknown, ...args: unknown[]) {
          const real = realOf(fields(this)) as unknown as Record<string | symbol, (...a: unknown[]) => unknown>;
          return real[key as string]!(...args);
        },
        writable: true,
        configurable: true,
      };
    } else if (desc.get) {
      own[key] = {
        get(this: unknown) {
          return (realOf(fields(this)) as unknown as Record<string | symbol, unknown>)[key];
        },
        configurable: true,
      };
    }
  }
  // undici's own code (e.g. Response.prototype.clone.call, structured reads) reads internal
  // symbol-keyed fields: hand it the real Response's.
  for (const sym of Object.getOwnPropertySymbols(new Response(null))) {
    own[sym] = {
      get(this: unknown) {
        return (realOf(fields(this)) as unknown as Record<symbol, unknown>)[sym];
      },
      configurable: true,
    };
  }
  Object.defineProperties(LightResponse.prototype, own);
}
defineDelegates();
