/**
 * The native HTTP/1.1 front (issue 13 spike, `--front native`): the addon owns the connections and
 * parses them; once per loop turn it hands over a batch of events, and each request head becomes a
 * Stream for the same dispatcher, plugins, credit, retries and metrics as on the node:http front
 * door (front-door.ts, whose `proxy` this mirrors).
 *
 * What the spike does not serve itself goes to the node:http front door, which is created but does
 * not listen: Upgrade (WebSocket) and CONNECT requests, and h2c with prior knowledge, are handed
 * over as a socket (a dup of the fd) with the bytes already read put back — node:http then serves
 * them exactly as it does on `--front node` (WebSocket hub, 405 for CONNECT, h2c). That needs the
 * front door's `serveConnection(socket)` (its server's 'connection' path: WebSocket, h2c and the
 * same refusals as a connection node accepted).
 */
import { Socket } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from '../core/dispatcher.ts';
import { Stream } from '../core/stream.ts';
import type { FrontDoor } from '../http/front-door.ts';
import { createAccessLog } from '../http/access-log.ts';
import { requestHead } from '../http/proxy-headers.ts';
import { slowClientTimeouts } from '../http/server-factory.ts';
import type { ResolvedRouterOptions } from '../options.ts';
import { HeadFlag, NativeEvent, type NativeAddon, type NativeFrontHandle } from './native-addon.ts';
import { NativeConnection, type HeldHead, type NativeIo } from './native-connection.ts';
import { NativeRequest } from './native-request.ts';
import { HttpDate, NativeResponse } from './native-response.ts';

/** node:http's keep-alive timeout (the node front door keeps node's default). */
const KEEP_ALIVE_TIMEOUT_MS = 5_000;
/** node's writable highWaterMark for sockets. */
const HIGH_WATER_MARK = 16_384;

/** The part of the front door the router drives (router/src/index.ts). */
export type RouterFront = Pick<FrontDoor, 'listen' | 'stopAccepting' | 'close' | 'websockets'>;

/** The answer to a handed-over connection when the node front door cannot take it. */

/** The head of a handed-over request, as bytes node:http parses again. */
function headBytes(head: HeldHead): Buffer {
  let text = `${head.method} ${head.url} HTTP/1.${head.httpVersionMinor}\r\n`;
  const raw = head.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) text += `${raw[i]!}: ${raw[i + 1]!}\r\n`;
  return Buffer.from(`${text}\r\n`, 'latin1');
}

export function createNativeFront(options: ResolvedRouterOptions, dispatcher: Dispatcher, addon: NativeAddon, nodeDoor: FrontDoor): RouterFront {
  const accessLog = createAccessLog(dispatcher.log, options.accessLog);
  const connections = new Map<number, NativeConnection>();
  const date = new HttpDate();
  let io: NativeIo & { stopping: boolean; handle: NativeFrontHandle };
  let unknownEventLogged = false;

  /** As front-door.ts: one request → one Stream for the dispatcher, refused early when it must be. */
  const proxy = (req: NativeRequest, res: NativeResponse): void => {
    const remote = req.connection.remoteAddress;
    const head = requestHead(req, remote, 'http');
    // NativeRequest/NativeResponse offer the subset of IncomingMessage/ServerResponse that Stream,
    // the attempt runner, the metrics and the access log use (see their file comments).
    const stream = new Stream(dispatcher, req as unknown as IncomingMessage, res as unknown as ServerResponse, head, req.hasBody, Date.now());
    if (accessLog !== null) accessLog({ req, res }, stream, remote);
    if (head.problem !== null) {
      stream.fail(head.problem);
      return;
    }
    if (req.hasBody && Number(req.headers['content-length']) > options.maxBodySize) {
      stream.fail('ZP_ERR_BODY_TOO_LARGE');
      return;
    }
    dispatcher.submit(stream);
  };

  const onHead = (conn: NativeConnection, method: string, url: string, minor: number, flags: number, rawHeaders: string[]): void => {
    if (flags & HeadFlag.UPGRADE) {
      conn.upgrade = { method, url, httpVersionMinor: minor, rawHeaders };
      return;
    }
    const hasBody = (flags & HeadFlag.HAS_BODY) !== 0;
    const req = new NativeRequest(conn, method, url, minor, rawHeaders, hasBody);
    if (!hasBody) req.complete = true;
    else conn.bodyTarget = req;
    const res = new NativeResponse(conn, req, (flags & HeadFlag.KEEP_ALIVE) !== 0, date);
    conn.responses.push(res);
    proxy(req, res);
  };

  const handOff = (conn: NativeConnection | undefined, fd: number, rest: Buffer): void => {
    const upgrade = conn?.upgrade ?? null;
    const bytes = upgrade === null ? rest : Buffer.concat([headBytes(upgrade), rest]);
    const socket = new Socket({ fd, readable: true, writable: true, allowHalfOpen: true });
    if (bytes.length > 0) socket.unshift(bytes);
    nodeDoor.serveConnection(socket);
  };

  const onEvents = (events: unknown[]): void => {
    const n = events.length;
    let i = 0;
    while (i < n) {
      const type = events[i] as number;
      const id = events[i + 1] as number;
      switch (type) {
        case NativeEvent.OPEN:
          connections.set(id, new NativeConnection(io, id, events[i + 2] as string));
          i += 3;
          break;
        case NativeEvent.HEAD: {
          const conn = connections.get(id);
          if (conn !== undefined) onHead(conn, events[i + 2] as string, events[i + 3] as string, events[i + 4] as number, events[i + 5] as number, events[i + 6] as string[]);
          i += 7;
          break;
        }
        case NativeEvent.BODY:
          connections.get(id)?.body(events[i + 2] as Buffer);
          i += 3;
          break;
        case NativeEvent.END:
          connections.get(id)?.messageEnd();
          i += 2;
          break;
        case NativeEvent.CLOSE:
          connections.get(id)?.onClosed();
          connections.delete(id);
          i += 2;
          break;
        case NativeEvent.DRAIN:
          connections.get(id)?.drained();
          i += 2;
          break;
        case NativeEvent.HANDOFF: {
          const conn = connections.get(id);
          connections.delete(id);
          handOff(conn, events[i + 2] as number, events[i + 3] as Buffer);
          i += 4;
          break;
        }
        default:
          // A layout mismatch between the addon and this file: stop reading this batch, say so once.
          if (!unknownEventLogged) dispatcher.log.error({ type }, 'native front: unknown event type (addon and router out of step)');
          unknownEventLogged = true;
          return;
      }
    }
  };

  return {
    websockets: nodeDoor.websockets,
    async listen(): Promise<string> {
      const timeouts = slowClientTimeouts({ maxHeaderSize: options.maxHeaderSize, headerTimeoutMs: options.headerTimeoutMs, bodyTimeoutMs: options.bodyTimeoutMs });
      const shortest = Math.min(timeouts.headersTimeout, KEEP_ALIVE_TIMEOUT_MS, timeouts.requestTimeout > 0 ? timeouts.requestTimeout : Infinity);
      const [handle, port] = addon.listen(
        options.httpHost,
        options.httpPort,
        {
          maxHeaderSize: options.maxHeaderSize,
          headerTimeoutMs: timeouts.headersTimeout,
          bodyTimeoutMs: timeouts.requestTimeout,
          keepAliveMs: KEEP_ALIVE_TIMEOUT_MS,
          highWaterMark: HIGH_WATER_MARK,
          sweepMs: Math.max(25, Math.floor(shortest / 4)),
        },
        onEvents,
      );
      io = { addon, handle, highWaterMark: HIGH_WATER_MARK, stopping: false };
      const host = options.httpHost.includes(':') ? `[${options.httpHost}]` : options.httpHost;
      return `http://${host}:${port}`;
    },
    stopAccepting(): void {
      if (io !== undefined) {
        io.stopping = true;
        addon.stop(io.handle);
      }
      nodeDoor.stopAccepting();
    },
    async close(): Promise<void> {
      if (io !== undefined) addon.closeAll(io.handle);
      for (const conn of connections.values()) conn.onClosed();
      connections.clear();
      await nodeDoor.close().catch(() => undefined);
    },
  };
}
