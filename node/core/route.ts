/**
 * The replaceable request route: the dispatcher hands each valid inbound request to a Route.
 * This issue ships the default (OPTIONS → 200, else 501); the registrar, proxy and user scripts
 * install their own Route later.
 */
import type { SipRequest, SipResponse } from '../sip/index.js';
import type { ClientTx, ServerTx, TimeoutTimer, Tx } from '../transaction/index.js';
import type { Endpoint, MessageSource } from '../transport/index.js';

export type HeaderLine = readonly [name: string, value: string];

export interface RequestContext {
  readonly request: SipRequest;
  readonly source: MessageSource;
  /** The server transaction (RFC 3261 §17.2) carrying this request; null for an ACK. */
  readonly transaction: ServerTx<MessageSource> | null;
  /**
   * Answers through the server transaction (which absorbs retransmissions and resends the last
   * response), with the Server header and a To tag added per §8.2.6. A no-op for ACK, which is
   * never answered (§17.1.1.3). Only the first final response is sent.
   */
  respond(status: number, reason?: string, headers?: readonly HeaderLine[], body?: Buffer): void;
}

export interface SipSender {
  /** Sends a serialized message to an endpoint over the given transport (never waits on the peer). */
  send(bytes: Buffer, transport: 'udp' | 'tcp', dest: Endpoint): void;
}

export interface Route {
  /**
   * True for a placeholder that only turns traffic away while the real route loads: the node then
   * reports not ready on /admin/health, so nothing is sent traffic it would answer with 503.
   */
  readonly starting?: boolean;
  onRequest(ctx: RequestContext): void;
  /**
   * A response that no local transaction claimed. Return true when handled; false drops it
   * (RFC 3261 §17.1.3: a response matching no transaction is discarded by the UAC core).
   */
  onResponse?(response: SipResponse, source: MessageSource): boolean;
  /** A response passed up by a client transaction this node started (`Dispatcher.sendRequest`). */
  onClientResponse?(response: SipResponse, tx: ClientTx<MessageSource>): void;
  /** A transaction timer expired without a final response (Timer B/F/H…; the proxy answers 408, §16.7). */
  onTransactionTimeout?(tx: Tx<MessageSource>, timer: TimeoutTimer): void;
  /** The transport could not deliver a transaction's message (§17.1.4; the proxy treats it as 503, §16.9). */
  onTransportError?(tx: Tx<MessageSource>): void;
  /** The transaction left the table (TU bookkeeping can be dropped). */
  onTransactionTerminated?(tx: Tx<MessageSource>): void;
}

/** Issue 2's stateless default: OPTIONS → 200 (§11.2), ACK ignored, anything else → 501 (§8.2.1). */
export const defaultRoute: Route = {
  onRequest(ctx) {
    const method = ctx.request.method;
    if (method === 'ACK') return;
    if (method === 'OPTIONS') {
      ctx.respond(200, 'OK', [
        ['Allow', 'OPTIONS'],
        ['Accept', 'application/sdp'],
      ]);
      return;
    }
    ctx.respond(501, 'Not Implemented', [['Allow', 'OPTIONS']]);
  },
};
