/**
 * Real clients for the front-door tests: curl and h2load run as processes (bounded), Node's http2
 * client with back-pressure on uploads, and a throwaway self-signed certificate made by openssl.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import http2, { type ClientHttp2Session, type IncomingHttpHeaders, type SecureClientSessionOptions } from 'node:http2';
import path from 'node:path';
import { withTimeout } from '../helpers/index.ts';

export interface CommandResult {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

/** True if `name` runs (`name --version` or `-V` exits). */
export function hasCommand(name: string, versionFlag = '--version'): boolean {
  const r = spawnSync(name, [versionFlag], { stdio: 'ignore', timeout: 10_000 });
  return r.error === undefined;
}

/** Runs a command to completion; killed (and rejected) after `timeoutMs`. */
export async function runCommand(command: string, args: string[], timeoutMs: number): Promise<CommandResult> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => out.push(c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => {
    if (stderr.length < 100_000) stderr += c;
  });
  const done = new Promise<CommandResult>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout: Buffer.concat(out), stderr }));
  });
  try {
    return await withTimeout(done, timeoutMs, `${command} ${args.join(' ')}`);
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

export interface CertFiles {
  cert: string;
  key: string;
  /** PEM text of the certificate: the client trusts exactly this one. */
  certPem: string;
}

/** A self-signed certificate for 127.0.0.1/localhost, valid for a day, in `dir`. */
export async function makeSelfSignedCert(dir: string): Promise<CertFiles> {
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  const r = await runCommand(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'],
    30_000,
  );
  if (r.code !== 0) throw new Error(`openssl req failed (${r.code}): ${r.stderr}`);
  const { readFile } = await import('node:fs/promises');
  return { cert, key, certPem: await readFile(cert, 'utf8') };
}

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Opens an HTTP/2 session (h2c for http://, TLS + ALPN h2 for https://) and waits for it. */
export async function connectH2(url: string, options: SecureClientSessionOptions = {}): Promise<ClientHttp2Session> {
  const session = http2.connect(url, options);
  await withTimeout(
    new Promise<void>((resolve, reject) => {
      session.once('connect', () => resolve());
      session.once('error', reject);
    }),
    10_000,
    `HTTP/2 session to ${url}`,
  );
  session.on('error', () => undefined); // failures surface on the streams
  return session;
}

export interface H2Result {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface H2RequestOptions {
  method?: string;
  headers?: Record<string, string | string[]>;
  /** Uploaded in `chunkSize` pieces, each write waiting for 'drain' when the stream is full. */
  body?: Buffer;
  chunkSize?: number;
  timeoutMs?: number;
}

/** One request on `session`, fully read; rejects on a stream error or after the timeout. */
export async function h2Request(session: ClientHttp2Session, path: string, options: H2RequestOptions = {}): Promise<H2Result> {
  const stream = session.request({ ':method': options.method ?? 'GET', ':path': path, ...options.headers }, { endStream: options.body === undefined });
  const exchange = new Promise<H2Result>((resolve, reject) => {
    let head: IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    stream.once('response', (h) => (head = h));
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.once('end', () => resolve({ status: Number(head[':status']), headers: head, body: Buffer.concat(chunks) }));
    stream.once('error', reject);
    stream.once('close', () => {
      if (stream.rstCode !== undefined && stream.rstCode !== http2.constants.NGHTTP2_NO_ERROR) reject(new Error(`stream reset with code ${stream.rstCode}`));
    });
  });
  if (options.body !== undefined) void upload(stream, options.body, options.chunkSize ?? 16 * 1024);
  return withTimeout(exchange, options.timeoutMs ?? 20_000, `HTTP/2 ${options.method ?? 'GET'} ${path}`).finally(() => {
    if (!stream.closed) stream.close(http2.constants.NGHTTP2_CANCEL);
  });
}

/** Writes `body` with back-pressure (write() false → wait for 'drain'), then ends the stream. */
async function upload(stream: http2.ClientHttp2Stream, body: Buffer, chunkSize: number): Promise<void> {
  for (let offset = 0; offset < body.length && !stream.destroyed; offset += chunkSize) {
    if (!stream.write(body.subarray(offset, offset + chunkSize))) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          stream.off('drain', done);
          stream.off('close', done);
          resolve();
        };
        stream.once('drain', done);
        stream.once('close', done);
      });
    }
  }
  if (!stream.destroyed) stream.end();
}

/** Closes a session, bounded (destroyed if it does not close in time). */
export async function closeH2(session: ClientHttp2Session): Promise<void> {
  if (session.destroyed) return;
  await withTimeout(new Promise<void>((resolve) => session.close(() => resolve())), 5000, 'HTTP/2 session close').catch(() => session.destroy());
}
