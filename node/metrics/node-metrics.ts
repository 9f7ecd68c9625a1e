/**
 * The node's Prometheus metrics (`siphon_*` names from the feature list). One Registry per node
 * instance (not prom-client's global), so tests can run several nodes in one process.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { LabelTally } from './label-tally.js';

export type TransportName = 'udp' | 'tcp' | 'tls' | 'ws' | 'wss';

/** Live values read at scrape time, installed by the components that own them. */
export interface MetricSources {
  transactionsActive: () => number;
}

export interface NodeMetrics {
  readonly registry: Registry;
  readonly sources: MetricSources;
  readonly requests: Counter<'method'>;
  readonly responses: Counter<'code'>;
  /** The per-message way to count `requests` by method: folded into the counter when scraped. */
  readonly requestsByMethod: LabelTally<'method'>;
  /** The per-message way to count `responses` by status code: folded into the counter when scraped. */
  readonly responsesByCode: LabelTally<'code'>;
  readonly transactionsActive: Gauge;
  readonly connectionsActive: Gauge<'transport'>;
  readonly requestDuration: Histogram;
  readonly uptime: Gauge;
  readonly malformed: Counter<'transport'>;
  /** Keep-alives received (RFC 5626 CRLF pings, STUN Binding requests, CRLF datagrams), by transport and kind. */
  readonly keepAlives: Counter<'transport' | 'kind'>;
  readonly shedWrites: Counter<'transport'>;
  readonly refusedConnections: Counter<'transport'>;
  readonly refusedOutbound: Counter<'transport'>;
  /** Sends to a destination that cannot be addressed (port 0, no address): refused, a transport error for the transaction. */
  readonly badDestinations: Counter<'transport'>;
  /** TLS handshakes that failed: a client's on our listeners (inbound) or ours to a peer (outbound). */
  readonly tlsHandshakeFailures: Counter<'direction'>;
  readonly droppedMessages: Counter<'reason'>;
  /** New requests turned away by overload control (503 + Retry-After), by method. */
  readonly overloadShed: Counter<'method'>;
  /** Share of new requests overload control is turning away, 0..1. */
  readonly overloadShedRatio: Gauge;
  /** The last interval's standing queueing delay, seconds (overload control's signal). */
  readonly overloadDelay: Gauge;
}

export function createNodeMetrics(opts: { startedAt?: number; defaultMetrics?: boolean } = {}): NodeMetrics {
  const registry = new Registry();
  const startedAt = opts.startedAt ?? Date.now();
  if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'siphon_process_' });
  const registers = [registry];
  const sources: MetricSources = { transactionsActive: () => 0 };
  const requestsByMethod = new LabelTally('method');
  const responsesByCode = new LabelTally('code');
  return {
    registry,
    sources,
    requests: new Counter({
      name: 'siphon_requests_total',
      help: 'SIP requests received, by method',
      labelNames: ['method'],
      registers,
      collect() {
        requestsByMethod.flushInto(this);
      },
    }),
    responses: new Counter({
      name: 'siphon_responses_total',
      help: 'SIP responses sent by this node, by status code',
      labelNames: ['code'],
      registers,
      collect() {
        responsesByCode.flushInto(this);
      },
    }),
    requestsByMethod,
    responsesByCode,
    transactionsActive: new Gauge({
      name: 'siphon_transactions_active',
      help: 'Live SIP transactions',
      registers,
      collect() {
        this.set(sources.transactionsActive());
      },
    }),
    connectionsActive: new Gauge({ name: 'siphon_connections_active', help: 'Open stream connections, by transport', labelNames: ['transport'], registers }),
    requestDuration: new Histogram({
      name: 'siphon_request_duration_seconds',
      help: 'Time from receiving a request to sending its final response',
      buckets: [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 32],
      registers,
    }),
    uptime: new Gauge({
      name: 'siphon_uptime_seconds',
      help: 'Seconds since this node started',
      registers,
      collect() {
        this.set((Date.now() - startedAt) / 1000);
      },
    }),
    malformed: new Counter({ name: 'siphon_malformed_messages_total', help: 'Inbound bytes that were not a valid SIP message', labelNames: ['transport'], registers }),
    keepAlives: new Counter({
      name: 'siphon_keepalives_total',
      help: 'Keep-alives received: CRLF (stream pings, UDP CRLF datagrams) and STUN Binding requests (answered), by transport',
      labelNames: ['transport', 'kind'],
      registers,
    }),
    shedWrites: new Counter({
      name: 'siphon_transport_shed_writes_total',
      help: 'Messages dropped because the peer stopped reading (connection closed instead of awaiting)',
      labelNames: ['transport'],
      registers,
    }),
    refusedConnections: new Counter({
      name: 'siphon_tcp_connections_refused_total',
      help: 'Inbound connections closed at accept: transport.tcp_max_connections (capped by the open-file limit) were open, or accept() failed (EMFILE)',
      labelNames: ['transport'],
      registers,
    }),
    refusedOutbound: new Counter({
      name: 'siphon_tcp_outbound_refused_total',
      help: 'Sends refused because they needed a new outbound connection while the outbound cap (from the open-file limit) was open',
      labelNames: ['transport'],
      registers,
    }),
    badDestinations: new Counter({
      name: 'siphon_bad_destinations_total',
      help: 'Sends refused because the destination cannot be addressed (port 0 or above 65535, no address); the transaction gets a transport error',
      labelNames: ['transport'],
      registers,
    }),
    tlsHandshakeFailures: new Counter({
      name: 'siphon_tls_handshake_failures_total',
      help: 'TLS handshakes that failed (certificate refused or missing under mTLS, name mismatch, not TLS, timed out), by direction',
      labelNames: ['direction'],
      registers,
    }),
    droppedMessages: new Counter({ name: 'siphon_dropped_messages_total', help: 'Inbound SIP messages dropped without an answer, by reason', labelNames: ['reason'], registers }),
    overloadShed: new Counter({
      name: 'siphon_overload_shed_total',
      help: 'New out-of-dialog requests answered 503 + Retry-After by overload control, by method',
      labelNames: ['method'],
      registers,
    }),
    overloadShedRatio: new Gauge({ name: 'siphon_overload_shed_ratio', help: 'Share of new out-of-dialog requests overload control is turning away (0..1)', registers }),
    overloadDelay: new Gauge({
      name: 'siphon_overload_queue_delay_seconds',
      help: 'Standing queueing delay of the last interval: the worst queue\'s minimum (UDP socket or event loop), as overload control measures it',
      registers,
    }),
  };
}
