// Outbound link to one peer: connects lazily, reconnects with exponential back-off (with jitter),
// and holds a bounded send queue. When the queue is full or the peer is down, messages are shed
// (Raft retransmits on its own) and the owner is told the peer is unreachable; send never blocks.
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
}

export class PeerLink {
  private socket: net.Socket | undefined;
  private connected = false;
  private connecting = false;
  private queue: Buffer[] = [];
  private backoffMs: number;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private lastAttempt = 0;
  shed = 0;

  constructor(readonly opts: PeerLinkOptions) {
    this.backoffMs = opts.backoffMinMs;
  }

  get isConnected(): boolean {
    return this.connected;
  }

  setAddress(a: PeerAddress): void {
    this.opts.address = a;
  }

  /** Enqueues one frame body. Returns false if it was shed. */
  send(body: Uint8Array): boolean {
    if (this.closed) return false;
    if (this.connected && this.socket) {
      // Kernel buffer full → keep a bounded user-space backlog, then shed.
      if (this.socket.writableLength > this.opts.maxQueuedFrames * 64 * 1024) return this.drop();
      this.socket.write(encodeFrame(body));
      return true;
    }
    if (this.queue.length >= this.opts.maxQueuedFrames) return this.drop();
    this.queue.push(encodeFrame(body));
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
      const q = this.queue;
      this.queue = [];
      if (q.length > 0) sock.write(q.length === 1 ? q[0] : Buffer.concat(q));
      this.opts.onConnect?.();
    };
    sock.once(t ? 'secureConnect' : 'connect', onReady);
    // Inbound data on an outbound link is not expected; drain it so the socket never stalls.
    sock.on('data', () => undefined);
    sock.on('error', () => undefined);
    sock.on('close', () => {
      if (this.socket !== sock) return;
      const wasUp = this.connected;
      this.connected = false;
      this.connecting = false;
      this.socket = undefined;
      if (this.queue.length > 0 || wasUp) {
        // Anything queued for a dead connection is stale by the time we reconnect; Raft resends.
        if (this.queue.length > 0) this.shed += this.queue.length;
        this.queue = [];
        this.opts.onUnreachable();
      }
      this.scheduleRetry();
    });
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
  }
}
