// `siphon_proxy_stateless_total{event}`: what the proxy forwarded or refused without a response
// context (§16.10 unmatched CANCEL, §16.11 stray responses). An operator watching failovers sees
// CANCELs for calls this node never saw, and 2xx retransmissions outliving their transaction.
import { Counter, type Registry } from 'prom-client';
import type { StatelessCounts } from './stateful-proxy.js';

export function registerStatelessProxyCounter(source: { readonly statelessCounts: Readonly<StatelessCounts> }, registry: Registry): Counter<'event'> {
  return new Counter({
    name: 'siphon_proxy_stateless_total',
    help: 'Proxy work done without a response context: CANCELs matching no INVITE (forwarded, no next hop, rejected), stray responses (forwarded, dropped), late retransmissions absorbed while their client transaction lives, derived branches still in use (given a distinct one), non-INVITE timeouts left unanswered (RFC 4320 4.2: never a 408), branches moved on to the next address of their next hop (failover: RFC 3263 4.3), and next hops whose name gave no address (next_hop_unresolved)',
    labelNames: ['event'],
    registers: [registry],
    collect() {
      // The proxy owns the counts (its core stays free of prom-client); publish them as they are.
      this.reset();
      for (const [event, n] of Object.entries(source.statelessCounts)) this.inc({ event }, n);
    },
  });
}
