// Test helper: a fault-injecting TCP relay (node:net only, no root, no iptables). A member's peer
// address for another member points at a relay that forwards to the real listener; one relay per
// directed member pair carries exactly that direction's Raft traffic (a member dials every peer and
// only sends on the connection it dialed), so each direction can fail on its own.
//
// Faults, each until heal():
//   cut        existing connections are destroyed and new ones are accepted then reset at once
//              (a crashed switch port / firewall REJECT: the sender sees the link go down)
//   refuse     existing connections are destroyed and the listener closes: connects are refused
//              (the peer's host is up, its process is not). heal() listens again on the same port.
//   blackhole  bytes are read and thrown away, connections stay up (a silent DROP: the sender sees
//              nothing). A stream that lost bytes is broken, so heal() resets those connections.
//   hold       reading stops; bytes back up in the kernel and in the sender (a stalled path with TCP
//              retransmitting). heal() resumes them: stale messages arrive late, in order.
//   drop       packets lost, as with a firewall DROP rule: like hold, but TCP's retransmission timer
//              has backed off meanwhile, so after heal() a connection that lived through the drop
//              stays dark for retransmitMs more (the next retransmission), while a new connection
//              works at once. A connection opened during the drop completes its handshake here (a
//              userland relay cannot drop a SYN) but carries nothing.
//   delay      every chunk is delivered delayMs (+ up to jitterMs) later, order preserved.
import net from 'node:net';

export type RelayMode = 'pass' | 'cut' | 'blackhole' | 'hold' | 'drop' | 'refuse';

interface Direction {
  dst: net.Socket;
  queue: Array<{ at: number; chunk: Buffer }>;
  lastAt: number;
  timer: NodeJS.Timeout | undefined;
}

interface Pair {
  client: net.Socket;
  upstream: net.Socket;
  /** Bytes were dropped on this pair: its byte stream no longer frames correctly. */
  tainted: boolean;
  /** Lived through a 'drop': resumes only retransmitMs after heal(). */
  lossy: boolean;
  resumeTimer: NodeJS.Timeout | undefined;
  dirs: Direction[];
}

export class FaultRelay {
  private server: net.Server | undefined;
  private readonly pairs = new Set<Pair>();
  private modeNow: RelayMode = 'pass';
  private delayMs = 0;
  private jitterMs = 0;
  private retransmitMs = 0;
  port = 0;
  /** Connections accepted, and bytes forwarded / dropped (for the test's report). */
  stats = { accepted: 0, forwarded: 0, dropped: 0 };

  constructor(
    readonly name: string,
    readonly targetPort: number,
    readonly host = '127.0.0.1',
  ) {}

  get mode(): RelayMode {
    return this.modeNow;
  }

  async start(): Promise<number> {
    const server = net.createServer((s) => this.accept(s));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, this.host, () => resolve());
    });
    this.port = (server.address() as net.AddressInfo).port;
    return this.port;
  }

  /** See the file comment; resolves once the listener is closed. */
  async refuse(): Promise<void> {
    this.cut();
    this.modeNow = 'refuse';
    const s = this.server;
    this.server = undefined;
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }

  /** After heal() from refuse: resolves once the relay listens again. */
  listening: Promise<unknown> = Promise.resolve();

  cut(): void {
    this.modeNow = 'cut';
    for (const p of [...this.pairs]) this.destroy(p);
  }

  blackhole(): void {
    this.modeNow = 'blackhole';
  }

  hold(): void {
    this.modeNow = 'hold';
    for (const p of this.pairs) {
      // A connection still waiting out an earlier drop's retransmission stays held.
      if (p.resumeTimer) clearTimeout(p.resumeTimer);
      p.resumeTimer = undefined;
      p.client.pause();
      p.upstream.pause();
    }
  }

  /** Silent packet loss; heal() revives surviving connections only `retransmitMs` later. */
  drop(retransmitMs = 4000): void {
    this.hold();
    this.modeNow = 'drop';
    this.retransmitMs = retransmitMs;
    for (const p of this.pairs) p.lossy = true;
  }

  /** Delays both directions; 0 turns it off. Independent of the mode. */
  delay(ms: number, jitterMs = 0): void {
    this.delayMs = ms;
    this.jitterMs = jitterMs;
  }

  heal(): void {
    const was = this.modeNow;
    this.modeNow = 'pass';
    if (was === 'refuse') this.listening = this.start().catch((e: Error) => process.stderr.write(`relay ${this.name}: cannot listen again: ${e.message}\n`));
    this.delayMs = 0;
    this.jitterMs = 0;
    for (const p of [...this.pairs]) {
      if (p.tainted) this.destroy(p);
      else if (p.lossy) {
        p.lossy = false;
        p.resumeTimer = setTimeout(() => {
          p.resumeTimer = undefined;
          p.client.resume();
          p.upstream.resume();
        }, this.retransmitMs);
      } else if (was === 'hold') {
        p.client.resume();
        p.upstream.resume();
      }
    }
  }

  async close(): Promise<void> {
    for (const p of [...this.pairs]) this.destroy(p);
    const s = this.server;
    this.server = undefined;
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }

  private accept(client: net.Socket): void {
    this.stats.accepted++;
    if (this.modeNow === 'cut') {
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect({ host: this.host, port: this.targetPort });
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    const pair: Pair = { client, upstream, tainted: false, lossy: this.modeNow === 'drop', resumeTimer: undefined, dirs: [] };
    this.pairs.add(pair);
    this.pipe(pair, client, upstream);
    this.pipe(pair, upstream, client);
    for (const s of [client, upstream]) {
      s.on('error', () => this.destroy(pair));
      s.on('close', () => this.destroy(pair));
    }
    if (this.modeNow === 'hold' || this.modeNow === 'drop') {
      client.pause();
      upstream.pause();
    }
  }

  private pipe(pair: Pair, src: net.Socket, dst: net.Socket): void {
    const d: Direction = { dst, queue: [], lastAt: 0, timer: undefined };
    pair.dirs.push(d);
    src.on('data', (chunk: Buffer) => {
      if (this.modeNow === 'blackhole') {
        pair.tainted = true;
        this.stats.dropped += chunk.length;
        return;
      }
      if (this.delayMs <= 0 && d.queue.length === 0) {
        this.stats.forwarded += chunk.length;
        dst.write(chunk);
        return;
      }
      const now = Date.now();
      const at = Math.max(now + this.delayMs + Math.random() * this.jitterMs, d.lastAt);
      d.lastAt = at;
      d.queue.push({ at, chunk });
      if (!d.timer) this.pump(d);
    });
  }

  private pump(d: Direction): void {
    d.timer = undefined;
    const now = Date.now();
    while (d.queue.length > 0 && d.queue[0].at <= now) {
      const { chunk } = d.queue.shift()!;
      if (d.dst.destroyed) continue;
      this.stats.forwarded += chunk.length;
      d.dst.write(chunk);
    }
    if (d.queue.length > 0) d.timer = setTimeout(() => this.pump(d), Math.max(1, d.queue[0].at - now));
  }

  private destroy(p: Pair): void {
    if (!this.pairs.delete(p)) return;
    if (p.resumeTimer) clearTimeout(p.resumeTimer);
    for (const d of p.dirs) {
      if (d.timer) clearTimeout(d.timer);
      d.timer = undefined;
      d.queue = [];
    }
    p.client.destroy();
    p.upstream.destroy();
  }
}
