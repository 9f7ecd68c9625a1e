// Outbound link to one peer: connects lazily, reconnects with exponential back-off (with jitter),
// and holds a bounded send queue. When the queue is full or the peer is down, messages are shed
// (Raft retransmits on its own) and the owner is told the peer is unreachable; send never blocks.
//
// Dead-path detection (staleMs > 0): the receiving side echoes a few bytes back on a connection
// that carries frames (TcpTransport.accept). After packets were silently dropped (a firewall DROP,
// a pulled cable) a connection that lived through it stays dark long after the path is back: TCP
// retransmits on a timer that backed off exponentially meanwhile (seconds), while a new connection
// would work at once. So a connection that has owed an echo for staleMs is replaced, and so is a
// connect attempt that has not completed within staleMs (a dropped SYN is retried on the same kind
// of timer). A peer that never echoed (an older version) is never held to it.
import net from 'node:net';
import tls from 'node:tls';
import { encodeFrame } from './frame-codec.js';

export interface TlsOptions {
  ca: string | Buffer;
  cert: string | Buffer;
  key: string | Buffer;
  /** Check the peer certificate's name against the host (default true). */
  verifyHostname?: boolean;
}

export interface PeerAddress {
  host: string;
  port: number;
}

export interface PeerLinkOptions {
  id: number;
  address: PeerAddress;
  hello: Uint8Array; // first frame body on every new connection
  tls?: TlsOptions;
  maxQueuedFrames: number;
  backoffMinMs: number;
  backoffMaxMs: number;
  onUnreachable: () => void;
  onConnect?: () => void;
  /** Replace a connection owing an echo (or a connect attempt) for this long; 0 = never. */
  staleMs?: number;
}

export class PeerLink {
  private socket: net.Socket | undefined;
  private connected = false;
  private connecting = false;
  private queue: Buffer[] = [];
  /** Told when the frames now queued are dropped without ever being written (see send). */
  private unsentHandlers: Array<() => void> = [];
  private backoffMs: number;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private lastAttempt = 0;
  /** When the oldest frame not yet followed by an echo was written (0: none owed). */
  private owedSince = 0;
  /** The peer has echoed on some connection: it is held to it on every later one. */
  private peerEchoes = false;
  shed = 0;
  /** Connections and connect attempts replaced by dead-path detection. */
  staleResets = 0;

  constructor(readonly opts: PeerLinkOptions) {
    this.backoffMs = opts.backoffMinMs;
  }

  get isConnected(): boolean {
    return this.connected;
  }

  setAddress(a: PeerAddress): void {
    this.opts.address = a;
  }

  /**
   * Enqueues one frame body. Returns false if it was shed. `onUnsent` runs (once) if the frame,
   * queued while the link was down, is dropped without having been written to any connection: it
   * certainly never reached the peer. Once written its fate is unknown and it is not called.
   */
  send(body: Uint8Array, onUnsent?: () => void): boolean {
    if (this.closed) return false;
    if (this.connected && this.socket) {
      // Kernel buffer full → keep a bounded user-space backlog, then shed.
      if (this.socket.writableLength > this.opts.maxQueuedFrames * 64 * 1024) return this.drop();
      this.socket.write(encodeFrame(body));
      if (this.owedSince === 0) this.owedSince = Date.now();
      return true;
    }
    if (this.queue.length >= this.opts.maxQueuedFrames) return this.drop();
    this.queue.push(encodeFrame(body));
    if (onUnsent) this.unsentHandlers.push(onUnsent);
    if (!this.connecting && !this.retryTimer) this.connect();
    return true;
  }

  private drop(): boolean {
    this.shed++;
    this.opts.onUnreachable();
    return false;
  }

  private connect(): void {
    if (this.closed) return;
    this.connecting = true;
    this.lastAttempt = Date.now();
    const { host, port } = this.opts.address;
    const t = this.opts.tls;
    const sock = t
      ? tls.connect({
          host,
          port,
          ca: t.ca,
          cert: t.cert,
          key: t.key,
          checkServerIdentity: t.verifyHostname === false ? () => undefined : tls.checkServerIdentity,
        })
      : net.connect({ host, port });
    sock.setNoDelay(true);
    this.socket = sock;
    const onReady = (): void => {
      this.connecting = false;
      this.connected = true;
      this.backoffMs = this.opts.backoffMinMs;
      sock.write(encodeFrame(this.opts.hello));
      this.owedSince = Date.now();
      const q = this.queue;
      this.queue = [];
      this.unsentHandlers = [];
      if (q.length > 0) sock.write(q.length === 1 ? q[0] : Buffer.concat(q));
      this.opts.onConnect?.();
    };
    sock.once(t ? 'secureConnect' : 'connect', onReady);
    // Inbound data on an outbound link is the receiver's echo: the path works both ways.
    sock.on('data', () => {
      if (this.socket !== sock) return;
      this.peerEchoes = true;
      this.owedSince = 0;
    });
    sock.on('error', () => undefined);
    sock.on('close', () => {
      if (this.socket !== sock) return;
      const wasUp = this.connected;
      this.connected = false;
      this.connecting = false;
      this.socket = undefined;
      this.owedSince = 0;
      if (this.queue.length > 0 || wasUp) {
        // Anything queued for a dead connection is stale by the time we reconnect; Raft resends.
        if (this.queue.length > 0) this.shed += this.queue.length;
        this.queue = [];
        this.dropUnsent();
        this.opts.onUnreachable();
      }
      this.scheduleRetry();
    });
  }

  /** Dead-path check (see the file comment); the transport calls it a few times per staleMs. */
  checkStale(now: number): void {
    const stale = this.opts.staleMs ?? 0;
    if (stale <= 0 || !this.socket) return;
    const dead = this.connecting
      ? now - this.lastAttempt > stale
      : this.connected && this.peerEchoes && this.owedSince > 0 && now - this.owedSince > stale;
    if (!dead) return;
    this.staleResets++;
    // A reset, not a close: with a close the kernel keeps retransmitting what this connection still
    // holds, and once the path is back it delivers it, seconds late (a forwarded append its client
    // gave up on long ago, committed after all). 'close' then reconnects and reports the peer
    // unreachable.
    const sock = this.socket;
    if (this.connecting) {
      sock.destroy(); // nothing sent yet (resetAndDestroy would wait for the connect)
      return;
    }
    try {
      sock.resetAndDestroy();
    } catch {
      sock.destroy(); // a handle that cannot reset (TLS): close it
    }
  }

  private scheduleRetry(): void {
    if (this.closed || this.retryTimer) return;
    const jitter = 0.5 + Math.random() * 0.5;
    const wait = Math.max(0, this.backoffMs * jitter - (Date.now() - this.lastAttempt));
    this.backoffMs = Math.min(this.opts.backoffMaxMs, this.backoffMs * 2);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.connect();
    }, wait);
    this.retryTimer.unref();
  }

  close(): void {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.socket?.destroy();
    this.socket = undefined;
    this.queue = [];
    this.dropUnsent();
  }

  private dropUnsent(): void {
    const hs = this.unsentHandlers;
    this.unsentHandlers = [];
    for (const h of hs) h();
  }
}
