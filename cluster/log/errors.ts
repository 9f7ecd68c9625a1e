// Errors a caller of the replicated log can act on.

/** This node cannot take the request; `leader` (0 = unknown) is where to retry. */
export class NotLeaderError extends Error {
  override readonly name = 'NotLeader';
  constructor(readonly leader: number) {
    super(leader ? `not the leader; leader is node ${leader}` : 'not the leader; no leader known');
  }
}

/** The request did not complete in time. For append the outcome is unknown: it may still commit. */
export class LogTimeoutError extends Error {
  override readonly name = 'Timeout';
  constructor(what: string, ms: number) {
    super(`${what} did not complete within ${ms} ms`);
  }
}

/** The log service was stopped while the request was pending. */
export class LogStoppedError extends Error {
  override readonly name = 'Stopped';
  constructor() {
    super('replicated log stopped');
  }
}

/**
 * The append was not committed and never will be: the term it was proposed in ended and a later
 * leader committed past it (the leader it was sent to failed or was cut off). Unlike a timeout the
 * outcome is known, so retrying cannot duplicate it; `leader` (0 = unknown) is where to retry.
 */
export class LeaderChangedError extends Error {
  override readonly name = 'LeaderChanged';
  constructor(
    readonly leader: number,
    readonly term: number,
  ) {
    super(`not committed: the term ${term} it was proposed in ended${leader ? `; leader is node ${leader}` : ''}`);
  }
}
