import { ErrCompacted, ErrUnavailable } from '../storage.js';

// Typed storage failures. Corruption is never "repaired" silently: an operator must see which file
// and which byte offset went bad (a torn tail is not corruption; see segment-scanner.ts).

export class LogCorruptionError extends Error {
  override readonly name = 'LogCorruptionError';
  constructor(
    readonly file: string,
    readonly offset: number,
    readonly reason: string,
  ) {
    super(`raft log corrupt in ${file} at byte offset ${offset}: ${reason}`);
  }
}

export class SnapshotCorruptionError extends Error {
  override readonly name = 'SnapshotCorruptionError';
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`raft snapshot corrupt in ${file}: ${reason}`);
  }
}

/** The core's ErrCompacted, with the indexes that explain it. */
export class CompactedError extends ErrCompacted {
  constructor(readonly index: number, readonly firstIndex: number) {
    super();
    this.message = `index ${index} compacted (first retained index is ${firstIndex})`;
  }
}

/** The core's ErrUnavailable, with the indexes that explain it. */
export class UnavailableError extends ErrUnavailable {
  constructor(readonly index: number, readonly lastIndex: number) {
    super();
    this.message = `index ${index} unavailable (last index is ${lastIndex})`;
  }
}
