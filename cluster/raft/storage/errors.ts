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

/** Raised by reads below the first retained index (etcd-raft ErrCompacted). */
export class CompactedError extends Error {
  override readonly name = 'CompactedError';
  constructor(readonly index: number, readonly firstIndex: number) {
    super(`index ${index} compacted (first retained index is ${firstIndex})`);
  }
}

/** Raised by reads above the last index (etcd-raft ErrUnavailable). */
export class UnavailableError extends Error {
  override readonly name = 'UnavailableError';
  constructor(readonly index: number, readonly lastIndex: number) {
    super(`index ${index} unavailable (last index is ${lastIndex})`);
  }
}
