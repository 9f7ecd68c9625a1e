/**
 * RFC 3261 §18 UDP listener: one datagram = one message. The receive buffer is raised (config
 * `transport.udp_recv_buffer_bytes`) because event-loop pauses otherwise overflow the kernel queue.
 */
import { createSocket, type Socket } from 'node:dgram';
import { isIP } from 'node:net';
import { sharedResolver, type NameResolver, type SipTarget } from '../dns/index.js';
import { markDscp } from './dscp.js';
import { InboundBatch } from './inbound-batch.js';
import { UdpQueueProbe } from './queue-probe.js';
import { RefusalNotice } from './refusal-notice.js';
import { keepAliveOf, mayBeKeepAlive, stunBindingResponse } from './udp-keepalive.js';
import { readUdpDrops } from './socket-drops.js';
import type { Endpoint, InboundHandler, ListenerInfo, MessageSource, TransportCounters, WarnSink } from './types.js';

/** At most one warning per interval about refused destinations (each carries the count since the last). */
export const BAD_DESTINATION_NOTICE_MS = 10_000;

/**
 * A destination a datagram can be sent to: a port in 1..65535 (port 0 is not a destination,
 * RFC 768; dgram throws ERR_SOCKET_BAD_PORT synchronously for it and for anything above 65535)
 * and a non-empty address.
 */
export function isSendableEndpoint(dest: Endpoint): boolean {
  const { port, address } = dest;
  return Number.isInteger(port) && port >= 1 && port <= 65535 && typeof address === 'string' && address.length > 0;
}

export interface UdpOptions {
  readonly host: string;
  readonly port: number;
  readonly advertise: { host: string; port: number | null } | null;
  readonly recvBufferBytes: number;
  readonly maxMessageSize: number;
  /** Resolves host-name destinations (RFC 3263); default: the node's shared resolver. */
  readonly resolver?: NameResolver;
  /** Measure this listener's queueing delay (see queue-probe.ts); each probe read reports here. */
  readonly onQueueDelay?: (delayMs: number, sentAt: number) => void;
  /** A probe the socket dropped (overtaken by a later one), by when it was sent. */
  readonly onProbeLost?: (sentAt: number) => void;
  /** DSCP to mark sent datagrams with (`listen.dscp`, dscp.ts); absent: unmarked. */
  readonly dscp?: number;
}

/** Where probes of a listener bound to `host` are sent from and to. */
function probeAddressFor(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '::1';
  return host;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string, family: number) => void;

/**
 * dgram resolves the destination of every send through its `lookup` option (`dns.lookup` by
 * default), which for an IP literal still costs an options check and a deferred callback per
 * datagram. Every destination reaching the socket is a literal: names are resolved before (see send).
 */
function literalLookup(host: string, _options: unknown, callback: LookupCallback): void {
  const family = isIP(host);
  if (family !== 0) callback(null, host, family);
  else callback(Object.assign(new Error(`not an IP address: ${host}`), { code: 'EINVAL' }), '', 0);
}

export class UdpTransport {
  private socket: Socket | null = null;
  private info: ListenerInfo | null = null;
  private readonly badDestinations: RefusalNotice;
  /** Datagrams read in this poll phase, handed to the stack together after it (inbound-batch.ts). */
  private readonly inbound: InboundBatch;
  /** Datagrams waiting for the end of this loop turn (see send). */
  private outbox: { bytes: Buffer; dest: Endpoint; onFailure: (() => void) | undefined }[] = [];
  private flushArmed = false;
  private probe: UdpQueueProbe | null = null;

  constructor(
    private readonly opts: UdpOptions,
    private readonly handler: InboundHandler,
    private readonly counters: TransportCounters,
    private readonly log: WarnSink | null = null,
    now: () => number = Date.now,
  ) {
    this.badDestinations = new RefusalNotice(BAD_DESTINATION_NOTICE_MS, now);
    this.inbound = new InboundBatch(handler, log);
  }

  get listener(): ListenerInfo {
    if (this.info === null) throw new Error('UDP listener not started');
    return this.info;
  }

  async start(): Promise<ListenerInfo> {
    const type = isIP(this.opts.host) === 6 ? 'udp6' : 'udp4';
    const socket = createSocket({
      type,
      recvBufferSize: this.opts.recvBufferBytes > 0 ? this.opts.recvBufferBytes : undefined,
      lookup: literalLookup,
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(this.opts.port, this.opts.host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    // A send error (e.g. ICMP unreachable surfaced on Linux) must never crash the node.
    socket.on('error', () => undefined);
    if (this.opts.dscp !== undefined) {
      const why = markDscp(socket, this.opts.dscp, type === 'udp6' ? 'IPv6' : 'IPv4');
      if (why !== null) this.log?.warn({ listener: `udp:${this.opts.host}:${this.opts.port}`, dscp: this.opts.dscp, reason: why }, 'listen.dscp: datagrams leave unmarked');
    }
    const port = socket.address().port;
    this.info = {
      transport: 'udp',
      host: this.opts.host,
      port,
      advertisedHost: this.opts.advertise?.host ?? this.opts.host,
      advertisedPort: this.opts.advertise?.port ?? port,
    };
    const listener = this.info;
    let probe = this.opts.onQueueDelay === undefined ? null : new UdpQueueProbe(probeAddressFor(this.opts.host), port, this.opts.onQueueDelay, this.opts.onProbeLost);
    if (probe !== null) {
      try {
        await probe.start(type);
      } catch (err) {
        // E.g. a "::" listener on a host without IPv6 loopback: overload control goes on without this
        // listener's delay probes (event-loop lateness and the kernel's drop count still count).
        this.log?.warn({ err: String(err), address: probe.address }, 'UDP queue-delay probe could not bind; overload control runs without it');
        probe = null;
      }
    }
    this.probe = probe;
    socket.on('message', (msg, rinfo) => {
      if (probe !== null && probe.matches(msg, rinfo.address, rinfo.port)) {
        probe.received(msg);
        return;
      }
      if (mayBeKeepAlive(msg) && this.onKeepAlive(msg, rinfo.address, rinfo.port)) return;
      const source: MessageSource = { transport: 'udp', remote: { address: rinfo.address, port: rinfo.port }, listener, connectionId: null };
      if (msg.length > this.opts.maxMessageSize) {
        this.counters.malformed('udp');
        // RFC 3261 §21.5.14: a request whose header block is readable learns why (513, built from
        // its head like the TCP framer's); anything else is dropped.
        const headEnd = msg.indexOf('\r\n\r\n');
        if (headEnd > 0 && headEnd + 4 <= this.opts.maxMessageSize) {
          const reply = this.handler.onFramingFailure({ status: 513, reason: 'Message Too Large', head: msg.subarray(0, headEnd + 4), source });
          if (reply !== null) this.send(reply, source.remote); // a spoofed source port 0 is refused there
        }
        return;
      }
      this.inbound.push(msg, source);
    });
    this.socket = socket;
    return this.info;
  }

  /**
   * A keep-alive instead of SIP (udp-keepalive.ts): a CRLF datagram is dropped, a STUN Binding
   * request answered with the address it came from. False: not a keep-alive, parse it as SIP.
   */
  private onKeepAlive(datagram: Buffer, address: string, port: number): boolean {
    const ka = keepAliveOf(datagram);
    if (ka === null) return false;
    this.counters.keepAlive?.('udp', ka.kind);
    if (ka.kind === 'stun') {
      const reply = stunBindingResponse(ka, address, port);
      if (reply !== null) this.send(reply, { address, port });
    }
    return true;
  }

  /**
   * Fire-and-forget: a UDP send is never awaited by the signalling path. No completion callback on
   * purpose: with one, Node always takes libuv's queued send (a SendWrap, an I/O-loop completion and a
   * JS callback per datagram); without, it tries `sendmsg` synchronously first. A datagram the kernel
   * refuses is then lost silently, as it could be on the wire: UDP signalling retransmits (§17.1.1.2).
   *
   * Datagrams to literal addresses are queued and written together once the event loop has handled
   * everything this poll delivered (`setImmediate`, the check phase). Each `sendmsg` on a busy node
   * otherwise lands ~100 µs after the previous one, when the peer has gone back to sleep, and pays the
   * kernel's wake-up of the receiving process again (measured: 14 of the 24 µs a send cost here, and
   * 12–17 % of the CPU per REGISTER and per proxied call). Written back to back, a burst wakes each
   * peer once. Under light load a poll delivers one message, so nothing waits; order is kept.
   *
   * A destination that cannot be addressed (port 0 or > 65535, no address) is refused without
   * throwing: counted, warned about (rate-limited), and reported like a TCP send queued behind a
   * failed connect: `onFailure` runs later (never inside this call), so a client transaction takes
   * its transport-error path (§17.1.4, §8.1.3.1; a proxy answers 503 per §16.9).
   *
   * A host name is located first (RFC 3263 §4: SRV when `dest.srv`, then A/AAAA; from the cache
   * when it can, in this call). A name that cannot be resolved takes the same refusal path. A
   * datagram goes to the first target only: UDP reports no per-send failure to fail over on (§4.3's
   * failover needs one: the TCP transport does it on a failed connect).
   */
  send(bytes: Buffer, dest: Endpoint, onFailure?: () => void): void {
    if (this.socket === null) return;
    if (!isSendableEndpoint(dest)) {
      this.refuse(dest, 'bad-destination', onFailure);
      return;
    }
    if (isIP(dest.address) !== 0) {
      this.enqueue(bytes, dest, onFailure);
      return;
    }
    const query = { host: dest.address, port: dest.port, transport: 'udp', srv: dest.srv === true, srvName: dest.srvName } as const;
    this.resolver.lookup(query, (targets: readonly SipTarget[], reason: string) => {
      if (targets.length === 0) this.refuse(dest, reason, onFailure);
      else if (this.socket !== null) this.enqueue(bytes, targets[0], onFailure);
    });
  }

  private get resolver(): NameResolver {
    return this.opts.resolver ?? sharedResolver();
  }

  private enqueue(bytes: Buffer, dest: Endpoint, onFailure: (() => void) | undefined): void {
    this.outbox.push({ bytes, dest, onFailure });
    if (!this.flushArmed) {
      this.flushArmed = true;
      setImmediate(this.flushOutbox);
    }
  }

  private readonly flushOutbox = (): void => {
    this.flushArmed = false;
    const socket = this.socket;
    const batch = this.outbox;
    this.outbox = [];
    if (socket === null) return;
    for (const { bytes, dest, onFailure } of batch) {
      try {
        socket.send(bytes, dest.port, dest.address);
      } catch (err) {
        // A synchronous refusal by dgram (an argument it rejects): the sender's transport error, never a throw.
        this.refuse(dest, (err as NodeJS.ErrnoException).code ?? 'send-error', onFailure);
      }
    }
  };

  private refuse(dest: Endpoint, reason: string, onFailure: (() => void) | undefined): void {
    this.counters.badDestination?.('udp');
    const notice = this.badDestinations.note(reason);
    if (notice !== null && this.log !== null) {
      this.log.warn(
        { refused: notice.count, reasons: notice.reasons, address: String(dest.address), port: dest.port },
        'UDP sends refused: destination port or address cannot be addressed',
      );
    }
    if (onFailure !== undefined) queueMicrotask(onFailure);
  }

  /** Sends one queue-delay probe to this listener (no-op without `onQueueDelay`). */
  sendProbe(): void {
    this.probe?.send();
  }

  /** Age (ms) of this listener's oldest probe sent at or after `since` and not yet read; 0 when none. */
  probeInFlightMs(since?: number): number {
    return this.probe?.oldestInFlightMs(since) ?? 0;
  }

  /** Datagrams the kernel dropped at this listener's full receive queue so far (null: not known here). */
  async socketDrops(): Promise<number | null> {
    return this.info === null ? null : readUdpDrops(this.info.port, isIP(this.opts.host) === 6 ? 'udp6' : 'udp4');
  }

  /** Actual SO_RCVBUF (the kernel reports double the requested size on Linux). */
  recvBufferSize(): number {
    return this.socket?.getRecvBufferSize() ?? 0;
  }

  async stop(): Promise<void> {
    this.inbound.drain(); // datagrams already read are handled, not lost
    this.flushOutbox(); // the last final responses still go out
    const socket = this.socket;
    this.socket = null;
    const probe = this.probe;
    this.probe = null;
    await probe?.stop();
    if (socket !== null) await new Promise<void>((resolve) => socket.close(() => resolve()));
  }
}
