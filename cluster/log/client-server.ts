// Client port of a log node: length-prefixed protobuf ClientRequest/ClientResponse frames over TCP
// (schemas/raft.proto). Requests on one connection may be pipelined; responses carry the request id.
import net from 'node:net';
import { ClientRequestType, ClientResponseType, FrameDecoder, encodeFrame, num } from '../raft/transport/index.js';
import { NotLeaderError } from './errors.js';
import type { ReplicatedLog } from './replicated-log.js';

export enum ClientOp {
  Append = 0,
  Status = 1,
  Read = 2,
  ReadIndex = 3,
  Transfer = 4,
}

interface PbRequest {
  id?: unknown;
  op?: number;
  data?: Uint8Array[];
  fromIndex?: unknown;
  limit?: number;
  target?: unknown;
}

export interface PbResponse {
  id: number;
  error?: string;
  index?: number;
  term?: number;
  leader?: number;
  statusJson?: string;
  entries?: Array<{ index: number; term: number; data: Uint8Array }>;
  firstIndex?: number;
}

export class LogClientServer {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  port = 0;

  constructor(private readonly log: ReplicatedLog) {}

  async listen(host: string, port: number): Promise<number> {
    this.server = net.createServer((s) => this.accept(s));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, host, () => resolve());
    });
    this.port = (this.server.address() as net.AddressInfo).port;
    return this.port;
  }

  private accept(sock: net.Socket): void {
    this.sockets.add(sock);
    sock.setNoDelay(true);
    const dec = new FrameDecoder(16 * 1024 * 1024);
    // Responses completed by the same apply batch go out in one write: they resolve in one
    // synchronous loop, so a microtask queued by the first runs after the rest have been queued.
    let out: Buffer[] = [];
    let flushScheduled = false;
    const reply = (r: PbResponse): void => {
      if (sock.destroyed) return;
      out.push(encodeFrame(ClientResponseType.encode(r).finish()));
      if (!flushScheduled) {
        flushScheduled = true;
        queueMicrotask(() => {
          flushScheduled = false;
          const b = out.length === 1 ? out[0] : Buffer.concat(out);
          out = [];
          if (!sock.destroyed) sock.write(b);
        });
      }
    };
    sock.on('data', (chunk: Buffer) => {
      let frames: Buffer[];
      try {
        frames = dec.push(chunk);
      } catch {
        sock.destroy();
        return;
      }
      for (const f of frames) {
        let req: PbRequest;
        try {
          req = ClientRequestType.decode(f) as unknown as PbRequest;
        } catch {
          sock.destroy();
          return;
        }
        // handle() answers every failure itself; a reply that cannot even be encoded closes the
        // connection rather than escaping as an unhandled rejection.
        this.handle(req).then(reply).catch(() => sock.destroy());
      }
    });
    sock.on('error', () => undefined);
    sock.on('close', () => this.sockets.delete(sock));
  }

  private async handle(req: PbRequest): Promise<PbResponse> {
    const id = num(req.id);
    try {
      switch (req.op ?? 0) {
        case ClientOp.Append: {
          const r = await this.log.append(req.data ?? []);
          return { id, index: r.index, term: r.term };
        }
        case ClientOp.Status:
          return { id, statusJson: this.log.statusJson(), leader: this.log.status().leader };
        case ClientOp.Read: {
          const entries = this.log.readCommitted(num(req.fromIndex), Math.min(req.limit || 1000, 10_000));
          return { id, entries, index: this.log.status().applied, firstIndex: this.log.firstIndex() };
        }
        case ClientOp.ReadIndex:
          return { id, index: await this.log.readIndex() };
        case ClientOp.Transfer: {
          const t = num(req.target);
          return { id, leader: await this.log.transferLeadership(t === 0 ? undefined : t) };
        }
        default:
          return { id, error: 'BadRequest' };
      }
    } catch (e) {
      const err = e as Error;
      return { id, error: err.name || 'Error', leader: e instanceof NotLeaderError ? e.leader : this.log.status().leader };
    }
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    if (this.server) await new Promise<void>((r) => this.server!.close(() => r()));
  }
}
