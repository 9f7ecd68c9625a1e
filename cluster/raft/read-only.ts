import type { Message, NodeId } from './types.js';

/** A ReadIndex request waiting for a quorum to confirm leadership (Raft thesis §6.4). */
export interface ReadIndexStatus {
  req: Message;
  index: number;
  acks: Map<NodeId, boolean>;
}

export function ctxKey(ctx: Uint8Array | undefined): string {
  return ctx ? Buffer.from(ctx.buffer, ctx.byteOffset, ctx.byteLength).toString('base64') : '';
}

/**
 * Pending ReadIndex requests in arrival order. A heartbeat round carries the latest request's
 * context; a quorum of acks for it confirms every earlier request too.
 */
export class ReadOnly {
  private readonly pending = new Map<string, ReadIndexStatus>();
  private queue: string[] = [];

  addRequest(index: number, m: Message): void {
    const k = ctxKey(m.context);
    if (this.pending.has(k)) return;
    this.pending.set(k, { req: m, index, acks: new Map() });
    this.queue.push(k);
  }

  /** Records an ack; returns the acks so far, or undefined for an unknown context. */
  recvAck(id: NodeId, ctx: Uint8Array | undefined): Map<NodeId, boolean> | undefined {
    const rs = this.pending.get(ctxKey(ctx));
    if (!rs) return undefined;
    rs.acks.set(id, true);
    return rs.acks;
  }

  /** Dequeues every request up to and including the one with this context. */
  advance(ctx: Uint8Array | undefined): ReadIndexStatus[] {
    const k = ctxKey(ctx);
    const i = this.queue.indexOf(k);
    if (i < 0) return [];
    const done = this.queue.slice(0, i + 1);
    this.queue = this.queue.slice(i + 1);
    const out: ReadIndexStatus[] = [];
    for (const key of done) {
      const rs = this.pending.get(key);
      if (rs) out.push(rs);
      this.pending.delete(key);
    }
    return out;
  }

  lastPendingRequestCtx(): Uint8Array | undefined {
    if (this.queue.length === 0) return undefined;
    return this.pending.get(this.queue[this.queue.length - 1])?.req.context;
  }

  get size(): number {
    return this.queue.length;
  }
}
