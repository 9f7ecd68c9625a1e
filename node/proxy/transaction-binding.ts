// Glue between the proxy core and node/transaction's TransactionManager over node/sip messages:
// the manager's TU callbacks become proxy events, and the proxy's port becomes manager calls.
// The dispatcher owns the manager, the clock and the address type A.

import type { SipRequest, SipResponse } from '../sip/index.js';
import {
  clientKey, localResponseView, sipMessageOf, viewOf, type ClientTx, type RequestView, type ResponseView, type ServerTx, type TimeoutTimer,
  type TransactionManager, type TransactionUser, type Tx,
} from '../transaction/index.js';
import type { ProxyRequestMessage, ProxyResponseMessage } from './proxy-message.js';
import type { NextHop, SourceAddress } from './routing-decision.js';
import type { ProxyLogger, ProxyTransactionPort, StatefulProxy } from './stateful-proxy.js';
import { responseNextHop } from './stateless-response.js';

export interface TransactionBindingOptions<A> {
  /** The manager is created with `binding.tu`, so it is reached lazily. */
  readonly manager: () => TransactionManager<A>;
  readonly proxy: () => StatefulProxy<ServerTx<A>, ClientTx<A>>;
  /** Turns a resolved next hop into a transport address (DNS/RFC 3263 lives behind this). */
  readonly destination: (hop: NextHop) => A;
  readonly sourceOf: (address: A) => SourceAddress;
  /** Hands an end-to-end request (2xx ACK) to the transport, outside any transaction. */
  readonly sendStateless: (request: SipRequest, dest: A) => void;
  /**
   * Sends a response outside any transaction to `dest`, which the binding resolved from the
   * response's top Via (§18.2.2, RFC 3581 received/rport): stray responses forwarded statelessly
   * (§16.11) and a late 2xx after a non-2xx final (§16.7 item 5). Without it those are dropped.
   */
  readonly sendResponseStateless?: (response: SipResponse, dest: A) => void;
  readonly clock: () => number;
  readonly log?: ProxyLogger;
}

export interface TransactionBinding<A> {
  readonly port: ProxyTransactionPort<ServerTx<A>, ClientTx<A>>;
  readonly tu: TransactionUser<A>;
}

function sip<T extends SipRequest | SipResponse>(m: ProxyRequestMessage | ProxyResponseMessage): T {
  return m as unknown as T;
}

const NO_RETRANSMIT = { retransmit: false } as const;

/**
 * A 401/407 this node generated (not one relayed from downstream, which arrives parsed off the
 * wire): RFC 3261 §26.3.2.4 recommends not retransmitting the challenges a server issues.
 */
function isOwnChallenge(res: SipResponse): boolean {
  return (res.status === 401 || res.status === 407) && res.origin === null;
}

export function bindProxyToTransactions<A>(o: TransactionBindingOptions<A>): TransactionBinding<A> {
  const fail = (what: string) => (err: unknown): void => {
    o.log?.error({ err: err instanceof Error ? err.message : String(err) }, `proxy ${what} failed`);
  };
  const port: ProxyTransactionPort<ServerTx<A>, ClientTx<A>> = {
    sendRequest(request, hop, now) {
      try {
        return o.manager().sendRequest(viewOf(sip<SipRequest>(request)), o.destination(hop), now);
      } catch (err) {
        fail('send')(err);
        return undefined; // §16.9: treated as 503 by the proxy
      }
    },
    respond(serverTx, response, now) {
      try {
        const res = sip<SipResponse>(response);
        o.manager().respond(serverTx, localResponseView(res), now, isOwnChallenge(res) ? NO_RETRANSMIT : undefined);
      } catch (err) {
        fail('respond')(err); // a response we cannot view (malformed downstream header) is dropped
      }
    },
    sendStateless(request, hop) {
      o.sendStateless(sip<SipRequest>(request), o.destination(hop));
    },
    forwardResponseStateless: o.sendResponseStateless
      ? (response) => {
        const top = response.headers.get('Via');
        const hop = top === undefined ? undefined : responseNextHop(top);
        if (hop === undefined) return;
        try {
          o.sendResponseStateless?.(sip<SipResponse>(response), o.destination(hop));
        } catch (err) {
          fail('stateless response')(err); // an unserializable downstream header: dropped
        }
      }
      : undefined,
    clientExists: (branch, method) => o.manager().get(clientKey(branch, method)) !== undefined,
    cancelTarget(cancel) {
      try {
        return o.manager().findCancelTarget(viewOf(sip<SipRequest>(cancel)));
      } catch (err) {
        fail('cancel match')(err);
        return undefined;
      }
    },
  };
  const tu: TransactionUser<A> = {
    request(tx: ServerTx<A>, request: RequestView, source: A) {
      const msg = sipMessageOf(request) as SipRequest;
      o.proxy().onRequest(tx, msg, o.sourceOf(source), o.clock()).catch(fail('request'));
    },
    response(tx: ClientTx<A>, response: ResponseView) {
      o.proxy().onResponse(tx, sipMessageOf(response) as SipResponse, o.clock()).catch(fail('response'));
    },
    // RFC 3261 §17 / RFC 6026 §8.7: the ACK for a 2xx is end-to-end; follow the route set statelessly.
    ack(_tx: ServerTx<A> | undefined, ack: RequestView, source: A) {
      o.proxy().onAck(sipMessageOf(ack) as SipRequest, o.sourceOf(source), o.clock()).catch(fail('ack'));
    },
    // A response matching no client transaction: forwarded as a stateless proxy would when our
    // Via is on top, else discarded (§16.11, §18.1.2).
    strayResponse(response: ResponseView) {
      o.proxy().onStrayResponse(sipMessageOf(response) as SipResponse);
    },
    timeout(tx: Tx<A>, timer: TimeoutTimer) {
      if (tx.side === 'client') o.proxy().onClientTimeout(tx, timer, o.clock()).catch(fail('timeout'));
    },
    transportError(tx: Tx<A>) {
      if (tx.side === 'client') o.proxy().onTransportError(tx, o.clock()).catch(fail('transport error'));
    },
    terminated(tx: Tx<A>) {
      o.proxy().onTerminated(tx as ClientTx<A>);
    },
  };
  return { port, tu };
}
