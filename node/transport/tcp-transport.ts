/**
 * RFC 3261 §18 TCP, and TLS over it (§26.3.1): a listener plus an outbound connection pool, sharing
 * one connection table so a response goes back over the connection its request came in on (§18.2.2)
 * and requests to a peer reuse an open connection to it. TLS differs only in how a connection is
 * made (handshake, certificates); framing, limits and connection reuse are the same.
 *
 * Wedge-proof by construction: nothing here ever awaits a peer. A write to a connection whose
 * unsent bytes exceed `maxWriteBufferBytes` is shed — dropped, counted, the connection destroyed —
 * so one peer that stops reading cannot hold memory or delay anyone else.
 */
import { createServer, connect, isIP, type Server, type Socket } from 'node:net';
import { TLSSocket, checkServerIdentity, connect as tlsConnect, createServer as createTlsServer, type ConnectionOptions, type TlsOptions } from 'node:tls';
import { sharedResolver, type NameResolver, type SipTarget } from '../dns/index.js';
import { stripBrackets } from '../util/index.js';
import { nextConnectionId } from './connection-ids.js';
import { markDscp } from './dscp.js';
import { StreamFramer } from './stream-framer.js';
import { InboundBatch } from './inbound-batch.js';
import type { Endpoint, InboundHandler, ListenerInfo, MessageSource, TransportCounters, WarnSink } from './types.js';

/** How TLS connections are made, both ways (built from the `tls` config section). */
export interface StreamTls {
  /** Listener side: certificate, key, minVersion; requestCert/rejectUnauthorized/ca for mTLS. */
  readonly server: TlsOptions;
  /** Outbound side: trust anchors, rejectUnauthorized, minVersion, our certificate for peers that ask. */
  readonly client: ConnectionOptions;
  /** A handshake not finished by then closes the connection (both directions). */
  readonly handshakeTimeoutMs: number;
}

export interface TcpOptions {
  readonly host: string;
  readonly port: number;
  readonly advertise: { host: string; port: number | null } | null;
  readonly maxMessageSize: number;
  readonly idleTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly maxWriteBufferBytes: number;
  /** Inbound connections held at once (net.Server maxConnections); unlimited when absent. */
  readonly maxConnections?: number;
  /** Outbound connections open or opening at once; past it a send that needs a new one is refused. */
  readonly maxOutboundConnections?: number;
  /** Resolves host-name destinations (RFC 3263); default: the node's shared resolver. */
  readonly resolver?: NameResolver;
  /** Present: this is a TLS transport (its listener, its outbound connections). */
  readonly tls?: StreamTls;
  /** DSCP for what this transport sends (`listen.dscp`, dscp.ts): the listener (accepted connections inherit it) and each outbound connection. */
  readonly dscp?: number;
}

const PONG = Buffer.from('\r\n');

export interface ConnectionInfo {
  readonly id: number;
  readonly remote: Endpoint;
  readonly outbound: boolean;
}

interface Connection extends ConnectionInfo {
  readonly socket: Socket;
  readonly key: string;
  connected: boolean;
  /** Messages queued while an outbound connect is in progress (bounded like the socket buffer). */
  pending: Buffer[];
  pendingBytes: number;
  /** Called if the connect fails: each queued sender learns its message never left (§18.4). */
  failures: (() => void)[];
  /** RFC 5923 aliases this connection serves (keys of `aliases`), dropped with it. */
  aliasKeys?: string[];
}

/** An RFC 5923 alias: the peer's sent-by host (lower-cased, unbracketed) and port. */
function aliasKey(host: string, port: number): string {
  return `${stripBrackets(host).toLowerCase()}|${port}`;
}


export function endpointKey(e: Endpoint): string {
  return `${e.address}|${e.port}`;
}

export class TcpTransport {
  private server: Server | null = null;
  private info: ListenerInfo | null = null;
  private outboundCount = 0;
  private readonly byId = new Map<number, Connection>();
  /** Latest usable connection per remote endpoint (inbound or outbound). */
  private readonly byRemote = new Map<string, Connection>();
  /** RFC 5923: inbound TLS connections a peer offered for requests to its sent-by (aliasConnection). */
  private readonly aliases = new Map<string, Connection>();
  readonly kind: 'tcp' | 'tls';

  /** Messages framed in this poll phase, handed to the stack together after it (inbound-batch.ts). */
  private readonly inbound: InboundBatch;

  constructor(
    private readonly opts: TcpOptions,
    private readonly handler: InboundHandler,
    private readonly counters: TransportCounters,
    log: WarnSink | null = null,
  ) {
    this.kind = opts.tls === undefined ? 'tcp' : 'tls';
    this.inbound = new InboundBatch(handler, log);
  }

  get listener(): ListenerInfo {
    if (this.info === null) throw new Error(`${this.kind.toUpperCase()} listener not started`);
    return this.info;
  }

  get connectionCount(): number {
    return this.byId.size;
  }

  connections(): ConnectionInfo[] {
    return [...this.byId.values()].map((c) => ({ id: c.id, remote: c.remote, outbound: c.outbound }));
  }

  async start(): Promise<ListenerInfo> {
    const tls = this.opts.tls;
    const server: Server =
      tls === undefined
        ? createServer({ noDelay: true, allowHalfOpen: false }, (socket) => this.adopt(socket, false))
        : this.createTlsListener(tls);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port: this.opts.port, host: this.opts.host, backlog: 1024 }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    // Unmarked when the native setsockopt is missing: sip-node warns about that once for all listeners.
    if (this.opts.dscp !== undefined) markDscp(server, this.opts.dscp, isIP(this.opts.host) === 6 ? 'IPv6' : 'IPv4');
    // accept() failing (EMFILE/ENFILE: out of descriptors) is reported and survived: libuv closes
    // the pending connection and the listener keeps accepting once descriptors are free again.
    server.on('error', (err: NodeJS.ErrnoException) => this.counters.acceptFailed?.(this.kind, err.code ?? 'error'));
    if (this.opts.maxConnections !== undefined) {
      // Node closes a connection accepted past the limit and emits 'drop': the flood costs one
      // accept and close each, never a descriptor held.
      server.maxConnections = this.opts.maxConnections;
      server.on('drop', () => this.counters.refused?.(this.kind));
    }
    const addr = server.address();
    const port = typeof addr === 'object' && addr !== null ? addr.port : this.opts.port;
    this.info = {
      transport: this.kind,
      host: this.opts.host,
      port,
      advertisedHost: this.opts.advertise?.host ?? this.opts.host,
      advertisedPort: this.opts.advertise?.port ?? port,
    };
    this.server = server;
    return this.info;
  }

  /**
   * A connection becomes a SIP connection once its handshake completes. One that fails its handshake
   * (bad or missing client certificate under mTLS, not TLS at all, silent past the timeout) is
   * counted and closed; nothing of it reaches SIP.
   */
  private createTlsListener(tls: StreamTls): Server {
    const server = createTlsServer({ ...tls.server, handshakeTimeout: tls.handshakeTimeoutMs, allowHalfOpen: false }, (socket) => this.adopt(socket, false));
    server.on('tlsClientError', (_err, socket) => {
      this.counters.handshakeFailed?.(this.kind, 'inbound');
      socket.destroy();
    });
    return server;
  }

  private adopt(socket: Socket, outbound: boolean, remoteOverride?: Endpoint, key?: string): Connection {
    const remote: Endpoint = remoteOverride ?? { address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 };
    const conn: Connection = {
      id: nextConnectionId(),
      remote,
      outbound,
      socket,
      key: key ?? endpointKey(remote),
      connected: !outbound,
      pending: [],
      pendingBytes: 0,
      failures: [],
    };
    this.byId.set(conn.id, conn);
    this.byRemote.set(conn.key, conn);
    if (outbound) this.outboundCount++;
    this.counters.connections(this.kind, 1);
    socket.setNoDelay(true);
    socket.setTimeout(this.opts.idleTimeoutMs, () => socket.destroy());
    socket.on('error', () => undefined); // 'close' follows; errors are per-connection, never fatal
    socket.on('close', () => this.forget(conn));
    const framer = new StreamFramer(this.opts.maxMessageSize);
    socket.on('data', (chunk: Buffer) => this.onData(conn, framer, chunk));
    return conn;
  }

  private forget(conn: Connection): void {
    if (!this.byId.delete(conn.id)) return;
    if (this.byRemote.get(conn.key) === conn) this.byRemote.delete(conn.key);
    for (const k of conn.aliasKeys ?? []) if (this.aliases.get(k) === conn) this.aliases.delete(k);
    if (conn.outbound) this.outboundCount--;
    conn.pending = [];
    conn.pendingBytes = 0;
    const failures = conn.failures;
    conn.failures = [];
    this.counters.connections(this.kind, -1);
    // Closed before it ever connected (refused, reset, connect timeout, shed while queued): what
    // waited was not sent. Deferred, so a sender never hears of it inside its own send call.
    if (!conn.connected && failures.length > 0) queueMicrotask(() => { for (const failed of failures) failed(); });
  }

  private onData(conn: Connection, framer: StreamFramer, chunk: Buffer): void {
    const events = framer.push(chunk);
    for (const ev of events) {
      if (conn.socket.destroyed) return;
      if (ev.type === 'message') {
        this.inbound.push(ev.bytes, this.sourceOf(conn));
      } else if (ev.type === 'ping') {
        this.write(conn, PONG); // RFC 5626 §4.4.1: answer a CRLFCRLF ping with a CRLF pong
        this.counters.keepAlive?.(this.kind, 'crlf');
      } else {
        this.counters.malformed(this.kind);
        // The messages framed before the failure are handled first, while their connection is open.
        this.inbound.drain();
        const answer = this.handler.onFramingFailure({ status: ev.status, reason: ev.reason, head: ev.head, source: this.sourceOf(conn) });
        // Only a delimited header block can be answered; raw garbage gets no reply.
        const reply = ev.head === null ? null : answer;
        // Framing is lost: whatever follows cannot be trusted, so answer (if we can) and close.
        if (reply !== null && conn.socket.writableLength + reply.length <= this.opts.maxWriteBufferBytes) conn.socket.end(reply);
        else conn.socket.end();
        setTimeout(() => conn.socket.destroy(), 1000).unref();
        return;
      }
    }
  }

  private sourceOf(conn: Connection): MessageSource {
    return { transport: this.kind, remote: conn.remote, listener: this.listener, connectionId: conn.id };
  }

  /** Non-blocking write with the wedge bound; returns false when the message was shed. */
  private write(conn: Connection, bytes: Buffer): boolean {
    if (!conn.connected) {
      if (conn.pendingBytes + bytes.length > this.opts.maxWriteBufferBytes) return this.shed(conn);
      conn.pending.push(bytes);
      conn.pendingBytes += bytes.length;
      return true;
    }
    if (conn.socket.destroyed || !conn.socket.writable) return false;
    if (conn.socket.writableLength + bytes.length > this.opts.maxWriteBufferBytes) return this.shed(conn);
    conn.socket.write(bytes);
    return true;
  }

  private shed(conn: Connection): false {
    this.counters.shed(this.kind);
    conn.socket.destroy();
    this.forget(conn);
    return false;
  }

  /**
   * Keeps a connection open for at least `ms` of silence (a UA registered over it: it can only be
   * reached over it until its registration ends); never shortens the configured idle timeout.
   * False when no such connection is open here.
   */
  holdOpen(connectionId: number, ms: number): boolean {
    const conn = this.byId.get(connectionId);
    if (conn === undefined) return false;
    conn.socket.setTimeout(Math.max(this.opts.idleTimeoutMs, ms));
    return true;
  }

  /** Sends over a specific connection (a response over the request's connection). */
  sendOnConnection(connectionId: number, bytes: Buffer): boolean {
    const conn = this.byId.get(connectionId);
    if (conn === undefined) return false;
    return this.write(conn, bytes);
  }

  /**
   * Sends to an endpoint, reusing an open connection to it or opening one (bounded by the connect
   * timeout). Concurrent first sends coalesce onto a single connect. Never waits. Returns false
   * when the message was not accepted; `onFailure` runs later (never inside this call) if it was
   * queued behind a connect that then fails, so a transaction learns of the error (§17.1.4).
   *
   * A host name is located first (RFC 3263 §4: SRV of `_sip._tcp`, or `_sips._tcp` for TLS, when `dest.srv`, then A/AAAA,
   * from the cache when it can). Connections are keyed by the resolved address, so one to a peer is
   * reused whichever name led to it. When a connect to a target fails, the next target is tried
   * (§4.3) before `onFailure` runs; a name that does not resolve goes straight to `onFailure`. While
   * the DNS is asked the message counts as accepted (true), like a message queued behind a connect.
   * Over TLS the name is also the one the server's certificate must carry (RFC 5922 §4: the domain
   * asked for, not the SRV target), and is sent as SNI.
   */
  send(bytes: Buffer, dest: Endpoint, onFailure?: () => void): boolean {
    const aliased = this.aliasFor(dest);
    if (aliased !== undefined) return this.queueOrWrite(aliased, bytes, onFailure);
    if (isIP(dest.address) !== 0) return this.sendToAddress(bytes, dest, undefined, onFailure);
    let accepted = true;
    let sync = true;
    const query = { host: dest.address, port: dest.port, transport: this.kind, srv: dest.srv === true, srvName: dest.srvName } as const;
    const serverName = dest.address;
    this.resolver.lookup(query, (targets: readonly SipTarget[]) => {
      if (targets.length === 0) {
        if (sync) accepted = false;
        else if (onFailure !== undefined) onFailure();
        return;
      }
      const ok = this.sendToTargets(bytes, targets, 0, serverName, onFailure);
      if (sync) accepted = ok;
      else if (!ok && onFailure !== undefined) onFailure();
    });
    sync = false;
    return accepted;
  }

  /**
   * RFC 5923 §5: a request that arrived over one of our inbound TLS connections with `alias` in its
   * Via offers the connection for requests we send to its sent-by (`host`:`port`). Accepted only
   * when the peer proved that name (§5.3): its client certificate verified against `tls.client_ca`
   * (mTLS) and naming `host` as a server certificate must (RFC 5922). Plain TCP offers nothing to
   * check (§11): refused, as are unverified peers. Later sends to that host and port (not ones left
   * to SRV, whose targets the alias does not name) go over the connection while it is open.
   */
  aliasConnection(connectionId: number, host: string, port: number): boolean {
    const conn = this.byId.get(connectionId);
    if (conn === undefined || conn.outbound || this.kind !== 'tls' || !(conn.socket instanceof TLSSocket)) return false;
    const key = aliasKey(host, port);
    // Every request of a peer offers it again: the certificate is checked once per connection and name.
    if (this.aliases.get(key) === conn) return true;
    const socket = conn.socket;
    if (!socket.authorized) return false;
    if (checkServerIdentity(stripBrackets(host), socket.getPeerCertificate()) !== undefined) return false;
    this.aliases.set(key, conn);
    (conn.aliasKeys ??= []).push(key);
    return true;
  }

  /** An open connection a peer offered as its alias for `dest` (RFC 5923), if any. */
  private aliasFor(dest: Endpoint): Connection | undefined {
    if (this.aliases.size === 0 || dest.srv === true) return undefined;
    const conn = this.aliases.get(aliasKey(dest.address, dest.port));
    return conn !== undefined && !conn.socket.destroyed ? conn : undefined;
  }

  /** True when `send` to `dest` would go over a peer's RFC 5923 alias connection. */
  hasAlias(dest: Endpoint): boolean {
    return this.aliasFor(dest) !== undefined;
  }

  private get resolver(): NameResolver {
    return this.opts.resolver ?? sharedResolver();
  }

  /** §4.3: on a failed connect to targets[i], the same message goes to targets[i + 1]. */
  private sendToTargets(bytes: Buffer, targets: readonly SipTarget[], i: number, serverName: string | undefined, onFailure: (() => void) | undefined): boolean {
    const last = i + 1 >= targets.length;
    const next = (): void => {
      if (!this.sendToTargets(bytes, targets, i + 1, serverName, onFailure) && onFailure !== undefined) onFailure();
    };
    if (this.sendToAddress(bytes, targets[i], serverName, last ? onFailure : next)) return true;
    return last ? false : this.sendToTargets(bytes, targets, i + 1, serverName, onFailure);
  }

  /** A new outbound connection: plain, or TLS checked against `serverName` (else the address itself). */
  private open(dest: Endpoint, serverName: string | undefined): Socket {
    const family = isIP(dest.address) === 6 ? 6 : 4;
    const tls = this.opts.tls;
    const socket =
      tls === undefined
        ? connect({ host: dest.address, port: dest.port, noDelay: true, family })
        : tlsConnect({ ...tls.client, host: dest.address, port: dest.port, ...(serverName === undefined ? {} : { servername: serverName }) });
    const dscp = this.opts.dscp;
    // Once connected (the fd exists): the SYN goes unmarked, everything SIP (and the TLS handshake) marked.
    if (dscp !== undefined) socket.once('connect', () => markDscp(socket, dscp, family === 6 ? 'IPv6' : 'IPv4'));
    if (tls === undefined) return socket;
    // An error after the TCP connect and before the handshake completed is a failed handshake
    // (certificate refused, name mismatch, protocol version); one before it is a failed connect.
    let tcpUp = false;
    let secured = false;
    socket.once('connect', () => { tcpUp = true; });
    socket.once('secureConnect', () => { secured = true; });
    socket.on('error', () => {
      if (tcpUp && !secured) this.counters.handshakeFailed?.(this.kind, 'outbound');
    });
    return socket;
  }

  private sendToAddress(bytes: Buffer, dest: Endpoint, serverName: string | undefined, onFailure?: () => void): boolean {
    // A TLS connection opened for a name proved that name's certificate: only a send to the same
    // name reuses it (another name at the same address must prove its own). Literals share the
    // plain key, so a request to a peer's address also reuses the connection it opened to us.
    const key = this.kind === 'tls' && serverName !== undefined ? `${serverName}|${endpointKey(dest)}` : endpointKey(dest);
    const existing = this.byRemote.get(key);
    if (existing !== undefined && !existing.socket.destroyed) return this.queueOrWrite(existing, bytes, onFailure);
    // Out of outbound budget: refused at once (the caller's transaction sees a transport error,
    // §17.1.4) rather than a connect() that would take the last descriptors or fail on EMFILE.
    const max = this.opts.maxOutboundConnections;
    if (max !== undefined && this.outboundCount >= max) {
      this.counters.outboundRefused?.(this.kind);
      return false;
    }
    const socket = this.open(dest, serverName);
    const conn = this.adopt(socket, true, dest, key);
    // Over TLS the bound covers the handshake too: a peer that accepts and then stalls is a failed connect.
    const timer = setTimeout(() => socket.destroy(), this.opts.connectTimeoutMs + (this.opts.tls?.handshakeTimeoutMs ?? 0));
    timer.unref();
    socket.once(this.opts.tls === undefined ? 'connect' : 'secureConnect', () => {
      clearTimeout(timer);
      conn.connected = true;
      conn.failures = [];
      const queued = conn.pending;
      conn.pending = [];
      conn.pendingBytes = 0;
      for (const b of queued) if (!this.write(conn, b)) break;
    });
    socket.once('close', () => clearTimeout(timer));
    return this.queueOrWrite(conn, bytes, onFailure);
  }

  private queueOrWrite(conn: Connection, bytes: Buffer, onFailure: (() => void) | undefined): boolean {
    const queued = !conn.connected;
    if (!this.write(conn, bytes)) return false;
    if (queued && onFailure !== undefined) conn.failures.push(onFailure);
    return true;
  }

  async stop(): Promise<void> {
    this.inbound.drain(); // messages already read are handled, not lost
    for (const conn of this.byId.values()) conn.socket.destroy();
    const server = this.server;
    this.server = null;
    if (server !== null) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
