/**
 * CURVE on the router's side: when --curve-secret is given, the ROUTER socket is a CURVE server in
 * a context of its own, with a ZAP handler (the allowlist) bound in that context before the socket
 * accepts anything, and the allowlist re-read on SIGHUP. Without a secret key this returns null and
 * the socket stays plaintext (NULL mechanism), as before.
 */
import { Context } from 'zeromq';
import type { Logger } from 'pino';
import { curvePublicKey, CurveKeyError, parseCurveKey } from '../../../proto/src/curve-keys.ts';
import type { ResolvedRouterOptions } from '../options.ts';
import type { TransportSocketOptions } from '../transport/socket.ts';
import type { DropCounters } from './drop-counters.ts';
import { ZapHandler } from './zap-handler.ts';

export class CurveServer {
  readonly socketOptions: TransportSocketOptions;
  readonly publicKey: string;
  private readonly onSighup = (): void => this.zap.reload();

  private constructor(
    readonly zap: ZapHandler,
    secretKey: string,
    context: Context,
    private readonly log: Logger,
  ) {
    this.socketOptions = { context, curveSecretKey: secretKey };
    this.publicKey = curvePublicKey(secretKey);
  }

  /** null when CURVE is off; throws CurveKeyError on a bad key or allowlist (the router does not start). */
  static fromOptions(options: ResolvedRouterOptions, log: Logger, drops: DropCounters): CurveServer | null {
    if (options.curveSecretKey === undefined && options.allowWorkers === undefined) return null;
    if (options.curveSecretKey === undefined) throw new CurveKeyError('an allowlist of worker keys needs the router secret key (--curve-secret)');
    if (options.allowWorkers === undefined) throw new CurveKeyError('CURVE needs an allowlist of worker public keys (--allow-workers)');
    const secretKey = parseCurveKey(options.curveSecretKey, 'router secret key');
    // One context per CURVE router: the ZAP endpoint is per context, and several routers may share a process.
    const context = new Context({ blocky: false });
    const zap = new ZapHandler(context, options.allowWorkers, log, drops);
    return new CurveServer(zap, secretKey, context, log);
  }

  async start(): Promise<void> {
    await this.zap.start();
    process.on('SIGHUP', this.onSighup);
    this.log.info({ publicKey: this.publicKey }, 'curve enabled: workers need an allowed key and this router key');
  }

  async close(): Promise<void> {
    process.off('SIGHUP', this.onSighup);
    await this.zap.close();
  }
}
