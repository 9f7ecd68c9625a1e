// Member-to-member transport: one inbound listener, one outbound PeerLink per peer.
// Messages produced by one Ready are grouped per peer into a single frame; repeated heartbeats
// (and heartbeat responses) to the same peer within a batch are coalesced into the newest one.
import net from 'node:net';
import tls from 'node:tls';
import { MessageType, type Message, type NodeId } from '../types.js';
import { FrameDecoder } from './frame-codec.js';
import { WireMessageError, messageFromPb, messageToPb, wireNumber, type PbMessage } from './message-codec.js';
import { PeerLink, type PeerAddress, type TlsOptions } from './peer-link.js';
import { PeerFrameType } from './schema.js';

export interface TransportHandlers {
  /** Raft messages received from a peer (step them into the core). */
  onMessages(msgs: Message[]): void;
  /** Proposals a follower forwarded to us, in its term `term` (0: an older sender that did not say). */
  onForward?(from: NodeId, data: Uint8Array[], term: number): void;
  /** A peer could not be reached / a message to it was shed (report MsgUnreachable to the core). */
  onUnreachable?(peer: NodeId): void;
}

export interface TransportOptions {
  id: NodeId;
  listen: PeerAddress; // port 0 picks a free port
  peers: Map<NodeId, PeerAddress>;
  cluster?: string;
  tls?: TlsOptions;
  maxQueuedFrames?: number;
  backoffMinMs?: number;
  backoffMaxMs?: number;
  /**
   * Replace an outbound connection that has owed the peer's echo this long, or a connect attempt
   * this old (see peer-link.ts); 0 (default) = never. The log uses its election timeout.
   */
  staleMs?: number;
}

/** An empty frame: what a receiver writes back on a connection that carries frames (an echo). */
const ECHO = Buffer.alloc(4);
/** A receiver echoes at most this often per connection (and once more after the last frame). */
const ECHO_INTERVAL_MS = 50;

interface PbFrame {
  hello?: { from?: unknown; cluster?: string } | null;
  batch?: { messages?: PbMessage[] } | null;
  forward?: { data?: Uint8Array[]; term?: unknown } | null;
}

/** What one inbound frame carried, once checked. */
interface Received {
  from: NodeId;
  messages?: Message[];
  forward?: { data: Uint8Array[]; term: number };
}

export class TcpTransport {
  private server: net.Server | undefined;
  private readonly links = new Map<NodeId, PeerLink>();
  private readonly inbound = new Set<net.Socket>();
  private readonly hello: Uint8Array;
  private readonly cluster: string;
  private staleTimer: NodeJS.Timeout | undefined;
  port = 0;
  stats = { framesIn: 0, framesOut: 0, messagesOut: 0, coalesced: 0, rejected: 0 };
  /** Why the last refused inbound frame was refused (who sent it and the error), for status and tests. */
  lastRefusal = '';

  constructor(
    private readonly opts: TransportOptions,
    private readonly handlers: TransportHandlers,
  ) {
    this.cluster = opts.cluster ?? 'siphon';
    this.hello = PeerFrameType.encode({ hello: { from: opts.id, cluster: this.cluster } }).finish();
    for (const [id, addr] of opts.peers) this.addPeer(id, addr);
  }

  async start(): Promise<number> {
    const onConn = (sock: net.Socket): void => this.accept(sock);
    const t = this.opts.tls;
    this.server = t
      ? tls.createServer({ ca: t.ca, cert: t.cert, key: t.key, requestCert: true, rejectUnauthorized: true }, onConn)
      : net.createServer(onConn);
    // A failed TLS handshake (e.g. no client certificate) must not take the node down.
    this.server.on('tlsClientError', () => {
      this.stats.rejected++;
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.opts.listen.port, this.opts.listen.host, () => resolve());
    });
    this.port = (this.server.address() as net.AddressInfo).port;
    const stale = this.opts.staleMs ?? 0;
    if (stale > 0) {
      this.staleTimer = setInterval(() => {
        const now = Date.now();
        for (const l of this.links.values()) l.checkStale(now);
      }, Math.max(10, Math.floor(stale / 4)));
      this.staleTimer.unref();
    }
    return this.port;
  }

  addPeer(id: NodeId, addr: PeerAddress): void {
    if (id === this.opts.id) return;
    const existing = this.links.get(id);
    if (existing) {
      existing.setAddress(addr);
      return;
    }
    this.links.set(
      id,
      new PeerLink({
        id,
        address: addr,
        hello: this.hello,
        tls: this.opts.tls,
        maxQueuedFrames: this.opts.maxQueuedFrames ?? 4096,
        backoffMinMs: this.opts.backoffMinMs ?? 50,
        backoffMaxMs: this.opts.backoffMaxMs ?? 2000,
        onUnreachable: () => this.handlers.onUnreachable?.(id),
        staleMs: this.opts.staleMs ?? 0,
      }),
    );
  }

  removePeer(id: NodeId): void {
    this.links.get(id)?.close();
    this.links.delete(id);
  }

  hasPeer(id: NodeId): boolean {
    return this.links.has(id);
  }

  isConnected(id: NodeId): boolean {
    return this.links.get(id)?.isConnected ?? false;
  }

  /** Sends a Ready's messages: one frame per destination peer. Never blocks. */
  send(msgs: readonly Message[]): void {
    if (msgs.length === 0) return;
    const byPeer = new Map<NodeId, Message[]>();
    for (const m of msgs) {
      let l = byPeer.get(m.to);
      if (!l) byPeer.set(m.to, (l = []));
      l.push(m);
    }
    for (const [to, list] of byPeer) {
      const link = this.links.get(to);
      if (!link) {
        this.handlers.onUnreachable?.(to);
        continue;
      }
      const batch = coalesceHeartbeats(list);
      this.stats.coalesced += list.length - batch.length;
      const body = PeerFrameType.encode({ batch: { messages: batch.map(messageToPb) } }).finish();
      if (link.send(body)) {
        this.stats.framesOut++;
        this.stats.messagesOut += batch.length;
      }
    }
  }

  /**
   * Forwards client proposals to `to` (normally the leader), who is to propose them only while its
   * term is still `term` (see schemas/raft.proto Forward). Returns false if shed; `onUnsent` runs if
   * they are dropped later without ever having been written (the link never came up).
   */
  forward(to: NodeId, data: Uint8Array[], term = 0, onUnsent?: () => void): boolean {
    const link = this.links.get(to);
    if (!link) return false;
    return link.send(PeerFrameType.encode({ forward: { data, term } }).finish(), onUnsent);
  }

  private accept(sock: net.Socket): void {
    this.inbound.add(sock);
    sock.setNoDelay(true);
    const decoder = new FrameDecoder();
    let from = 0;
    // Echo (see peer-link.ts): at most every ECHO_INTERVAL_MS, and once after the last frame.
    let lastEcho = 0;
    let echoTimer: NodeJS.Timeout | undefined;
    const echo = (): void => {
      echoTimer = undefined;
      lastEcho = Date.now();
      if (!sock.destroyed) sock.write(ECHO);
    };
    sock.on('data', (chunk: Buffer) => {
      let frames: Buffer[];
      try {
        frames = decoder.push(chunk);
      } catch (e) {
        this.refuse(sock, from, e);
        return;
      }
      for (const f of frames) {
        // Garbage on a member port (undecodable, out of range, or not what this peer may send):
        // drop the connection, never the process. The peer's link reconnects if it was a real member.
        let got: Received;
        try {
          got = this.receive(f, from);
        } catch (e) {
          this.refuse(sock, from, e);
          return;
        }
        from = got.from;
        if (got.messages !== undefined && got.messages.length > 0) this.handlers.onMessages(got.messages);
        else if (got.forward !== undefined) this.handlers.onForward?.(from, got.forward.data, got.forward.term);
      }
      if (from !== 0 && !echoTimer) {
        const wait = lastEcho + ECHO_INTERVAL_MS - Date.now();
        if (wait <= 0) echo();
        else echoTimer = setTimeout(echo, wait);
      }
    });
    sock.on('error', () => undefined);
    sock.on('close', () => {
      if (echoTimer) clearTimeout(echoTimer);
      this.inbound.delete(sock);
    });
  }

  /**
   * One inbound frame; returns the sender's id (set by its Hello). Throws for a frame no member
   * sends: undecodable, another cluster, anything before the Hello, numbers out of range, or a
   * message not from the peer that said hello or not addressed to this member.
   */
  private receive(frame: Buffer, from: NodeId): Received {
    const pb = PeerFrameType.decode(frame) as unknown as PbFrame;
    this.stats.framesIn++;
    if (pb.hello) {
      if ((pb.hello.cluster ?? '') !== this.cluster) throw new WireMessageError(`hello for cluster ${JSON.stringify(pb.hello.cluster ?? '')}`);
      const id = wireNumber(pb.hello.from, 'hello from');
      if (id === 0 || id === this.opts.id) throw new WireMessageError(`hello from id ${id}`);
      return { from: id };
    }
    if (from === 0) throw new WireMessageError('frame before hello');
    if (pb.batch) {
      const messages = (pb.batch.messages ?? []).map(messageFromPb);
      for (const m of messages) {
        if (m.from !== from || m.to !== this.opts.id) throw new WireMessageError(`message ${m.from}->${m.to} on the link from ${from}`);
      }
      return { from, messages };
    }
    if (pb.forward) return { from, forward: { data: pb.forward.data ?? [], term: wireNumber(pb.forward.term, 'forward term') } };
    return { from };
  }

  /** Drops a connection that sent what no member sends, counting it and saying why (rate-limited). */
  private refuse(sock: net.Socket, from: NodeId, err: unknown): void {
    this.stats.rejected++;
    sock.destroy();
    const n = this.stats.rejected;
    const why = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    this.lastRefusal = `from ${from === 0 ? sock.remoteAddress ?? 'unknown' : `member ${from}`}: ${why}`;
    if (n <= 10 || n % 1000 === 0) process.emitWarning(`raft transport ${this.opts.id}: refused a frame ${this.lastRefusal} (${n} so far)`);
  }

  async stop(): Promise<void> {
    if (this.staleTimer) clearInterval(this.staleTimer);
    this.staleTimer = undefined;
    for (const l of this.links.values()) l.close();
    this.links.clear();
    for (const s of this.inbound) s.destroy();
    this.inbound.clear();
    if (this.server) await new Promise<void>((r) => this.server!.close(() => r()));
    this.server = undefined;
  }
}

/** Keeps only the newest context-free heartbeat (and heartbeat response) in a batch to one peer. */
export function coalesceHeartbeats(list: Message[]): Message[] {
  let lastHb = -1;
  let lastHbResp = -1;
  for (let i = 0; i < list.length; i++) {
    const m = list[i];
    if (m.context && m.context.length > 0) continue; // ReadIndex rides on heartbeat context: keep each
    if (m.type === MessageType.Heartbeat) lastHb = i;
    else if (m.type === MessageType.HeartbeatResp) lastHbResp = i;
  }
  if (lastHb < 0 && lastHbResp < 0) return list;
  return list.filter((m, i) => {
    if (m.context && m.context.length > 0) return true;
    if (m.type === MessageType.Heartbeat) return i === lastHb;
    if (m.type === MessageType.HeartbeatResp) return i === lastHbResp;
    return true;
  });
}
