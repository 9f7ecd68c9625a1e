/**
 * One SIP node process's I/O shell: binds the configured UDP/TCP/TLS listeners, the admin API and
 * metrics, and wires transports → dispatcher → route. Everything is created from config; `stop()`
 * releases every socket (tests start and stop many nodes in one process).
 */
import { readFileSync } from 'node:fs';
import { AdminRouter, mountCoreRoutes, startAdminServer, type AdminServer } from '../admin/index.js';
import type { Logger } from '../log/index.js';
import { createNodeMetrics, type NodeMetrics } from '../metrics/index.js';
import {
  RefusalNotice,
  SniCertificates,
  TcpTransport,
  signallingDscpUnavailable,
  UdpTransport,
  WsTransport,
  inboundConnectionCap,
  openFilesSoftLimit,
  outboundConnectionCap,
  type Endpoint,
  type ListenerInfo,
  type MessageSource,
  type StreamKind,
  type StreamTls,
  type TransportCounters,
} from '../transport/index.js';
import type { SiphonConfig, ListenerConfig, HostPort } from '../../config/index.js';
import { configureDns } from '../dns/index.js';
import { timerConfigFromSection } from '../transaction/index.js';
import { Dispatcher, type ReplyTransport } from './dispatcher.js';
import { OverloadMonitor } from './overload-monitor.js';
import { defaultRoute, type Route } from './route.js';

export const VERSION = '0.1.0';

export interface SipNode {
  readonly config: SiphonConfig;
  readonly listeners: readonly ListenerInfo[];
  readonly adminPort: number | null;
  readonly metricsPort: number | null;
  readonly metrics: NodeMetrics;
  readonly router: AdminRouter;
  readonly dispatcher: Dispatcher;
  readonly udp: readonly UdpTransport[];
  readonly tcp: readonly TcpTransport[];
  /** TLS listeners (the same stream transport over TLS). */
  readonly tls: readonly TcpTransport[];
  /** RFC 7118 WebSocket listeners. */
  readonly ws: readonly WsTransport[];
  readonly wss: readonly WsTransport[];
  setRoute(route: Route): void;
  stop(): Promise<void>;
}

function isUnspecified(host: string): boolean {
  return host === '0.0.0.0' || host === '::';
}

/** Per-listener `advertise` wins; the global `advertised_address` covers wildcard binds. */
export function advertiseFor(l: ListenerConfig, global: HostPort | null): HostPort | null {
  if (l.advertise !== null) return l.advertise;
  if (global !== null && isUnspecified(l.host)) return global;
  return null;
}

/**
 * The `tls` section as the stream transport's TLS settings. mTLS (`verify_client`) makes listeners
 * ask for and require a certificate signed by `client_ca`; outbound connections present our
 * certificate to servers that ask, and check theirs unless `verify_server` is off.
 */
export function streamTlsOf(t: SiphonConfig['tls']): StreamTls | null {
  if (t.certificate === null || t.private_key === null) return null;
  const minVersion = t.method === 'TLSv1_3' ? 'TLSv1.3' : 'TLSv1.2';
  const own = { cert: t.certificate.pem, key: t.private_key.pem, minVersion } as const;
  const clientCa = t.client_ca === null ? {} : { ca: t.client_ca.pem };
  // RFC 6066 SNI: each further certificate's context also carries the client CA (it verifies after the switch).
  const sni =
    t.sni.length === 0
      ? {}
      : { SNICallback: new SniCertificates(t.sni.map((e) => ({ serverName: e.server_name, cert: e.certificate?.pem ?? '', key: e.private_key?.pem ?? '' })), { minVersion, ...clientCa }).callback };
  return {
    server: { ...own, requestCert: t.verify_client, rejectUnauthorized: t.verify_client, ...clientCa, ...sni },
    client: { ...own, rejectUnauthorized: t.verify_server, ...(t.ca === null ? {} : { ca: t.ca.pem }) },
    handshakeTimeoutMs: t.handshake_timeout_ms,
  };
}

/** At most one warning per minute about refused inbound connections (they come in floods). */
const REFUSAL_NOTICE_MS = 60_000;

function readOpenFilesSoftLimit(): number | null {
  try {
    return openFilesSoftLimit(readFileSync('/proc/self/limits', 'utf8'));
  } catch {
    return null; // no procfs: keep the configured cap
  }
}

export async function startSipNode(config: SiphonConfig, log: Logger, opts: { route?: Route } = {}): Promise<SipNode> {
  // RFC 3263 next-hop location asks these servers (none: SIPHON_DNS_SERVERS, else the system's).
  configureDns(config.dns.servers, config.listen.tls.length > 0);
  const startedAt = Date.now();
  const metrics = createNodeMetrics({ startedAt });
  const refusals = new RefusalNotice(REFUSAL_NOTICE_MS, Date.now);
  const refusedAt = (reason: string): void => {
    const n = refusals.note(reason);
    if (n !== null) log.warn({ refused: n.count, reasons: n.reasons }, 'TCP connections refused (inbound at accept: connection cap or out of file descriptors; outbound: outbound cap)');
  };
  const counters: TransportCounters = {
    malformed: (t) => metrics.malformed.inc({ transport: t }),
    keepAlive: (t, kind) => metrics.keepAlives.inc({ transport: t, kind }),
    shed: (t) => metrics.shedWrites.inc({ transport: t }),
    connections: (t, d) => metrics.connectionsActive.inc({ transport: t }, d),
    refused: (t) => {
      metrics.refusedConnections.inc({ transport: t });
      refusedAt('inbound-limit');
    },
    acceptFailed: (t, code) => {
      metrics.refusedConnections.inc({ transport: t });
      refusedAt(code);
    },
    outboundRefused: (t) => {
      metrics.refusedOutbound.inc({ transport: t });
      refusedAt('outbound-limit');
    },
    badDestination: (t) => metrics.badDestinations.inc({ transport: t }),
    handshakeFailed: (t, direction) => metrics.tlsHandshakeFailures.inc({ direction }),
  };
  metrics.connectionsActive.set({ transport: 'tcp' }, 0);
  for (const kind of ['tls', 'ws', 'wss'] as const) if (config.listen[kind].length > 0) metrics.connectionsActive.set({ transport: kind }, 0);

  const udp: UdpTransport[] = [];
  const tcp: TcpTransport[] = [];
  const tls: TcpTransport[] = [];
  const ws: WsTransport[] = [];
  const wss: WsTransport[] = [];
  const allListeners = (): ListenerInfo[] => [udp, tcp, tls, ws, wss].flatMap((list: readonly { readonly listener: ListenerInfo }[]) => list.map((x) => x.listener));
  const streamsOf = (kind: StreamKind): readonly (TcpTransport | WsTransport)[] =>
    kind === 'tcp' ? tcp : kind === 'tls' ? tls : kind === 'ws' ? ws : wss;
  const reply: ReplyTransport = {
    sendUdp(bytes: Buffer, from: MessageSource, dest: Endpoint, onFailure?: () => void) {
      const t = udp.find((u) => u.listener === from.listener) ?? udp[0];
      t?.send(bytes, dest, onFailure);
    },
    sendOnConnection(id: number, bytes: Buffer) {
      // Connection ids are unique across the stream transports (connection-ids.ts).
      for (const list of [tcp, tls, ws, wss]) for (const t of list) if (t.sendOnConnection(id, bytes)) return true;
      return false;
    },
    sendStream(kind: StreamKind, bytes: Buffer, dest: Endpoint, onFailure?: () => void) {
      // Without a TLS listener nothing can be sent over TLS: a transport error (a SIPS target
      // must never fall back to a plaintext transport, RFC 3261 §26.2.2).
      // A WebSocket client is reached only over a connection it opened (ws-transport.ts).
      const list = streamsOf(kind);
      // RFC 5923: a connection one of these listeners holds as the peer's alias for this destination.
      for (const t of list) if (t instanceof TcpTransport && t.hasAlias(dest)) return t.send(bytes, dest, onFailure);
      return list[0]?.send(bytes, dest, onFailure) ?? false;
    },
    aliasConnection(id: number, host: string, port: number) {
      for (const t of tls) if (t.aliasConnection(id, host, port)) return true;
      return false;
    },
  };
  const ov = config.overload;
  const overload = ov.enabled
    ? new OverloadMonitor(
        { targetDelayMs: ov.target_delay_ms, intervalMs: ov.interval_ms },
        config.listen.udp.length,
        metrics,
        log,
      )
    : null;
  const dispatcher = new Dispatcher(
    {
      serverHeader: config.server.server_header,
      forceRport: config.nat.force_rport,
      timers: timerConfigFromSection(config.transaction),
      retryAfterSecs: ov.retry_after_secs,
      ...(overload === null ? {} : { admit: (request) => overload.admit(request) }),
    },
    reply,
    metrics,
    log,
    opts.route ?? defaultRoute,
  );
  metrics.sources.transactionsActive = () => dispatcher.transactions.activeCount;

  const t = config.transport;
  // listen.dscp / a listener's dscp (RFC 4594 CS3 by default); 0 leaves the socket alone.
  const dscpFor = (l: ListenerConfig): { dscp?: number } => {
    const d = l.dscp ?? config.listen.dscp ?? 0;
    return d === 0 ? {} : { dscp: d };
  };
  const configured = [config.listen.udp, config.listen.tcp, config.listen.tls, config.listen.ws, config.listen.wss].flat();
  if (configured.some((l) => dscpFor(l).dscp !== undefined)) {
    const why = signallingDscpUnavailable();
    if (why !== null) log.warn({ reason: why }, 'listen.dscp: signalling leaves unmarked (DSCP needs the optional sockopt package)');
  }
  let ready = false;
  const started: { stop(): Promise<void> }[] = [];
  const stopAll = async (): Promise<void> => {
    ready = false;
    overload?.stop();
    dispatcher.stop();
    for (const s of started.reverse()) await s.stop();
    started.length = 0;
  };
  try {
    for (const l of config.listen.udp) {
      const u = new UdpTransport(
        {
          host: l.host,
          port: l.port,
          advertise: advertiseFor(l, config.advertised_address),
          recvBufferBytes: t.udp_recv_buffer_bytes,
          maxMessageSize: t.max_message_size,
          ...dscpFor(l),
          ...(overload === null ? {} : { onQueueDelay: overload.delaySink(udp.length), onProbeLost: overload.lossSink }),
        },
        dispatcher,
        counters,
        log,
      );
      await u.start();
      udp.push(u);
      started.push(u);
    }
    overload?.start(udp);
    // Inbound TCP must leave descriptors for the admin API and outbound connections (fd-budget.ts).
    const softLimit = readOpenFilesSoftLimit();
    const streamListeners = config.listen.tcp.length + config.listen.tls.length + config.listen.ws.length + config.listen.wss.length;
    const cap = inboundConnectionCap(t.tcp_max_connections, softLimit, streamListeners);
    const outboundCap = outboundConnectionCap(softLimit);
    if (cap.clamped) {
      log.warn(
        { configured: t.tcp_max_connections, open_files_limit: softLimit, per_listener: cap.perListener },
        'transport.tcp_max_connections exceeds what the open-file limit allows; inbound TCP capped lower',
      );
    }
    const streamTls = streamTlsOf(config.tls);
    // What every stream listener (TCP, TLS, WS, WSS) takes from the config alike.
    const streamOptions = (l: ListenerConfig) => ({
      host: l.host,
      port: l.port,
      advertise: advertiseFor(l, config.advertised_address),
      maxMessageSize: t.max_message_size,
      idleTimeoutMs: t.tcp_idle_timeout_secs * 1000,
      maxWriteBufferBytes: t.tcp_max_write_buffer_bytes,
      maxConnections: cap.perListener,
      ...dscpFor(l),
    });
    const streams: [StreamKind, readonly ListenerConfig[], TcpTransport[]][] = [
      ['tcp', config.listen.tcp, tcp],
      ['tls', streamTls === null ? [] : config.listen.tls, tls],
    ];
    for (const [kind, configured, bound] of streams) {
      for (const l of configured) {
        const c = new TcpTransport(
          {
            ...streamOptions(l),
            connectTimeoutMs: t.tcp_connect_timeout_ms,
            ...(outboundCap === null ? {} : { maxOutboundConnections: outboundCap }),
            ...(kind === 'tls' && streamTls !== null ? { tls: streamTls } : {}),
          },
          dispatcher,
          counters,
          log,
        );
        await c.start();
        bound.push(c);
        started.push(c);
      }
    }
    const webSockets: ['ws' | 'wss', readonly ListenerConfig[], WsTransport[]][] = [
      ['ws', config.listen.ws, ws],
      ['wss', streamTls === null ? [] : config.listen.wss, wss],
    ];
    for (const [kind, configured, bound] of webSockets) {
      for (const l of configured) {
        const w = new WsTransport(
          {
            ...streamOptions(l),
            allowedOrigins: t.ws_allowed_origins,
            ...(kind === 'wss' && streamTls !== null ? { tls: streamTls } : {}),
          },
          dispatcher,
          counters,
          log,
        );
        await w.start();
        bound.push(w);
        started.push(w);
      }
    }

    const router = new AdminRouter();
    const prom = config.metrics.prometheus;
    mountCoreRoutes(router, {
      startedAt,
      version: VERSION,
      metrics: prom === true ? metrics.registry : null,
      health: {
        ready: () => ready && !dispatcher.routeStarting,
        checks: () => ({
          routing: !dispatcher.routeStarting,
          'sip.udp': udp.length === config.listen.udp.length,
          'sip.tcp': tcp.length === config.listen.tcp.length,
          ...(config.listen.tls.length > 0 ? { 'sip.tls': tls.length === config.listen.tls.length } : {}),
          ...(config.listen.ws.length > 0 ? { 'sip.ws': ws.length === config.listen.ws.length } : {}),
          ...(config.listen.wss.length > 0 ? { 'sip.wss': wss.length === config.listen.wss.length } : {}),
        }),
      },
      stats: {
        stats: () => ({
          uptime_seconds: (Date.now() - startedAt) / 1000,
          sip: dispatcher.stats(),
          listeners: allListeners(),
          connections: {
            tcp: tcp.reduce((n, c) => n + c.connectionCount, 0),
            tls: tls.reduce((n, c) => n + c.connectionCount, 0),
            ws: [...ws, ...wss].reduce((n, c) => n + c.connectionCount, 0),
          },
          udp_recv_buffer_bytes: udp.map((u) => u.recvBufferSize()),
          memory: { rss_bytes: process.memoryUsage().rss, heap_used_bytes: process.memoryUsage().heapUsed },
        }),
      },
    });

    let admin: AdminServer | null = null;
    if (config.admin.enabled) {
      admin = await startAdminServer(router, config.admin.listen.host, config.admin.listen.port, log);
      started.push({ stop: () => admin!.close() });
    }
    let metricsServer: AdminServer | null = null;
    if (typeof prom === 'object') {
      const metricsRouter = new AdminRouter();
      metricsRouter.get('/metrics', async () => ({ status: 200, body: await metrics.registry.metrics(), contentType: metrics.registry.contentType }));
      metricsServer = await startAdminServer(metricsRouter, prom.listen.host, prom.listen.port, log);
      started.push({ stop: () => metricsServer!.close() });
    }

    ready = true;
    const listeners = allListeners();
    return {
      config,
      listeners,
      adminPort: admin?.port ?? null,
      metricsPort: metricsServer?.port ?? null,
      metrics,
      router,
      dispatcher,
      udp,
      tcp,
      tls,
      ws,
      wss,
      setRoute: (route) => dispatcher.setRoute(route),
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
