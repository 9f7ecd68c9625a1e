import type { ConfState, Entry, HardState, Snapshot } from './types.js';

/** The requested index is before the first one kept: it was compacted into a snapshot. */
export class ErrCompacted extends Error {
  override name = 'ErrCompacted';
  constructor() {
    super('requested index is unavailable due to compaction');
  }
}

/** The requested index is beyond the last one stored. */
export class ErrUnavailable extends Error {
  override name = 'ErrUnavailable';
  constructor() {
    super('requested entry at index is unavailable');
  }
}

/** A snapshot older than the one already held was offered. */
export class ErrSnapOutOfDate extends Error {
  override name = 'ErrSnapOutOfDate';
  constructor() {
    super('requested index is older than the existing snapshot');
  }
}

/** The snapshot is being produced; the leader retries later. */
export class ErrSnapshotTemporarilyUnavailable extends Error {
  override name = 'ErrSnapshotTemporarilyUnavailable';
  constructor() {
    super('snapshot is temporarily unavailable');
  }
}

export interface InitialState {
  hardState: HardState;
  confState: ConfState;
}

/**
 * What the consensus core reads from stable storage. Everything returned here has been
 * persisted (the shell writes Ready.entries/hardState/snapshot before calling advance()).
 * Index i is valid for term() when firstIndex()-1 <= i <= lastIndex() (firstIndex()-1 is the
 * snapshot's index, whose term is kept).
 */
export interface Storage {
  initialState(): InitialState;
  /**
   * Entries [lo, hi), at least one if any, then as many as fit in maxBytes.
   * Throws ErrCompacted if lo <= the snapshot index, ErrUnavailable if the range is missing.
   */
  entries(lo: number, hi: number, maxBytes: number): Entry[];
  /** Throws ErrCompacted / ErrUnavailable outside [firstIndex()-1, lastIndex()]. */
  term(i: number): number;
  firstIndex(): number;
  lastIndex(): number;
  /** The most recent snapshot; may throw ErrSnapshotTemporarilyUnavailable. */
  snapshot(): Snapshot;
}

/** Size used for flow control: payload plus a fixed per-entry overhead (index, term, type). */
export function entrySize(e: Entry): number {
  return e.data.byteLength + 16;
}

/** Keeps a prefix of entries within maxBytes, but always at least one entry. */
export function limitSize(ents: Entry[], maxBytes: number): Entry[] {
  if (ents.length === 0) return ents;
  let size = entrySize(ents[0]);
  let n = 1;
  for (; n < ents.length; n++) {
    size += entrySize(ents[n]);
    if (size > maxBytes) break;
  }
  return n === ents.length ? ents : ents.slice(0, n);
}

export function emptyConfState(): ConfState {
  return { voters: [], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
}

export function emptyHardState(): HardState {
  return { term: 0, vote: 0, commit: 0 };
}

export function isEmptyHardState(hs: HardState): boolean {
  return hs.term === 0 && hs.vote === 0 && hs.commit === 0;
}
