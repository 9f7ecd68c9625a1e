import {
  ErrCompacted,
  ErrSnapOutOfDate,
  ErrUnavailable,
  emptyConfState,
  emptyHardState,
  limitSize,
  type InitialState,
  type Storage,
} from './storage.js';
import { EntryType, type ConfState, type Entry, type HardState, type Snapshot } from './types.js';

const cloneConf = (c: ConfState): ConfState => ({
  voters: [...c.voters],
  learners: [...c.learners],
  votersOutgoing: [...c.votersOutgoing],
  learnersNext: [...c.learnersNext],
  autoLeave: c.autoLeave,
});

/**
 * Storage held in memory (tests, simulation, and the reference for disk-backed storages).
 * ents[0] is a dummy entry carrying the snapshot's index and term.
 */
export class MemoryStorage implements Storage {
  private hardState: HardState = emptyHardState();
  private snap: Snapshot;
  private ents: Entry[];

  /** `conf`: the membership of a brand-new cluster, held by an empty snapshot at index 0. */
  constructor(conf: Partial<ConfState> = {}) {
    this.snap = {
      metadata: { index: 0, term: 0, conf: { ...emptyConfState(), ...cloneConf({ ...emptyConfState(), ...conf }) } },
      data: new Uint8Array(0),
    };
    this.ents = [{ index: 0, term: 0, type: EntryType.Normal, data: new Uint8Array(0) }];
  }

  initialState(): InitialState {
    return { hardState: { ...this.hardState }, confState: cloneConf(this.snap.metadata.conf) };
  }

  setHardState(hs: HardState): void {
    this.hardState = { ...hs };
  }

  get hard(): HardState {
    return { ...this.hardState };
  }

  private get offset(): number {
    return this.ents[0].index;
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    if (lo <= this.offset) throw new ErrCompacted();
    if (hi > this.lastIndex() + 1) throw new ErrUnavailable();
    if (this.ents.length === 1) throw new ErrUnavailable();
    return limitSize(this.ents.slice(lo - this.offset, hi - this.offset), maxBytes);
  }

  term(i: number): number {
    if (i < this.offset) throw new ErrCompacted();
    if (i - this.offset >= this.ents.length) throw new ErrUnavailable();
    return this.ents[i - this.offset].term;
  }

  firstIndex(): number {
    return this.offset + 1;
  }

  lastIndex(): number {
    return this.offset + this.ents.length - 1;
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  /** Replaces the whole content with a snapshot received from the leader. */
  applySnapshot(s: Snapshot): void {
    if (s.metadata.index <= this.snap.metadata.index && this.snap.metadata.index > 0) throw new ErrSnapOutOfDate();
    this.snap = { metadata: { ...s.metadata, conf: cloneConf(s.metadata.conf) }, data: s.data };
    this.ents = [{ index: s.metadata.index, term: s.metadata.term, type: EntryType.Normal, data: new Uint8Array(0) }];
  }

  /** Records a snapshot of the applied state at index i (the caller then compacts). */
  createSnapshot(i: number, conf: ConfState, data: Uint8Array): Snapshot {
    if (i <= this.snap.metadata.index) throw new ErrSnapOutOfDate();
    if (i > this.lastIndex()) throw new Error(`snapshot ${i} is out of bound lastindex(${this.lastIndex()})`);
    this.snap = { metadata: { index: i, term: this.ents[i - this.offset].term, conf: cloneConf(conf) }, data };
    return this.snap;
  }

  /** Discards entries up to and including compactIndex (Raft §7 log compaction). */
  compact(compactIndex: number): void {
    if (compactIndex <= this.offset) throw new ErrCompacted();
    if (compactIndex > this.lastIndex()) throw new Error(`compact ${compactIndex} is out of bound lastindex(${this.lastIndex()})`);
    const i = compactIndex - this.offset;
    const dummy: Entry = { index: this.ents[i].index, term: this.ents[i].term, type: EntryType.Normal, data: new Uint8Array(0) };
    this.ents = [dummy, ...this.ents.slice(i + 1)];
  }

  /** Appends entries, replacing any conflicting suffix (they come from Ready.entries). */
  append(entries: Entry[]): void {
    if (entries.length === 0) return;
    const first = this.firstIndex();
    const last = entries[0].index + entries.length - 1;
    if (last < first) return; // everything is already compacted
    if (first > entries[0].index) entries = entries.slice(first - entries[0].index);
    const offset = entries[0].index - this.offset;
    if (this.ents.length > offset) {
      this.ents = this.ents.slice(0, offset).concat(entries);
    } else if (this.ents.length === offset) {
      for (const e of entries) this.ents.push(e);
    } else {
      throw new Error(`missing log entry [last: ${this.lastIndex()}, append at: ${entries[0].index}]`);
    }
  }
}
