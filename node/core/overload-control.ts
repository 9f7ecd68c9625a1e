/**
 * Overload control: how much of the new out-of-dialog work to turn away (503 + Retry-After,
 * RFC 3261 §21.5.4) while the node keeps a standing queue. Pure: fed delay samples and the clock.
 *
 * The signal is queueing delay (how long a datagram waited in the socket and the event loop before
 * the node read it), not CPU. A node can run its core at 100 % and keep up (measured: 3,000 calls/s
 * clean with event-loop utilisation 1.000 for seconds); what turns into retransmissions and
 * collapse is the wait, once it nears T1 (500 ms): every retransmission is more work for a node
 * already behind (measured without shedding: 4,000 calls/s offered, 1,600/s completed, 137,000
 * live transactions, 820 MB RSS, p99 8 s).
 *
 * CoDel's observation (RFC 8289): the *minimum* delay over an interval separates a standing queue
 * from a burst that drains on its own. The minimum is taken per queue (each UDP socket, the event
 * loop itself) and the worst queue decides:
 * - over the target and not draining (under 0.9 × the delay of the decision before): admit a
 *   smaller share, multiplied by target/delay (at least 0.5, at most 0.9: far over target cuts
 *   hard, just over trims); over the target but draining: hold, the last cut is working;
 * - under half the target: admit 2 % more (of all new requests): recovery is slow on purpose (AIMD);
 * - in between: hold.
 * Only fresh evidence counts: after a change, probes sent before it are ignored, since their delay
 * says nothing of the change yet (the queue answers one delay later). Without that the controller
 * keeps cutting while the queue it already cut drains, then swings to shedding everything
 * (measured: shed share cycling 0 → 1 → 0, 1,420 of 4,000 offered calls/s completed, where the node
 * completes ~2,700). A queue's oldest fresh probe still in flight counts with its age once that
 * exceeds twice the target, so a queue too long for any probe to return, or a stall, still
 * registers. A probe lost (a later one arrived first: the socket overflowed) cuts by half at the
 * next decision, draining or not: a pause such as a major GC overflows the socket and drains again
 * before any interval's minimum delay shows it, and the retransmissions those drops cause are
 * what collapse a node (measured: 123,000 datagrams dropped at 80 % CPU, p50 1.2 s). The shell
 * also reports the kernel's own drop count for each listener as a loss (socket-drops.ts).
 *
 * Measured on this box (2 cores, SIPp on the same box, warm node), 10 s at 4,000 calls/s offered,
 * target 250 ms (`bench:sip` overload_flood): p99 1.5 s against 8.3 s without, 21,000 datagrams
 * dropped against 123,000, 351 MB RSS against 812; calls completed 1,375/s against 1,902/s there,
 * 1,950/s against 1,620/s in a run by hand: it bounds latency and memory, not reliably goodput.
 * At the rates the node serves clean
 * (2,750 calls/s, 12,000 REGISTER/s) it shed nothing; with a 100 ms target it shed 16 % of the
 * calls and 87 % of the REGISTERs there (a REGISTER refused costs nearly what one served does, so
 * shedding them relieves little). Off by default (`overload.enabled`): a 503 fails a call a
 * retransmission would have saved, and on a box whose CPU other work takes, drops can come from
 * starvation rather than load.
 */

export interface OverloadOptions {
  /** Standing queueing delay above which new requests are shed. */
  readonly targetDelayMs: number;
  /** Shortest time between two decisions. */
  readonly intervalMs: number;
}

/** Admission share added per decision under half the target (slow: AIMD, as TCP recovers from loss). */
const ADMIT_STEP = 0.02;
/** Bounds of the multiplicative cut over the target. */
const CUT_MIN = 0.5;
const CUT_MAX = 0.9;
/** A delay under this share of the previous decision's means the queue is draining. */
const DRAINING = 0.9;
/** A lost probe counts as a delay of this many targets (a cut by half). */
const LOSS_DELAY_TARGETS = 2;
/** A probe still in flight decides only once older than this many targets (see tick). */
const IN_FLIGHT_EVIDENCE = 2;
/** Below this share, admit nothing (the cut is multiplicative and would never reach 0). */
const ADMIT_FLOOR = 0.05;

/** What a decision changed, for the shell to log and export. */
export interface OverloadTransition {
  /** Shed fraction before and after, 0..1. */
  readonly from: number;
  readonly to: number;
  /** The standing delay (ms) that decided it. */
  readonly standingDelayMs: number;
}

/** A queue's oldest probe in flight, sent at or after `since`: its age (ms), 0 when none. */
export type InFlightAge = (queue: number, since: number) => number;

export class OverloadControl {
  /** Per queue: the minimum fresh delay since the last decision (+Infinity: none yet). */
  private readonly mins: number[];
  private nextDecision: number;
  /** Probes sent before this instant say nothing about the current admission share. */
  private evidenceSince: number;
  private admitShare = 1;
  /** Error-diffusion credit: sheds exactly the shed share of admissions, spread evenly, no randomness. */
  private credit = 0;
  private lastDelay: number | null = null;
  private freshLoss = false;

  constructor(
    private readonly opts: OverloadOptions,
    queues: number,
    now: number,
  ) {
    this.mins = new Array<number>(queues).fill(Number.POSITIVE_INFINITY);
    this.nextDecision = now + opts.intervalMs;
    this.evidenceSince = now;
  }

  /** Current share of new requests turned away, 0..1. */
  get shedFraction(): number {
    return 1 - this.admitShare;
  }

  /** The standing delay (ms) of the last decision: its worst queue's minimum; null before any. */
  get standingDelayMs(): number | null {
    return this.lastDelay;
  }

  /** One queueing-delay measurement (ms) of queue `queue` (0-based) for a probe sent at `sentAt`. */
  sample(queue: number, delayMs: number, sentAt: number): void {
    if (sentAt >= this.evidenceSince && delayMs < this.mins[queue]) this.mins[queue] = delayMs;
  }

  /** A probe sent at `sentAt` never arrived (a later one did): its queue overflowed and dropped it. */
  lost(sentAt: number): void {
    if (sentAt >= this.evidenceSince) this.freshLoss = true;
  }

  /**
   * Decides once the interval has passed and there is fresh evidence; until then, keeps collecting.
   * Returns the change of the shed fraction, or null when nothing changed.
   */
  tick(now: number, inFlightAge: InFlightAge = () => 0): OverloadTransition | null {
    if (now < this.nextDecision) return null;
    const target = this.opts.targetDelayMs;
    let standing = Number.NEGATIVE_INFINITY;
    for (let q = 0; q < this.mins.length; q++) {
      let delay = this.mins[q];
      // A fresh probe still in flight has waited at least its age, and says so of the queue *now*,
      // whatever faster probes came back earlier in the interval (a stall, a pause). The delay it
      // will report may be far longer, so its age alone decides only when that already means a deep
      // cut; otherwise wait for the true figure (an age just past the target would trim 10 % per
      // interval while a long queue keeps growing).
      const age = inFlightAge(q, this.evidenceSince);
      if (age > IN_FLIGHT_EVIDENCE * target && (delay === Number.POSITIVE_INFINITY || age > delay)) delay = age;
      if (delay !== Number.POSITIVE_INFINITY && delay > standing) standing = delay;
    }
    if (this.freshLoss) {
      // Datagrams are being dropped: the strongest evidence there is, whatever the delays say (a
      // pause, e.g. a major GC, overflows the socket and drains before any interval's minimum shows it).
      this.freshLoss = false;
      return this.decide(now, Math.max(standing, LOSS_DELAY_TARGETS * target), true);
    }
    if (standing === Number.NEGATIVE_INFINITY) return null; // nothing fresh yet: decide later
    return this.decide(now, standing, false);
  }

  private decide(now: number, standing: number, loss: boolean): OverloadTransition | null {
    const target = this.opts.targetDelayMs;
    const previous = this.lastDelay;
    this.lastDelay = standing;
    this.mins.fill(Number.POSITIVE_INFINITY);
    this.freshLoss = false;
    this.nextDecision = now + this.opts.intervalMs;
    const before = this.admitShare;
    // Over target but already draining since the last decision: the last cut is working, hold.
    const draining = !loss && previous !== null && standing < DRAINING * previous;
    if (standing > target && !draining) {
      const cut = Math.min(CUT_MAX, Math.max(CUT_MIN, target / standing));
      this.admitShare = this.admitShare * cut < ADMIT_FLOOR ? 0 : this.admitShare * cut;
    } else if (standing < target / 2 && this.admitShare < 1) {
      this.admitShare = Math.min(1, this.admitShare + ADMIT_STEP);
      // Float steps must land on 1 exactly, or shedding never fully ends.
      if (this.admitShare > 1 - 1e-9) this.admitShare = 1;
    }
    if (this.admitShare === before) return null;
    if (this.admitShare === 1) this.credit = 0;
    this.evidenceSince = now;
    return { from: 1 - before, to: 1 - this.admitShare, standingDelayMs: standing };
  }

  /** Whether one new request may be served (false: answer it 503). */
  admit(): boolean {
    if (this.admitShare === 1) return true;
    this.credit += 1 - this.admitShare;
    if (this.credit >= 1 - 1e-9) {
      this.credit -= 1;
      return false;
    }
    return true;
  }
}
