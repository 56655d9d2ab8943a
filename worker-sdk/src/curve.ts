/**
 * CURVE on the worker's side: the worker's socket is a CURVE client of every router it connects to
 * (one router key for all of them). Its own keypair comes from its secret key (the public half is
 * derived), and the router admits it only if that public key is on the router's allowlist.
 */
import { curvePublicKey, parseCurveKey } from '../../proto/src/curve-keys.ts';

export interface WorkerCurveOptions {
  /** The worker's Z85 secret key (`zeroproxy keygen` → `<name>.key`). */
  secretKey: string;
  /** The router's Z85 public key (`<router>.pub`). */
  serverKey: string;
}

/** zeromq.js socket options for a CURVE client; throws CurveKeyError on a malformed key. */
export function curveClientSocketOptions(curve: WorkerCurveOptions): { curveSecretKey: string; curvePublicKey: string; curveServerKey: string } {
  const curveSecretKey = parseCurveKey(curve.secretKey, 'worker secret key');
  return {
    curveSecretKey,
    curvePublicKey: curvePublicKey(curveSecretKey),
    curveServerKey: parseCurveKey(curve.serverKey, 'router public key'),
  };
}
