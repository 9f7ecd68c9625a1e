/**
 * RFC 7118 SIP over WebSocket (`ws`) and secure WebSocket (`wss`, the HTTP server over TLS): one SIP
 * message per WebSocket message, so no Content-Length framing (§5.2). Browsers and WebRTC clients
 * never accept connections, so nothing is ever sent over a connection this node would have to open:
 * a request reaches a WebSocket client over the connection it registered on (the registrar's flow,
 * node/script's connection reuse), a response over the connection its request came in on. A send to
 * an endpoint without an open connection is refused (the transaction sees a transport error).
 *
 * The handshake must offer the `sip` subprotocol (§4.1); any other upgrade, and plain HTTP, is
 * refused before a connection exists. Same wedge bound as TCP: a client whose unsent bytes pass
 * `maxWriteBufferBytes` is shed, never awaited.
 */
import { isUtf8 } from 'node:buffer';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { nextConnectionId } from './connection-ids.js';
import { markDscp } from './dscp.js';
import { InboundBatch } from './inbound-batch.js';
import { endpointKey, type StreamTls } from './tcp-transport.js';
import type { Endpoint, InboundHandler, ListenerInfo, MessageSource, TransportCounters, WarnSink } from './types.js';

export interface WsOptions {
  readonly host: string;
  readonly port: number;
  readonly advertise: { host: string; port: number | null } | null;
  readonly maxMessageSize: number;
  readonly idleTimeoutMs: number;
  readonly maxWriteBufferBytes: number;
  /** WebSocket connections held at once; past it an upgrade is refused with 503. */
  readonly maxConnections?: number;
  /** Present: `wss` (the listener side of the TLS settings is used). */
  readonly tls?: StreamTls;
  /** Origins a browser's upgrade may carry (exact, case-insensitive); empty or absent: any. */
  readonly allowedOrigins?: readonly string[];
  /** DSCP for what this listener's connections send (`listen.dscp`; accepted connections inherit it). */
  readonly dscp?: number;
}

interface Connection {
  readonly id: number;
  readonly remote: Endpoint;
  readonly key: string;
  readonly ws: WebSocket;
  readonly socket: Duplex & { setTimeout(ms: number): unknown };
  /** A ping went out after an idle period and nothing has come back since. */
  pinged: boolean;
}

/** The `Sec-WebSocket-Protocol` tokens offered, lower-cased. */
function offeredProtocols(req: IncomingMessage): string[] {
  const raw = req.headers['sec-websocket-protocol'];
  return (Array.isArray(raw) ? raw.join(',') : raw ?? '').split(',').map((p) => p.trim().toLowerCase()).filter((p) => p !== '');
}

function refuseUpgrade(socket: Duplex, status: string, why: string): void {
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(why)}\r\n\r\n${why}`);
}

function asBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  return Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
}

/** A message of nothing but CR/LF: a keep-alive some clients send, not SIP. */
function isKeepAlive(bytes: Buffer): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== 13 && bytes[i] !== 10) return false;
  return true;
}

export class WsTransport {
  readonly kind: 'ws' | 'wss';
  private http: Server | null = null;
  private wss: WebSocketServer | null = null;
  private info: ListenerInfo | null = null;
  private readonly byId = new Map<number, Connection>();
  private readonly byRemote = new Map<string, Connection>();

  /** Messages read in this poll phase, handed to the stack together after it (inbound-batch.ts). */
  private readonly inbound: InboundBatch;

  constructor(
    private readonly opts: WsOptions,
    handler: InboundHandler,
    private readonly counters: TransportCounters,
    log: WarnSink | null = null,
  ) {
    this.kind = opts.tls === undefined ? 'ws' : 'wss';
    this.inbound = new InboundBatch(handler, log);
  }

  get listener(): ListenerInfo {
    if (this.info === null) throw new Error(`${this.kind.toUpperCase()} listener not started`);
    return this.info;
  }

  get connectionCount(): number {
    return this.byId.size;
  }

  async start(): Promise<ListenerInfo> {
    const tls = this.opts.tls;
    // Plain HTTP requests get 426: this port speaks only WebSocket.
    const onRequest = (_req: IncomingMessage, res: ServerResponse): void => {
      res.writeHead(426, { Connection: 'close', 'Content-Type': 'text/plain', Upgrade: 'websocket' }).end('SIP over WebSocket (RFC 7118) only\n');
    };
    const http = tls === undefined ? createHttpServer(onRequest) : createHttpsServer({ ...tls.server, handshakeTimeout: tls.handshakeTimeoutMs }, onRequest);
    if (tls !== undefined) {
      http.on('tlsClientError', (_err: Error, socket: Duplex) => {
        this.counters.handshakeFailed?.(this.kind, 'inbound');
        socket.destroy();
      });
    }
    const wss = new WebSocketServer({ noServer: true, maxPayload: this.opts.maxMessageSize, perMessageDeflate: false, clientTracking: false, handleProtocols: () => 'sip' });
    http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      socket.on('error', () => undefined);
      if (!offeredProtocols(req).includes('sip')) {
        this.counters.refused?.(this.kind);
        refuseUpgrade(socket, '400 Bad Request', 'the "sip" WebSocket subprotocol is required (RFC 7118 §4.1)\n');
        return;
      }
      const origin = req.headers.origin;
      if (origin !== undefined && !this.originAllowed(origin)) {
        this.counters.refused?.(this.kind);
        refuseUpgrade(socket, '403 Forbidden', 'origin not allowed\n');
        return;
      }
      const max = this.opts.maxConnections;
      if (max !== undefined && this.byId.size >= max) {
        this.counters.refused?.(this.kind);
        refuseUpgrade(socket, '503 Service Unavailable', 'too many connections\n');
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => this.adopt(ws, req));
    });
    http.on('clientError', (_err: Error, socket: Duplex) => socket.destroy());
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen({ port: this.opts.port, host: this.opts.host, backlog: 1024 }, () => {
        http.off('error', reject);
        resolve();
      });
    });
    http.on('error', (err: NodeJS.ErrnoException) => this.counters.acceptFailed?.(this.kind, err.code ?? 'error'));
    if (this.opts.dscp !== undefined) markDscp(http, this.opts.dscp, isIP(this.opts.host) === 6 ? 'IPv6' : 'IPv4');
    const addr = http.address();
    const port = typeof addr === 'object' && addr !== null ? addr.port : this.opts.port;
    this.info = {
      transport: this.kind,
      host: this.opts.host,
      port,
      advertisedHost: this.opts.advertise?.host ?? this.opts.host,
      advertisedPort: this.opts.advertise?.port ?? port,
    };
    this.http = http;
    this.wss = wss;
    return this.info;
  }

  private originAllowed(origin: string): boolean {
    const allowed = this.opts.allowedOrigins;
    if (allowed === undefined || allowed.length === 0) return true;
    const o = origin.toLowerCase();
    return allowed.some((a) => a.toLowerCase() === o);
  }

  private adopt(ws: WebSocket, req: IncomingMessage): void {
    const remote: Endpoint = { address: req.socket.remoteAddress ?? '', port: req.socket.remotePort ?? 0 };
    const conn: Connection = { id: nextConnectionId(), remote, key: endpointKey(remote), ws, socket: req.socket, pinged: false };
    this.byId.set(conn.id, conn);
    this.byRemote.set(conn.key, conn);
    this.counters.connections(this.kind, 1);
    const source: MessageSource = { transport: this.kind, remote, listener: this.listener, connectionId: conn.id };
    // A registered browser may send nothing for its whole registration, and it cannot be called
    // back once its connection is gone: an idle connection is pinged (browsers answer pings
    // themselves) and closed only when a second idle period passes without any answer.
    // (A listener, not setTimeout's callback: that one fires only once.)
    req.socket.setTimeout(this.opts.idleTimeoutMs);
    req.socket.on('timeout', () => {
      if (conn.pinged) {
        ws.terminate();
        return;
      }
      conn.pinged = true;
      ws.ping();
    });
    ws.on('pong', () => {
      conn.pinged = false;
    });
    ws.on('error', () => undefined); // 'close' follows; per-connection, never fatal
    ws.on('close', () => this.forget(conn));
    ws.on('message', (data: RawData) => {
      conn.pinged = false;
      const bytes = asBuffer(data);
      if (isKeepAlive(bytes)) {
        this.counters.keepAlive?.(this.kind, 'crlf');
        return;
      }
      this.inbound.push(bytes, source);
    });
  }

  private forget(conn: Connection): void {
    if (!this.byId.delete(conn.id)) return;
    if (this.byRemote.get(conn.key) === conn) this.byRemote.delete(conn.key);
    this.counters.connections(this.kind, -1);
  }

  /** Text frames for UTF-8 messages (what browser stacks expect), binary otherwise (§5.1). */
  private write(conn: Connection, bytes: Buffer): boolean {
    const ws = conn.ws;
    if (ws.readyState !== ws.OPEN) return false;
    if (ws.bufferedAmount + bytes.length > this.opts.maxWriteBufferBytes) {
      this.counters.shed(this.kind);
      ws.terminate();
      this.forget(conn);
      return false;
    }
    ws.send(bytes, { binary: !isUtf8(bytes) });
    return true;
  }

  sendOnConnection(connectionId: number, bytes: Buffer): boolean {
    const conn = this.byId.get(connectionId);
    return conn === undefined ? false : this.write(conn, bytes);
  }

  /** As TcpTransport.holdOpen: the idle period before a ping is at least `ms` while registered. */
  holdOpen(connectionId: number, ms: number): boolean {
    const conn = this.byId.get(connectionId);
    if (conn === undefined) return false;
    conn.socket.setTimeout(Math.max(this.opts.idleTimeoutMs, ms));
    return true;
  }

  /** Only over a connection the endpoint opened to us: a WebSocket client accepts none. */
  send(bytes: Buffer, dest: Endpoint): boolean {
    const conn = this.byRemote.get(endpointKey(dest));
    return conn === undefined ? false : this.write(conn, bytes);
  }

  async stop(): Promise<void> {
    this.inbound.drain(); // messages already read are handled, not lost
    for (const conn of this.byId.values()) conn.ws.terminate();
    const http = this.http;
    const wss = this.wss;
    this.http = null;
    this.wss = null;
    wss?.close();
    if (http !== null) await new Promise<void>((resolve) => http.close(() => resolve()));
  }
}
