// Client of a log node's client port (see client-server.ts). One TCP connection, pipelined requests.
import net from 'node:net';
import { ClientRequestType, ClientResponseType, FrameDecoder, encodeFrame, num } from '../raft/transport/index.js';
import { ClientOp } from './client-server.js';

export class LogClientError extends Error {
  constructor(
    readonly code: string,
    readonly leader: number,
    detail?: string,
  ) {
    super(`${code}${leader ? ` (leader ${leader})` : ''}${detail ? `: ${detail}` : ''}`);
    this.name = code;
  }
}

interface PbResp {
  id?: unknown;
  error?: string;
  index?: unknown;
  term?: unknown;
  leader?: unknown;
  statusJson?: string;
  entries?: Array<{ index?: unknown; term?: unknown; data?: Uint8Array }>;
  firstIndex?: unknown;
}

export interface ClientResult {
  index: number;
  term: number;
  leader: number;
  statusJson: string;
  entries: Array<{ index: number; term: number; data: Uint8Array }>;
  /** read(): the first index still in the log; below it entries were compacted into a snapshot. */
  firstIndex: number;
}

interface Pending {
  resolve: (r: ClientResult) => void;
  reject: (e: Error) => void;
  /** Date.now() after which the call fails with Timeout. */
  deadline: number;
}

/** How often pending calls are checked against their deadlines (one timer per client, not per call). */
const SWEEP_MS = 100;

export class LogClient {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private closedErr: Error | undefined;
  /** Set when the peer sent something that is not a ClientResponse frame; the calls fail with it. */
  private protocolError: LogClientError | undefined;
  private readonly sweeper: NodeJS.Timeout;

  private constructor(private readonly sock: net.Socket) {
    this.sweeper = setInterval(() => this.sweep(), SWEEP_MS);
    this.sweeper.unref();
    const dec = new FrameDecoder(64 * 1024 * 1024);
    sock.on('data', (chunk: Buffer) => {
      // A server (or whatever answers on that port) sending bytes that are not our protocol fails
      // this client's calls with ProtocolError: never an exception out of the socket's event.
      let frames: Buffer[];
      let responses: PbResp[];
      try {
        frames = dec.push(chunk);
        responses = frames.map((f) => ClientResponseType.decode(f) as unknown as PbResp);
      } catch (e) {
        this.protocolError = new LogClientError('ProtocolError', 0, e instanceof Error ? e.message : String(e));
        sock.destroy();
        return;
      }
      for (const r of responses) {
        const id = num(r.id);
        const p = this.pending.get(id);
        if (!p) continue;
        this.pending.delete(id);
        if (r.error) p.reject(new LogClientError(r.error, num(r.leader)));
        else
          p.resolve({
            index: num(r.index),
            term: num(r.term),
            leader: num(r.leader),
            statusJson: r.statusJson ?? '',
            entries: (r.entries ?? []).map((e) => ({ index: num(e.index), term: num(e.term), data: e.data ?? new Uint8Array(0) })),
            firstIndex: num(r.firstIndex),
          });
      }
    });
    const fail = (): void => {
      clearInterval(this.sweeper);
      this.closedErr = this.protocolError ?? new LogClientError('ConnectionClosed', 0);
      for (const p of this.pending.values()) p.reject(this.closedErr);
      this.pending.clear();
    };
    sock.on('error', fail);
    sock.on('close', fail);
  }

  static connect(host: string, port: number, timeoutMs = 2000): Promise<LogClient> {
    return new Promise((resolve, reject) => {
      const sock = net.connect({ host, port });
      const t = setTimeout(() => {
        sock.destroy();
        reject(new LogClientError('ConnectTimeout', 0));
      }, timeoutMs);
      sock.once('connect', () => {
        clearTimeout(t);
        sock.setNoDelay(true);
        resolve(new LogClient(sock));
      });
      sock.once('error', (e) => {
        clearTimeout(t);
        reject(e);
      });
    });
  }

  private call(req: Record<string, unknown>, timeoutMs: number): Promise<ClientResult> {
    if (this.closedErr) return Promise.reject(this.closedErr);
    const id = this.nextId++;
    req.id = id;
    const frame = encodeFrame(ClientRequestType.encode(req).finish());
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, deadline: Date.now() + timeoutMs });
      this.sock.write(frame);
    });
  }

  private sweep(): void {
    if (this.pending.size === 0) return;
    const now = Date.now();
    for (const [id, p] of this.pending) {
      if (p.deadline > now) continue;
      this.pending.delete(id);
      p.reject(new LogClientError('Timeout', 0));
    }
  }

  append(data: Uint8Array[], timeoutMs = 10_000): Promise<ClientResult> {
    return this.call({ op: ClientOp.Append, data }, timeoutMs);
  }

  status(timeoutMs = 2000): Promise<ClientResult> {
    return this.call({ op: ClientOp.Status }, timeoutMs);
  }

  read(fromIndex: number, limit: number, timeoutMs = 5000): Promise<ClientResult> {
    return this.call({ op: ClientOp.Read, fromIndex, limit }, timeoutMs);
  }

  readIndex(timeoutMs = 5000): Promise<ClientResult> {
    return this.call({ op: ClientOp.ReadIndex }, timeoutMs);
  }

  transfer(target: number, timeoutMs = 10_000): Promise<ClientResult> {
    return this.call({ op: ClientOp.Transfer, target }, timeoutMs);
  }

  close(): void {
    this.sock.destroy();
  }
}
