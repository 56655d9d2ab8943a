/**
 * Before a target is loaded, one request per scenario checks it answers correctly: a proxy that
 * returns fast 502s would otherwise top the table. Bounded by a timeout.
 */
import { request } from 'node:http';

const CHECK_TIMEOUT_MS = 10_000;

export interface Expectation {
  method: 'GET' | 'POST';
  path: string;
  body?: Buffer;
  /** Exact response body length expected with status 200. */
  responseBytes: number;
}

export function checkResponse(baseUrl: string, e: Expectation): Promise<void> {
  return new Promise((resolve, reject) => {
    const deadline = setTimeout(() => req.destroy(new Error(`${e.method} ${e.path}: no full answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
    const done = (err: Error | null): void => {
      clearTimeout(deadline);
      if (err) reject(err);
      else resolve();
    };
    const headers: Record<string, string> = e.body ? { 'content-type': 'application/octet-stream', 'content-length': String(e.body.length) } : {};
    const req = request(baseUrl + e.path, { method: e.method, headers, agent: false }, (res) => {
      let bytes = 0;
      res.on('data', (chunk: Buffer) => (bytes += chunk.length));
      res.on('end', () => {
        if (res.statusCode !== 200) done(new Error(`${e.method} ${e.path} answered ${res.statusCode}`));
        else if (bytes !== e.responseBytes) done(new Error(`${e.method} ${e.path} answered ${bytes} bytes, expected ${e.responseBytes}`));
        else done(null);
      });
      res.on('error', (err) => done(err));
    });
    req.on('error', (err) => done(err));
    req.end(e.body);
  });
}
