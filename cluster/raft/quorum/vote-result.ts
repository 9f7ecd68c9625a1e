/** Outcome of counting votes (or acks) against a configuration. */
export enum VoteResult {
  Pending = 'pending', // not decided yet: enough voters have not answered
  Lost = 'lost', // a quorum can no longer be reached
  Won = 'won', // a quorum said yes
}
