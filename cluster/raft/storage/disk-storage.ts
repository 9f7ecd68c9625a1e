// Durable Raft storage: a segmented WAL (entries, hard state, conf state, snapshot markers) plus
// snapshot files. Reads are served from memory (everything after the last snapshot is cached), so
// the core's Storage calls are synchronous and cheap; writes resolve once fsynced.
//
// Overwrite on conflict (Raft §5.3): appending entries starting at i ≤ lastIndex drops the in-memory
// suffix from i and appends; on disk the new records simply follow, and replay applies the same rule
// (an entry record at index i truncates whatever was at ≥ i), as etcd's WAL does.
import path from 'node:path';
import { entrySize, type InitialState, type Storage } from '../storage.js';
import type { ConfState, Entry, HardState, Snapshot } from '../types.js';
import { CompactedError, LogCorruptionError, UnavailableError } from './errors.js';
import {
  RecordKind,
  encodeConfStateRecord,
  encodeEntryRecord,
  encodeHardStateRecord,
  encodeSnapshotMarkerRecord,
} from './record-codec.js';
import { SegmentedWal } from './segmented-wal.js';
import { SnapshotStore } from './snapshot-file.js';

export interface DiskStorageOptions {
  segmentBytes?: number;
  fsync?: boolean;
  /** WAL zero-fill step (default 1 MiB; 0 = plain appends). */
  preallocBytes?: number;
}

export interface RecoveryReport {
  tornTailTruncated: { file: string; offset: number } | undefined;
  entries: number;
  snapshotIndex: number;
}

const EMPTY_CONF: ConfState = { voters: [], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };

export class DiskStorage implements Storage {
  private hardState: HardState = { term: 0, vote: 0, commit: 0 };
  private confState: ConfState = EMPTY_CONF;
  private snap: Snapshot = { metadata: { index: 0, term: 0, conf: EMPTY_CONF }, data: new Uint8Array(0) };
  /** ents[k].index === snap.metadata.index + 1 + k */
  private ents: Entry[] = [];
  /** A commit-only hard state change not yet written (see save). */
  private hardStateDirty = false;
  recovery: RecoveryReport = { tornTailTruncated: undefined, entries: 0, snapshotIndex: 0 };

  private constructor(
    private readonly wal: SegmentedWal,
    private readonly snapshots: SnapshotStore,
  ) {
    wal.headerRecords = () => [encodeHardStateRecord(this.hardState), encodeConfStateRecord(this.confState)];
  }

  static async open(dir: string, opts: DiskStorageOptions = {}): Promise<DiskStorage> {
    const wal = new SegmentedWal({ dir: path.join(dir, 'wal'), segmentBytes: opts.segmentBytes, fsync: opts.fsync, preallocBytes: opts.preallocBytes });
    const snaps = new SnapshotStore(path.join(dir, 'snap'), opts.fsync ?? true);
    const s = new DiskStorage(wal, snaps);
    const snap = await snaps.loadLatest();
    if (snap) {
      s.snap = snap;
      s.confState = snap.metadata.conf;
    }
    const { records, tornTailTruncated } = await wal.open();
    for (const r of records) {
      switch (r.kind) {
        case RecordKind.Entry:
          s.replayEntry(r.entry, wal.dir);
          break;
        case RecordKind.HardState:
          s.hardState = r.hardState;
          break;
        case RecordKind.ConfState:
          s.confState = r.confState;
          break;
        case RecordKind.SnapshotMarker:
          if (r.index > s.snap.metadata.index) {
            throw new LogCorruptionError(wal.dir, 0, `snapshot marker at index ${r.index} but no snapshot file that new`);
          }
          // Everything the WAL held before an installed snapshot is superseded by it.
          s.ents = [];
          break;
      }
    }
    if (snap && s.hardState.commit < snap.metadata.index) s.hardState = { ...s.hardState, commit: snap.metadata.index };
    s.recovery = { tornTailTruncated, entries: s.ents.length, snapshotIndex: s.snap.metadata.index };
    return s;
  }

  private replayEntry(e: Entry, where: string): void {
    const offset = this.snap.metadata.index;
    if (e.index <= offset) return;
    const last = this.lastIndex();
    if (e.index > last + 1) {
      throw new LogCorruptionError(where, 0, `gap in log: entry ${e.index} follows ${last}`);
    }
    if (e.index <= last) this.ents.length = e.index - offset - 1;
    this.ents.push(e);
  }

  // ---- the core's Storage interface (etcd-raft shape) ----

  initialState(): InitialState {
    return { hardState: { ...this.hardState }, confState: this.confState };
  }

  /** The last saved hard state, without a copy (read-only; the shell compares it once per Ready). */
  savedHardState(): Readonly<HardState> {
    return this.hardState;
  }

  firstIndex(): number {
    return this.snap.metadata.index + 1;
  }

  lastIndex(): number {
    return this.snap.metadata.index + this.ents.length;
  }

  term(i: number): number {
    const offset = this.snap.metadata.index;
    if (i === offset) return this.snap.metadata.term;
    if (i < offset) throw new CompactedError(i, offset + 1);
    if (i > this.lastIndex()) throw new UnavailableError(i, this.lastIndex());
    return this.ents[i - offset - 1].term;
  }

  /** Entries [lo, hi), at least one, then as many as fit in maxBytes (the core's size accounting). */
  entries(lo: number, hi: number, maxBytes = Number.MAX_SAFE_INTEGER): Entry[] {
    const offset = this.snap.metadata.index;
    if (lo <= offset) throw new CompactedError(lo, offset + 1);
    if (hi > this.lastIndex() + 1) throw new UnavailableError(hi - 1, this.lastIndex());
    if (lo >= hi) return [];
    // Same accounting as the core's limitSize, without copying a long range first.
    const out: Entry[] = [this.ents[lo - offset - 1]];
    let size = entrySize(out[0]);
    for (let i = lo + 1; i < hi; i++) {
      const e = this.ents[i - offset - 1];
      size += entrySize(e);
      if (size > maxBytes) break;
      out.push(e);
    }
    return out;
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  // ---- writes (the shell persists each Ready through these) ----

  /**
   * Persists a Ready's snapshot, entries and hard state with a single fsync (group commit across
   * concurrent callers). Memory is updated at once so reads reflect the append order. `sync=false`
   * (the core's Ready.mustSync) is honoured only for a hard state whose term and vote are unchanged.
   */
  async save(hardState: HardState | undefined, entries: readonly Entry[], snapshot?: Snapshot, sync = true): Promise<void> {
    const records: Buffer[] = [];
    let maxIndex = 0;
    if (snapshot && snapshot.metadata.index > this.snap.metadata.index) {
      // The snapshot file must be durable before the WAL says "everything before is superseded".
      await this.snapshots.save(snapshot);
      this.snap = snapshot;
      this.ents = [];
      this.confState = snapshot.metadata.conf;
      records.push(encodeSnapshotMarkerRecord(snapshot.metadata.index, snapshot.metadata.term));
      records.push(encodeConfStateRecord(this.confState));
      maxIndex = snapshot.metadata.index;
    }
    if (entries.length > 0) {
      this.appendInMemory(entries);
      for (const e of entries) records.push(encodeEntryRecord(e));
      maxIndex = Math.max(maxIndex, entries[entries.length - 1].index);
    }
    let mustSync = sync || entries.length > 0 || snapshot !== undefined;
    if (hardState && !sameHardState(hardState, this.hardState)) {
      // Raft §5.1: a term or vote must be durable before any message promising it goes out.
      if (hardState.term !== this.hardState.term || hardState.vote !== this.hardState.vote) mustSync = true;
      this.hardState = { ...hardState };
      this.hardStateDirty = true;
    }
    // A commit-index-only change rides the next record written (or close()): the commit index is
    // recoverable from the quorum, so losing it costs nothing, and every write skipped is a syscall
    // and a page dirtied per committed batch.
    if (records.length === 0 && !mustSync) return;
    if (this.hardStateDirty) {
      records.push(encodeHardStateRecord(this.hardState));
      this.hardStateDirty = false;
    }
    if (records.length === 0) return;
    // Entries, term/vote changes and snapshots are always synced; a commit-index-only change need
    // not be (the commit index is recoverable from the quorum), the core flags that with mustSync.
    await this.wal.write(records, maxIndex, mustSync);
    if (snapshot) await this.snapshots.prune(1);
  }

  async setConfState(cs: ConfState): Promise<void> {
    this.confState = cs;
    const records = [encodeConfStateRecord(cs)];
    if (this.hardStateDirty) {
      records.push(encodeHardStateRecord(this.hardState));
      this.hardStateDirty = false;
    }
    await this.wal.write(records, 0);
  }

  private appendInMemory(entries: readonly Entry[]): void {
    const offset = this.snap.metadata.index;
    let first = entries[0].index;
    let from = 0;
    if (first <= offset) {
      // Already covered by the snapshot: skip that prefix.
      from = offset + 1 - first;
      if (from >= entries.length) return;
      first = entries[from].index;
    }
    if (first > this.lastIndex() + 1) {
      throw new Error(`append leaves a gap: first ${first}, last ${this.lastIndex()}`);
    }
    this.ents.length = first - offset - 1; // Raft §5.3: drop the conflicting suffix
    for (let k = from; k < entries.length; k++) this.ents.push(entries[k]);
  }

  /**
   * Records a snapshot of the state machine at `index` (≤ applied) and compacts the log below it:
   * in memory, and on disk by deleting whole sealed segments below the index.
   */
  async createSnapshot(index: number, conf: ConfState, data: Uint8Array): Promise<Snapshot> {
    const offset = this.snap.metadata.index;
    if (index <= offset) return this.snap;
    if (index > this.lastIndex()) throw new UnavailableError(index, this.lastIndex());
    const snap: Snapshot = { metadata: { index, term: this.term(index), conf }, data };
    await this.snapshots.save(snap);
    this.ents = this.ents.slice(index - offset);
    this.snap = snap;
    await this.wal.compact(index);
    await this.snapshots.prune(1);
    return snap;
  }

  /** Run fdatasync on the thread pool (overlaps the flush with event-loop work; off by default). */
  setBackgroundSync(on: boolean): void {
    this.wal.backgroundSync = on;
  }

  /** Number of WAL segment files on disk (for tests and status). */
  segmentCount(): number {
    return this.wal.segmentList().length;
  }

  walStats(): { flushes: number; fsyncs: number; records: number } {
    return { ...this.wal.stats };
  }

  async close(): Promise<void> {
    if (this.hardStateDirty) {
      this.hardStateDirty = false;
      await this.wal.write([encodeHardStateRecord(this.hardState)], 0, false).catch(() => undefined);
    }
    await this.wal.close();
  }
}

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}
