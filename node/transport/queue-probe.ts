/**
 * Measures how long a datagram waits in a UDP listener's socket queue and the event loop before the
 * node reads it: a private socket sends small numbered datagrams to the listener; the listener
 * recognises them (source address and port, length, magic, a per-process nonce), and the time from
 * send to read is the delay every SIP datagram queued with it saw (the queue is FIFO). Feeds
 * overload control (node/core/overload-control.ts). Linux gives no per-datagram receive timestamp
 * to Node, and neither CPU nor event-loop utilisation tells "busy and keeping up" from "falling behind".
 */
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';

const MAGIC = 0x00505242; // "\0PRB": no SIP message (or RFC 5626 keepalive) starts with NUL
export const PROBE_BYTES = 12;
/** Probes in flight kept track of; beyond it the oldest are forgotten (their queue overflowed). */
const MAX_IN_FLIGHT = 512;

export class UdpQueueProbe {
  private socket: Socket | null = null;
  private readonly nonce = randomBytes(4).readUInt32BE(0);
  private seq = 0;
  /** FIFO of probes sent and not yet read, oldest first: [seq, sentAt] pairs. */
  private inFlight: number[] = [];
  private head = 0;
  /** The probe socket's own port: the receive path's first, cheapest test. */
  port = -1;

  constructor(
    /** The address probes are sent from and to (the listener's, or loopback for a wildcard bind). */
    readonly address: string,
    private readonly listenerPort: number,
    private readonly onDelay: (delayMs: number, sentAt: number) => void,
    private readonly onLoss?: (sentAt: number) => void,
    private readonly now: () => number = () => performance.now(),
  ) {}

  async start(type: 'udp4' | 'udp6'): Promise<void> {
    const socket = createSocket({ type });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, this.address, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    socket.on('error', () => undefined);
    socket.on('message', () => undefined); // nothing is ever sent to it
    this.port = socket.address().port;
    this.socket = socket;
  }

  /** Whether an inbound datagram is one of this probe's (checked before any SIP parsing). */
  matches(msg: Buffer, address: string, port: number): boolean {
    return (
      port === this.port &&
      msg.length === PROBE_BYTES &&
      address === this.address &&
      msg.readUInt32BE(0) === MAGIC &&
      msg.readUInt32BE(8) === this.nonce
    );
  }

  /** A probe read by the listener: report its delay; older ones still in flight were dropped. */
  received(msg: Buffer): void {
    const seq = msg.readUInt32BE(4);
    const q = this.inFlight;
    while (this.head < q.length) {
      const s = q[this.head];
      const sentAt = q[this.head + 1];
      this.head += 2;
      if (s === seq) {
        this.onDelay(Math.max(0, this.now() - sentAt), sentAt);
        break;
      }
      this.onLoss?.(sentAt); // overtaken: the socket dropped it
    }
    this.compact();
  }

  send(): void {
    if (this.socket === null) return;
    const seq = (this.seq = (this.seq + 1) >>> 0);
    const buf = Buffer.allocUnsafe(PROBE_BYTES);
    buf.writeUInt32BE(MAGIC, 0);
    buf.writeUInt32BE(seq, 4);
    buf.writeUInt32BE(this.nonce, 8);
    if ((this.inFlight.length - this.head) / 2 >= MAX_IN_FLIGHT) this.head += 2;
    this.inFlight.push(seq, this.now());
    this.compact();
    this.socket.send(buf, this.listenerPort, this.address);
  }

  /** Age (ms) of the oldest probe sent at or after `since` and not yet read; 0 when none is in flight. */
  oldestInFlightMs(since = Number.NEGATIVE_INFINITY): number {
    const q = this.inFlight;
    for (let i = this.head; i < q.length; i += 2) if (q[i + 1] >= since) return Math.max(0, this.now() - q[i + 1]);
    return 0;
  }

  private compact(): void {
    if (this.head > 256 && this.head * 2 > this.inFlight.length) {
      this.inFlight = this.inFlight.slice(this.head);
      this.head = 0;
    }
  }

  async stop(): Promise<void> {
    const socket = this.socket;
    this.socket = null;
    if (socket !== null) await new Promise<void>((resolve) => socket.close(() => resolve()));
  }
}
