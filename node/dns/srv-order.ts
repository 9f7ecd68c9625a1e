/**
 * RFC 2782 target selection, pure: the caller injects the random source so the order is
 * reproducible in tests (a seeded generator) and spread over targets in production (Math.random).
 */

/** One SRV answer (RFC 2782 "Priority Weight Port Target"). */
export interface SrvRecord {
  readonly priority: number;
  readonly weight: number;
  readonly port: number;
  readonly name: string;
}

/** A uniform random number in [0, 1), like Math.random. */
export type RandomSource = () => number;

/**
 * RFC 2782: "A Target of '.' means that the service is decidedly not available at this domain."
 * Only meaningful as the single answer.
 */
export function srvDeclinesService(records: readonly SrvRecord[]): boolean {
  return records.length === 1 && (records[0].name === '.' || records[0].name === '');
}

/**
 * Orders SRV records for trying in turn: lowest priority first; within one priority, RFC 2782's
 * weighted selection repeated until the priority is exhausted: zero-weight records are put first in
 * the running-sum list (so they are picked rarely but can be), a number in [0, sum] is drawn, and
 * the first record whose running sum reaches it is taken out next. Works in one copy of the
 * records (a next hop named by SRV orders its targets on every message).
 */
export function orderSrv(records: readonly SrvRecord[], random: RandomSource): SrvRecord[] {
  const work = records.slice();
  if (work.length <= 1) return work;
  // Stable sort: by priority, zero weights first, answer order otherwise (RFC 2782 "Weight").
  work.sort((a, b) => a.priority - b.priority || (a.weight === 0 ? 0 : 1) - (b.weight === 0 ? 0 : 1));
  let start = 0;
  while (start < work.length) {
    let end = start + 1;
    while (end < work.length && work[end].priority === work[start].priority) end++;
    // Positions start..end-1 hold the records of this priority not yet chosen; each round moves
    // the chosen one to `start` (the others keep their order) and narrows the range.
    for (; start < end - 1; start++) {
      let sum = 0;
      for (let i = start; i < end; i++) sum += work[i].weight;
      // "uniform random number between 0 and the sum (inclusive)": floor of [0, sum + 1).
      const pick = Math.min(sum, Math.floor(random() * (sum + 1)));
      let running = 0;
      let chosen = end - 1;
      for (let i = start; i < end; i++) {
        running += work[i].weight;
        if (running >= pick) {
          chosen = i;
          break;
        }
      }
      const record = work[chosen];
      for (let i = chosen; i > start; i--) work[i] = work[i - 1];
      work[start] = record;
    }
    start = end;
  }
  return work;
}
