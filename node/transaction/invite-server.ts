// RFC 3261 §17.2.1 INVITE server transaction, with the Accepted state of RFC 6026 §7.1/§8.5-8.7.
import type { TxAction } from './actions.js';
import { tryingSpec } from './generated-messages.js';
import type { MessageFactory, RequestView, ResponseView } from './message-view.js';
import type { TimerConfig } from './timer-config.js';
import { TransactionMachine } from './transaction-machine.js';

export interface RespondOptions {
  /**
   * false: do not retransmit this final response on Timer G. RFC 3261 §26.3.2.4 recommends it for
   * the 401/407 challenges a server issues: an unauthenticated INVITE from a forged source would
   * otherwise draw eleven copies of the challenge over Timer H (an amplifier for reflection
   * attacks). Loss is still recovered: the UAC retransmits its INVITE and gets the challenge again.
   */
  readonly retransmit?: boolean;
}

export type InviteServerState = 'proceeding' | 'completed' | 'confirmed' | 'accepted' | 'terminated';
type IstTimer = 'Trying' | 'G' | 'H' | 'I' | 'L' | 'Unanswered';

export class InviteServerTransaction extends TransactionMachine<InviteServerState, IstTimer> {
  readonly kind = 'invite-server' as const;
  private timerGInterval: number;
  private last: ResponseView | undefined;

  constructor(
    request: RequestView,
    reliable: boolean,
    config: TimerConfig,
    private readonly factory: MessageFactory,
  ) {
    super(request, reliable, config, 'proceeding');
    this.timerGInterval = config.t1Ms;
  }

  /** The most recent response handed to the transport (used by the RFC 2543 ACK match). */
  get lastResponse(): ResponseView | undefined {
    return this.last;
  }

  /**
   * Also lets go of a 2xx: in Accepted the transaction resends nothing (RFC 6026 §8.5/§8.7: the TU
   * retransmits the 2xx), and the response was kept only for the RFC 2543 ACK match, which a
   * transaction compacted to its key (RFC 3261 branch) never makes. A non-2xx stays: Timer G resends it.
   */
  override compactRequest(): void {
    super.compactRequest();
    if (this.currentState === 'accepted') this.last = undefined;
  }

  /** Proceeding is entered on creation; the INVITE itself is passed to the TU by the owner. */
  start(now: number): TxAction[] {
    // RFC 3261 §17.2.1: send 100 Trying unless the TU answers within 200 ms.
    this.timers.arm('Trying', now + this.config.tryingDelayMs);
    // Longer than any proxy's Timer C plus the CANCEL round: only a lost TU ever reaches it
    // (pushed back by each provisional the TU sends, see respond).
    this.timers.arm('Unanswered', now + this.config.inviteTimeoutMs + 64 * this.config.t1Ms);
    return [];
  }

  /**
   * A response from the TU. `retransmit: false` (a challenge this node issued) sends a non-2xx
   * final once and leaves Timer G unarmed; a retransmitted INVITE still gets it again.
   */
  respond(response: ResponseView, now: number, opts: RespondOptions = {}): TxAction[] {
    const status = response.status;
    switch (this.currentState) {
      case 'proceeding':
        this.timers.cancel('Trying');
        this.last = response;
        if (status < 200) {
          // A provisional from the TU restarts a proxy's Timer C (RFC 3261 §16.6 step 11), after
          // which the branch may still be CANCELled and wait 64*T1 for its 487 (§9.1) before the
          // final comes back: the guard moves past all of that, with 64*T1 to spare.
          this.timers.arm('Unanswered', now + this.config.inviteTimeoutMs + 128 * this.config.t1Ms);
          return [{ kind: 'send', message: response }];
        }
        this.timers.cancel('Unanswered');
        if (status < 300) {
          // RFC 6026 §8.5: a 2xx moves to Accepted; the TU (not the transaction) retransmits it.
          this.currentState = 'accepted';
          this.timers.arm('L', now + 64 * this.config.t1Ms);
          return [{ kind: 'send', message: response }];
        }
        this.currentState = 'completed';
        // RFC 3261 §17.2.1: Timer G (unreliable only) retransmits, Timer H waits for the ACK.
        if (!this.reliable && opts.retransmit !== false) this.timers.arm('G', now + this.timerGInterval);
        this.timers.arm('H', now + 64 * this.config.t1Ms);
        return [{ kind: 'send', message: response }];
      case 'accepted':
        // RFC 6026 §8.7: 2xx retransmissions from the TU are passed to the transport.
        if (status >= 200 && status < 300) {
          this.last = response;
          return [{ kind: 'send', message: response }];
        }
        return [];
      default:
        return [];
    }
  }

  /** A retransmission of the INVITE (matched to this transaction). */
  onRequest(): TxAction[] {
    switch (this.currentState) {
      case 'proceeding':
        // RFC 3261 §17.2.1: re-send the most recent provisional response, if there is one.
        return this.last !== undefined ? [{ kind: 'retransmit', message: this.last }] : [];
      case 'completed':
        return this.last !== undefined ? [{ kind: 'retransmit', message: this.last }] : [];
      default:
        // Accepted absorbs INVITE retransmissions (RFC 6026 §8.7); Confirmed absorbs everything.
        return [];
    }
  }

  /** An ACK matched to this transaction. */
  onAck(ack: RequestView, now: number): TxAction[] {
    switch (this.currentState) {
      case 'completed':
        // RFC 3261 §17.2.1: ACK stops G and H; Timer I absorbs further ACKs (zero if reliable).
        this.timers.cancel('G', 'H');
        if (this.reliable) return this.terminate([]);
        this.currentState = 'confirmed';
        this.timers.arm('I', now + this.config.t4Ms);
        return [];
      case 'accepted':
        // RFC 6026 §8.7: ACKs in Accepted are passed to the TU, not absorbed.
        return [{ kind: 'ack', request: ack }];
      default:
        return [];
    }
  }

  protected fire(timer: IstTimer, now: number): TxAction[] {
    switch (timer) {
      case 'Trying': {
        if (this.currentState !== 'proceeding' || this.last !== undefined) return [];
        const trying = this.factory.response(tryingSpec(this.request));
        this.last = trying;
        return [{ kind: 'send', message: trying }];
      }
      case 'G': {
        if (this.currentState !== 'completed' || this.last === undefined) return [];
        // RFC 3261 §17.2.1: Timer G doubles up to T2.
        this.timerGInterval = Math.min(this.timerGInterval * 2, this.config.t2Ms);
        this.timers.arm('G', now + this.timerGInterval);
        return [{ kind: 'retransmit', message: this.last }];
      }
      case 'H':
        // RFC 3261 §17.2.1: the ACK never came.
        return this.terminate([{ kind: 'timeout', timer: 'H' }]);
      case 'I':
      case 'L':
        return this.terminate([]);
      case 'Unanswered':
        return this.currentState === 'proceeding' ? this.terminate([{ kind: 'timeout', timer: 'unanswered' }]) : [];
    }
  }
}
