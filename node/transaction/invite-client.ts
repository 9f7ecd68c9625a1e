// RFC 3261 §17.1.1 INVITE client transaction, with the Accepted state of RFC 6026 §7.2/§8.4.
import type { TxAction } from './actions.js';
import { non2xxAckSpec } from './generated-messages.js';
import type { MessageFactory, RequestView, ResponseView } from './message-view.js';
import type { TimerConfig } from './timer-config.js';
import { TransactionMachine } from './transaction-machine.js';

export type InviteClientState = 'calling' | 'proceeding' | 'completed' | 'accepted' | 'terminated';
/**
 * CancelWait: RFC 3261 §9.1 — once the INVITE is cancelled (or Timer C fired), a final response is
 * awaited for 64*T1 at most. Guard: with Timer C left to the TU, bounds the wait for a final.
 */
type IctTimer = 'A' | 'B' | 'C' | 'CancelWait' | 'Guard' | 'D' | 'M';

export class InviteClientTransaction extends TransactionMachine<InviteClientState, IctTimer> {
  readonly kind = 'invite-client' as const;
  private timerAInterval: number;
  private ack: RequestView | undefined;

  constructor(
    request: RequestView,
    reliable: boolean,
    config: TimerConfig,
    private readonly factory: MessageFactory,
  ) {
    super(request, reliable, config, 'calling');
    this.timerAInterval = config.t1Ms;
  }

  /** The ACK generated for a non-2xx final response, once there is one. */
  get generatedAck(): RequestView | undefined {
    return this.ack;
  }

  /** Calling: send the INVITE, start Timer A (unreliable only), Timer B and the INVITE timeout. */
  start(now: number): TxAction[] {
    // RFC 3261 §17.1.1.2: Timer A only on unreliable transports; Timer B always.
    if (!this.reliable) this.timers.arm('A', now + this.timerAInterval);
    this.timers.arm('B', now + this.config.transactionTimeoutMs);
    this.armFinalWait(now);
    return [{ kind: 'send', message: this.request }];
  }

  private armFinalWait(now: number): void {
    if (this.config.clientTimerC) this.timers.arm('C', now + this.config.inviteTimeoutMs);
    else this.timers.arm('Guard', now + this.config.inviteTimeoutMs + 64 * this.config.t1Ms);
  }

  /** RFC 3261 §9.1: a CANCEL was sent for this INVITE; give up 64*T1 later without a final. */
  cancelSent(now: number): void {
    if ((this.currentState === 'calling' || this.currentState === 'proceeding') && !this.timers.has('CancelWait')) {
      this.timers.arm('CancelWait', now + 64 * this.config.t1Ms);
    }
  }

  onResponse(response: ResponseView, now: number): TxAction[] {
    const status = response.status;
    switch (this.currentState) {
      case 'calling':
      case 'proceeding':
        if (status < 200) {
          // RFC 3261 §17.1.1.2: a provisional moves to Proceeding and stops retransmissions;
          // Timer B only guards Calling.
          this.timers.cancel('A', 'B');
          this.currentState = 'proceeding';
          // RFC 3261 §16.7 step 2: Timer C is reset by any provisional except 100.
          if (status > 100 && (this.timers.has('C') || this.timers.has('Guard'))) this.armFinalWait(now);
          return [{ kind: 'response', response }];
        }
        this.timers.clear();
        if (status < 300) {
          // RFC 6026 §8.4: 2xx → Accepted; Timer M absorbs/forwards further 2xx from forks.
          this.currentState = 'accepted';
          this.timers.arm('M', now + 64 * this.config.t1Ms);
          return [{ kind: 'response', response }];
        }
        return this.complete(response, now);
      case 'completed':
        // RFC 3261 §17.1.1.2: a retransmitted final response is re-ACKed, not passed up.
        if (status >= 300 && this.ack !== undefined) return [{ kind: 'retransmit', message: this.ack }];
        return [];
      case 'accepted':
        // RFC 6026 §8.4: every 2xx in Accepted goes to the TU, which ACKs it (§13.2.2.4).
        if (status >= 200 && status < 300) return [{ kind: 'response', response }];
        return [];
      case 'terminated':
        return [];
    }
  }

  private complete(response: ResponseView, now: number): TxAction[] {
    this.ack = this.factory.request(non2xxAckSpec(this.request, response));
    const actions: TxAction[] = [
      { kind: 'send', message: this.ack },
      { kind: 'response', response },
    ];
    if (this.reliable) {
      // Timer D is zero on reliable transports: Completed is left at once.
      this.currentState = 'terminated';
      actions.push({ kind: 'terminated' });
    } else {
      this.currentState = 'completed';
      this.timers.arm('D', now + this.config.timerDMs);
    }
    return actions;
  }

  protected fire(timer: IctTimer, now: number): TxAction[] {
    switch (timer) {
      case 'A': {
        if (this.currentState !== 'calling') return [];
        // RFC 3261 §17.1.1.2: retransmit and double the interval (capped at T2 when configured).
        const doubled = this.timerAInterval * 2;
        this.timerAInterval = this.config.capTimerAAtT2 ? Math.min(doubled, this.config.t2Ms) : doubled;
        this.timers.arm('A', now + this.timerAInterval);
        return [{ kind: 'retransmit', message: this.request }];
      }
      case 'B':
        return this.currentState === 'calling' ? this.terminate([{ kind: 'timeout', timer: 'B' }]) : [];
      case 'C':
        if (this.currentState === 'calling') return this.terminate([{ kind: 'timeout', timer: 'C' }]);
        if (this.currentState === 'proceeding') {
          // RFC 3261 §16.8: after a provisional the TU must CANCEL; keep the transaction to take
          // the 487, but bound its life.
          if (!this.timers.has('CancelWait')) this.timers.arm('CancelWait', now + 64 * this.config.t1Ms);
          return [{ kind: 'timeout', timer: 'C' }];
        }
        return [];
      case 'CancelWait':
        // RFC 3261 §9.1: "consider the transaction cancelled": the TU ends the branch on it.
        return this.terminate([{ kind: 'timeout', timer: 'cancelled' }]);
      case 'Guard':
        return this.terminate([{ kind: 'timeout', timer: 'unanswered' }]);
      case 'D':
      case 'M':
        return this.terminate([]);
    }
  }
}
