/**
 * The I/O shell of overload control (overload-control.ts): a short periodic timer measures the
 * event loop's own lateness and sends a queue-delay probe through every UDP listener; every
 * interval the control re-decides the share of new requests to shed. The dispatcher asks `admit`
 * for each request that would create a server transaction.
 *
 * Never shed (RFC 3261 and operator practice): anything that finishes work already admitted —
 * responses, ACK, CANCEL, in-dialog requests (To tag: BYE frees a call, re-INVITE/UPDATE keep one)
 * — and emergency requests (Request-URI `urn:service:sos…`, RFC 5031).
 */
import type { Logger } from '../log/index.js';
import type { NodeMetrics } from '../metrics/index.js';
import type { RequestView } from '../transaction/index.js';
import { OverloadControl, type OverloadOptions, type OverloadTransition } from './overload-control.js';

/** A listener whose queueing delay is probed (UdpTransport). */
export interface ProbedQueue {
  sendProbe(): void;
  /** Age (ms) of the oldest probe sent at or after `since` and not yet read; 0 when none. */
  probeInFlightMs(since: number): number;
  /** The kernel's drop count for this listener's socket (null: unknown). */
  socketDrops(): Promise<number | null>;
}

/** Probes per interval: enough samples for a minimum to mean something, few enough to cost nothing. */
const PROBES_PER_INTERVAL = 10;

const SHED_METHODS = new Set(['INVITE', 'REGISTER', 'OPTIONS', 'SUBSCRIBE', 'NOTIFY', 'PUBLISH', 'MESSAGE', 'REFER', 'INFO', 'UPDATE', 'PRACK', 'BYE']);

/** Requests overload control never turns away (see the module comment). */
export function exemptFromShedding(request: RequestView): boolean {
  if (request.method === 'CANCEL' || request.method === 'ACK') return true;
  if (request.toTag !== undefined) return true;
  const uri = request.uri;
  return uri.length >= 15 && uri.slice(0, 15).toLowerCase() === 'urn:service:sos';
}

export class OverloadMonitor {
  readonly control: OverloadControl;
  private timer: NodeJS.Timeout | null = null;
  private lastTick = 0;
  private readonly period: number;
  private queues: readonly ProbedQueue[] = [];
  private shedSince = 0;
  private ticks = 0;
  /** Each listener's drop count at the last look (null: unreadable then). */
  private lastDrops: (number | null)[] = [];
  private readingDrops = false;

  /** `udpListeners`: how many probed queues will be attached (queue 0 is the event loop). */
  constructor(
    readonly settings: OverloadOptions,
    udpListeners: number,
    private readonly metrics: NodeMetrics,
    private readonly log: Logger,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.control = new OverloadControl(settings, 1 + udpListeners, now());
    this.period = Math.max(1, Math.floor(settings.intervalMs / PROBES_PER_INTERVAL));
  }

  /** The delay sink for UDP listener `index` (0-based, in the order of `start`'s queues). */
  delaySink(index: number): (delayMs: number, sentAt: number) => void {
    return (ms, sentAt) => this.control.sample(index + 1, ms, sentAt);
  }

  /** Where UDP listeners report a probe their socket dropped. */
  readonly lossSink = (sentAt: number): void => this.control.lost(sentAt);

  /**
   * `queues`: listeners whose sockets were bound just now. A new socket has dropped nothing, so
   * their drop counts start from 0: a burst dropped before the first look (a flood that lands as
   * the node comes up, or while a loaded box delays that look) is a loss, not the baseline.
   */
  start(queues: readonly ProbedQueue[]): void {
    this.queues = queues;
    this.lastDrops = queues.map(() => 0);
    this.lastTick = this.now();
    this.timer = setInterval(() => this.onTimer(), this.period);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** For a request that would create a server transaction: false means answer it 503 now. */
  admit(request: RequestView): boolean {
    if (this.control.shedFraction === 0 || exemptFromShedding(request) || this.control.admit()) return true;
    this.metrics.overloadShed.inc({ method: SHED_METHODS.has(request.method) ? request.method : 'other' });
    return false;
  }

  private onTimer(): void {
    const now = this.now();
    // How late this timer ran: the event loop's own queueing delay (a long turn, a stall).
    const lateness = Math.max(0, now - this.lastTick - this.period);
    this.control.sample(0, lateness, this.lastTick + this.period);
    this.lastTick = now;
    for (const q of this.queues) q.sendProbe();
    if (++this.ticks % PROBES_PER_INTERVAL === 0) this.checkDrops();
    // The loop's lateness counts only through the interval's minimum: a single stall with nothing
    // queued behind it is no overload (what queued behind it shows in the socket probes and drops).
    const change = this.control.tick(now, (q, since) => (q === 0 ? 0 : (this.queues[q - 1]?.probeInFlightMs(since) ?? 0)));
    const delay = this.control.standingDelayMs;
    if (delay !== null) this.metrics.overloadDelay.set(delay / 1000);
    if (change !== null) this.onChange(change, now);
  }

  /** Once per interval: any datagram the kernel dropped at a listener since the last look is a loss. */
  private checkDrops(): void {
    if (this.readingDrops || this.queues.length === 0) return;
    this.readingDrops = true;
    const seenAt = this.now();
    void Promise.all(this.queues.map((q) => q.socketDrops().catch(() => null))).then((counts) => {
      this.readingDrops = false;
      if (this.timer === null) return;
      counts.forEach((n, i) => {
        const before = this.lastDrops[i];
        this.lastDrops[i] = n;
        if (n !== null && before !== null && n > before) this.control.lost(seenAt);
      });
    });
  }

  private onChange(change: OverloadTransition, now: number): void {
    this.metrics.overloadShedRatio.set(change.to);
    if (change.from === 0) {
      this.shedSince = now;
      this.log.warn(
        { standing_delay_ms: round(change.standingDelayMs), target_ms: this.settings.targetDelayMs, shed_fraction: change.to },
        'overload: queueing delay over target, shedding new requests with 503 + Retry-After',
      );
    } else if (change.to === 0) {
      this.log.warn({ shed_for_ms: Math.round(now - this.shedSince), standing_delay_ms: round(change.standingDelayMs) }, 'overload: over, admitting all requests again');
    }
  }
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
