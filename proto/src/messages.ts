/**
 * zeroproxy wire protocol, version 1: the message types and their fields.
 * proto/SPEC.md is normative; this file is its typed mirror. Only proto/src knows the frame layout.
 */

/** Every header frame starts with this signature, then the protocol version. */
export const SIGNATURE = 'ZP';
export const PROTOCOL_VERSION = 1;
export const SUPPORTED_VERSIONS: readonly number[] = [1];

/** Wire codes of the message types (header element 2). */
export const MessageCode = {
  HELLO: 1,
  WELCOME: 2,
  CREDIT: 3,
  HEARTBEAT: 4,
  DRAIN: 5,
  BYE: 6,
  REQ: 7,
  DATA: 8,
  RES: 9,
  WINDOW: 10,
  RST: 11,
  ERROR: 12,
} as const;
export type MessageType = keyof typeof MessageCode;

/** Limits the codec enforces. Peers may announce lower ones; these are the hard ceilings. */
export const Limits = {
  /** Largest header frame (msgpack) in bytes. */
  maxHeaderBytes: 64 * 1024,
  /** Largest body frame in bytes. */
  maxBodyBytes: 1024 * 1024,
  /** Most (header, body) pairs in one ZeroMQ message. */
  maxPairsPerMessage: 1024,
  /** Most header name/value pairs in a REQ or RES. */
  maxHeaderFields: 512,
  /** Largest stream id and seq (uint32). Stream id 0 is never used. */
  maxUint32: 0xffffffff,
  /** Largest WINDOW increment and window size (as HTTP/2: 2^31-1). */
  maxWindow: 0x7fffffff,
  /** Longest id / epoch / pool / short string field. */
  maxIdLength: 255,
} as const;

/**
 * A worker silent for this many heartbeat intervals is dead (SPEC §5.3). (A worker replaces a router
 * connection silent for 2 intervals: the router heartbeats idle links every half interval.)
 */
export const LIVENESS_INTERVALS = 3;

/** RST codes (SPEC.md "RST"). `refused` promises the application never saw the request. */
export const RST_CODES = ['cancel', 'refused', 'timeout', 'flow_control', 'protocol', 'peer_restart', 'internal'] as const;
export type RstCode = (typeof RST_CODES)[number];

/** ERROR codes (connection level, SPEC.md "ERROR"). */
export const ERROR_CODES = ['unknown_peer', 'version', 'protocol', 'auth', 'overloaded', 'internal'] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/**
 * WebSocket message types a DATA carries on a stream whose REQ scheme is `ws`/`wss` (SPEC §7.7).
 * Absent on plain HTTP streams.
 */
export const WS_OPS = ['text', 'binary', 'ping', 'pong', 'close'] as const;
export type WsOp = (typeof WS_OPS)[number];

/** Header fields in HTTP order as flat [name, value, name, value, ...]; names lower-case. */
export type HeaderList = string[];

export interface Hello {
  type: 'HELLO';
  /** Repeated HELLOs carry the same nonce until WELCOME echoes it. */
  nonce: number;
  workerId: string;
  /** Random per worker process start: a change tells the router the worker restarted. */
  epoch: string;
  /** Protocol versions the worker speaks. */
  versions: number[];
  pool: string;
  /** Initial credit: concurrent streams the worker will accept. */
  capacity: number;
  /** Initial per-stream window the worker grants the router for request bodies (bytes). */
  window: number;
  /** Free-form labels (shard labels, runtime, version). String keys and string values. */
  meta: Record<string, string>;
}

export interface Welcome {
  type: 'WELCOME';
  nonce: number;
  routerId: string;
  epoch: string;
  /** Version chosen by the router from HELLO.versions. */
  version: number;
  /** Heartbeat interval both sides use; a peer is dead after 3 silent intervals. */
  heartbeatMs: number;
  /** Initial per-stream window the router grants the worker for response bodies (bytes). */
  window: number;
  /** Largest body frame the router accepts (bytes). */
  maxFrame: number;
}

export interface Credit {
  type: 'CREDIT';
  /** Additive change in free request slots (may be negative to shrink). */
  credit: number;
}

export interface Heartbeat {
  type: 'HEARTBEAT';
  epoch: string;
}

export interface Drain {
  type: 'DRAIN';
  /** Highest stream id the worker accepted; later REQs are answered with RST refused. */
  lastStream: number;
}

export interface Bye {
  type: 'BYE';
  reason: string;
}

export interface Req {
  type: 'REQ';
  stream: number;
  seq: number;
  method: string;
  scheme: string;
  authority: string;
  path: string;
  headers: HeaderList;
  remote: string;
  requestId: string;
  /** Milliseconds the router will wait for this response; 0 = no deadline. */
  timeoutMs: number;
  /** No request body follows (body, if any, is all in `body`). */
  fin: boolean;
  body: Buffer;
}

export interface Data {
  type: 'DATA';
  stream: number;
  seq: number;
  /** HTTP streams: last body bytes in this direction. WebSocket streams: last fragment of this message. */
  fin: boolean;
  body: Buffer;
  /** WebSocket streams only: the message type (header element 6). Undefined on HTTP streams. */
  op?: WsOp | undefined;
}

export interface Res {
  type: 'RES';
  stream: number;
  seq: number;
  status: number;
  headers: HeaderList;
  fin: boolean;
  body: Buffer;
}

export interface WindowUpdate {
  type: 'WINDOW';
  stream: number;
  seq: number;
  increment: number;
}

export interface Rst {
  type: 'RST';
  stream: number;
  code: RstCode;
  message: string;
}

export interface ErrorMessage {
  type: 'ERROR';
  code: ErrorCode;
  message: string;
}

export type Message =
  | Hello
  | Welcome
  | Credit
  | Heartbeat
  | Drain
  | Bye
  | Req
  | Data
  | Res
  | WindowUpdate
  | Rst
  | ErrorMessage;

/** Messages that belong to a stream and carry a per-direction `seq`. */
export type StreamMessage = Req | Data | Res | WindowUpdate;
