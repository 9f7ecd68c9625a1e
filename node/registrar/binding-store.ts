/**
 * The one narrow seam between registrar logic and registrar state. Today an in-memory map; the
 * event-log issue implements the same interface by proposing each BindingChange as a Raft event
 * and applying committed ones — `apply` resolves once the changes are durable and visible, which
 * is when the 200 OK may be sent (DESIGN principle 4).
 */
import { compareForFork, indexOfKey, type Binding, type BindingChange, type BindingEvent, type BindingListener } from './binding.js';
import { tempGruuKey } from './gruu.js';

/** The AoR state a decision was computed from (DESIGN principle 3: optimistic concurrency). */
export interface ExpectedVersion {
  readonly aor: string;
  readonly version: number;
}

/** The AoR changed between lookup and apply (another node's REGISTER won); re-decide and retry. */
export class StaleBindingsError extends Error {
  constructor(
    readonly aor: string,
    readonly expected: number,
    readonly actual: number,
  ) {
    super(`bindings of ${aor} are at version ${actual}, decision was made on ${expected}`);
    this.name = 'StaleBindingsError';
  }
}

export interface BindingStore {
  /**
   * Commits the changes atomically (RFC 3261 §10.3: a REGISTER is processed completely or not at
   * all). With `expect`, rejects with StaleBindingsError unless the AoR is still at that version.
   */
  apply(changes: readonly BindingChange[], now: number, expect?: ExpectedVersion): Promise<void>;
  /** Monotonic per-AoR change counter (0 for an AoR without bindings). */
  version(aor: string): number;
  /** Bindings of a canonical AoR in fork order (q desc, then most recent); `now` hides expired ones. */
  lookup(aor: string, now?: number): Binding[];
  /** Every AoR with its bindings (admin listing, snapshots). */
  all(): Iterable<[string, Binding[]]>;
  /** Number of bindings (the `siphon_registrations_active` gauge). */
  count(): number;
  /** The binding that handed out this temporary GRUU (RFC 5627), if it still exists. */
  findByTempGruu(gruu: string): Binding | undefined;
  /** Bindings whose REGISTER arrived on this stream connection (flow-failure deregistration). */
  findByConnection(connectionId: string): Binding[];
  /** The expire commands due at `now` (bindings whose lifetime ended); computing them changes nothing. */
  expiring(now: number): BindingChange[];
  /** Change hook fired after insert/refresh/delete/expire is applied; returns an unsubscribe. */
  onChange(listener: BindingListener): () => void;
}

/** Pure full scan: the expire commands for every binding whose lifetime ended at `now` (for stores without an expiry index). */
export function expiredChanges(store: Pick<BindingStore, 'all'>, now: number): BindingChange[] {
  const out: BindingChange[] = [];
  for (const [aor, bindings] of store.all()) {
    for (const b of bindings) if (b.expiresAt <= now) out.push({ op: 'expire', aor, key: b.key });
  }
  return out;
}

/** An AoR's bindings and its change counter (ExpectedVersion), which lives exactly as long as they do. */
interface AorBindings {
  readonly list: Binding[];
  version: number;
}

export class MemoryBindingStore implements BindingStore {
  /**
   * AoR → its bindings and version. A short array, not a Map per AoR: most AoRs have one or two
   * bindings, and a Map's hash table is several hundred bytes that every binding would keep on the
   * heap; the version rides along instead of a second map looked up several times per REGISTER.
   */
  private readonly byAor = new Map<string, AorBindings>();
  private readonly tempGruus = new Map<string, { aor: string; key: string }>();
  private readonly listeners: BindingListener[] = [];
  /** connectionId → the bindings registered over it. */
  private readonly byConnection = new Map<string, Set<Binding>>();
  /**
   * Expiry index: unix second of expiresAt → the bindings ending then (the objects themselves, no
   * "aor\0key" string per binding: a binding is replaced, never changed, and unindexed when it is).
   * A sweep visits only the buckets that are due, so its cost follows the number of expiring
   * bindings, not the registered population.
   */
  private readonly expiryBuckets = new Map<number, Set<Binding>>();
  private expiryCursor = Number.POSITIVE_INFINITY;
  private total = 0;

  async apply(changes: readonly BindingChange[], _now: number, expect?: ExpectedVersion): Promise<void> {
    if (expect !== undefined) {
      const actual = this.version(expect.aor);
      if (actual !== expect.version) throw new StaleBindingsError(expect.aor, expect.version, actual);
    }
    this.applySync(changes);
  }

  // An AoR left without bindings forgets its version (its entry goes): a decision made on "empty"
  // stays valid against "empty again", so the reset cannot admit a wrong outcome.
  version(aor: string): number {
    return this.byAor.get(aor)?.version ?? 0;
  }

  /** Synchronous apply for projections replaying the log. */
  applySync(changes: readonly BindingChange[]): void {
    const events: BindingEvent[] = [];
    for (const ch of changes) {
      if (ch.op === 'insert' || ch.op === 'refresh') {
        const b = ch.binding;
        let entry = this.byAor.get(b.aor);
        if (entry === undefined) {
          entry = { list: [], version: 0 };
          this.byAor.set(b.aor, entry);
        }
        const list = entry.list;
        const at = indexOfKey(list, b.key);
        const prev = at < 0 ? undefined : list[at];
        if (prev === undefined) {
          this.total++;
          list.push(b);
        } else {
          this.unindex(prev);
          list[at] = b;
        }
        this.index(b);
        // A replayed insert for an existing key is a refresh in effect; report what happened.
        events.push({ type: prev === undefined ? 'insert' : 'refresh', aor: b.aor, binding: b });
        entry.version++;
      } else {
        const entry = this.byAor.get(ch.aor);
        const at = entry === undefined ? -1 : indexOfKey(entry.list, ch.key);
        if (entry === undefined || at < 0) continue;
        const prev = entry.list[at];
        entry.list.splice(at, 1);
        entry.version++;
        if (entry.list.length === 0) this.byAor.delete(ch.aor);
        this.total--;
        this.unindex(prev);
        events.push(
          ch.op === 'expire'
            ? { type: 'expire', aor: ch.aor, binding: prev }
            : { type: 'delete', aor: ch.aor, binding: prev, cause: ch.cause },
        );
      }
    }
    for (const e of events) {
      for (const l of this.listeners) {
        // A faulty user hook must not break the registrar or the other listeners.
        try {
          l(e);
        } catch {
          /* listener errors are the listener's problem; state is already committed */
        }
      }
    }
  }

  private index(b: Binding): void {
    for (const g of b.tempGruus) this.tempGruus.set(tempGruuKey(g), { aor: b.aor, key: b.key });
    const second = Math.floor(b.expiresAt / 1000);
    let bucket = this.expiryBuckets.get(second);
    if (bucket === undefined) {
      bucket = new Set();
      this.expiryBuckets.set(second, bucket);
    }
    bucket.add(b);
    if (second < this.expiryCursor) this.expiryCursor = second;
    const conn = b.flow?.connectionId;
    if (conn !== undefined && conn !== null) {
      let set = this.byConnection.get(conn);
      if (set === undefined) {
        set = new Set();
        this.byConnection.set(conn, set);
      }
      set.add(b);
    }
  }

  private unindex(b: Binding): void {
    for (const g of b.tempGruus) this.tempGruus.delete(tempGruuKey(g));
    const second = Math.floor(b.expiresAt / 1000);
    const bucket = this.expiryBuckets.get(second);
    if (bucket !== undefined) {
      bucket.delete(b);
      if (bucket.size === 0) this.expiryBuckets.delete(second);
    }
    const conn = b.flow?.connectionId;
    if (conn !== undefined && conn !== null) {
      const set = this.byConnection.get(conn);
      set?.delete(b);
      if (set !== undefined && set.size === 0) this.byConnection.delete(conn);
    }
  }

  expiring(now: number): BindingChange[] {
    const nowSecond = Math.floor(now / 1000);
    while (this.expiryCursor <= nowSecond && !this.expiryBuckets.has(this.expiryCursor)) this.expiryCursor++;
    const out: BindingChange[] = [];
    for (let second = this.expiryCursor; second <= nowSecond; second++) {
      const bucket = this.expiryBuckets.get(second);
      if (bucket === undefined) continue;
      for (const b of bucket) {
        // The current second's bucket may hold bindings that end later within that second.
        if (b.expiresAt <= now && this.find(b.aor, b.key) === b) out.push({ op: 'expire', aor: b.aor, key: b.key });
      }
    }
    return out;
  }

  findByConnection(connectionId: string): Binding[] {
    const set = this.byConnection.get(connectionId);
    if (set === undefined) return [];
    const out: Binding[] = [];
    for (const b of set) if (this.find(b.aor, b.key) === b) out.push(b);
    return out;
  }

  lookup(aor: string, now?: number): Binding[] {
    const stored = this.byAor.get(aor)?.list;
    if (stored === undefined) return [];
    if (stored.length === 1) {
      const only = stored[0];
      return now === undefined || only.expiresAt > now ? [only] : [];
    }
    const list = now === undefined ? stored.slice() : stored.filter((b) => b.expiresAt > now);
    return list.sort(compareForFork);
  }

  *all(): Iterable<[string, Binding[]]> {
    for (const [aor, { list }] of this.byAor) yield [aor, list.slice().sort(compareForFork)];
  }

  count(): number {
    return this.total;
  }

  findByTempGruu(gruu: string): Binding | undefined {
    const ref = this.tempGruus.get(tempGruuKey(gruu));
    return ref === undefined ? undefined : this.find(ref.aor, ref.key);
  }

  private find(aor: string, key: string): Binding | undefined {
    const list = this.byAor.get(aor)?.list;
    const at = list === undefined ? -1 : indexOfKey(list, key);
    return list === undefined || at < 0 ? undefined : list[at];
  }

  onChange(listener: BindingListener): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }
}
