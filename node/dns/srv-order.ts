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
 * the first record whose running sum reaches it is taken out next.
 */
export function orderSrv(records: readonly SrvRecord[], random: RandomSource): SrvRecord[] {
  if (records.length <= 1) return records.slice();
  const byPriority = [...records].sort((a, b) => a.priority - b.priority);
  const out: SrvRecord[] = [];
  let start = 0;
  while (start < byPriority.length) {
    let end = start + 1;
    while (end < byPriority.length && byPriority[end].priority === byPriority[start].priority) end++;
    const group = byPriority.slice(start, end);
    // Zero weights first, keeping answer order otherwise (RFC 2782 "Weight" paragraph).
    const pending = [...group.filter((r) => r.weight === 0), ...group.filter((r) => r.weight !== 0)];
    while (pending.length > 0) {
      let sum = 0;
      for (const r of pending) sum += r.weight;
      // "uniform random number between 0 and the sum (inclusive)": floor of [0, sum + 1).
      const pick = Math.min(sum, Math.floor(random() * (sum + 1)));
      let running = 0;
      let chosen = pending.length - 1;
      for (let i = 0; i < pending.length; i++) {
        running += pending[i].weight;
        if (running >= pick) {
          chosen = i;
          break;
        }
      }
      out.push(pending[chosen]);
      pending.splice(chosen, 1);
    }
    start = end;
  }
  return out;
}
