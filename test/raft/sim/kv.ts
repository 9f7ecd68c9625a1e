/** The replicated key-value state machine the simulated clients use. */
export interface KvCommand {
  c: number; // client id
  s: number; // client sequence number (dedup: at-most-once per client op)
  k: string;
  v: string;
}

const te = new TextEncoder();
const td = new TextDecoder();

export function encodeCommand(cmd: KvCommand): Uint8Array {
  return te.encode(JSON.stringify(cmd));
}

export function decodeCommand(b: Uint8Array): KvCommand {
  return JSON.parse(td.decode(b)) as KvCommand;
}

export class Kv {
  private data = new Map<string, string>();
  /** Highest sequence applied per client: a duplicated proposal is applied once. */
  private lastSeq = new Map<number, number>();

  apply(cmd: KvCommand): boolean {
    if ((this.lastSeq.get(cmd.c) ?? -1) >= cmd.s) return false;
    this.lastSeq.set(cmd.c, cmd.s);
    this.data.set(cmd.k, cmd.v);
    return true;
  }

  get(k: string): string | null {
    return this.data.get(k) ?? null;
  }

  snapshot(): Uint8Array {
    return te.encode(JSON.stringify([[...this.data], [...this.lastSeq]]));
  }

  static restore(b: Uint8Array): Kv {
    const kv = new Kv();
    if (b.byteLength === 0) return kv;
    const [d, s] = JSON.parse(td.decode(b)) as [[string, string][], [number, number][]];
    kv.data = new Map(d);
    kv.lastSeq = new Map(s);
    return kv;
  }
}
