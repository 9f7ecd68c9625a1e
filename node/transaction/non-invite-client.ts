// RFC 3261 §17.1.2 non-INVITE client transaction.
import type { TxAction } from './actions.js';
import type { RequestView, ResponseView } from './message-view.js';
import type { TimerConfig } from './timer-config.js';
import { TransactionMachine } from './transaction-machine.js';

export type NonInviteClientState = 'trying' | 'proceeding' | 'completed' | 'terminated';
type NictTimer = 'E' | 'F' | 'K';

export class NonInviteClientTransaction extends TransactionMachine<NonInviteClientState, NictTimer> {
  readonly kind = 'non-invite-client' as const;
  private timerEInterval: number;

  constructor(request: RequestView, reliable: boolean, config: TimerConfig) {
    super(request, reliable, config, 'trying');
    this.timerEInterval = config.t1Ms;
  }

  start(now: number): TxAction[] {
    // RFC 3261 §17.1.2.2: Timer E only on unreliable transports, Timer F always.
    if (!this.reliable) this.timers.arm('E', now + this.timerEInterval);
    this.timers.arm('F', now + this.config.transactionTimeoutMs);
    return [{ kind: 'send', message: this.request }];
  }

  onResponse(response: ResponseView, now: number): TxAction[] {
    if (this.currentState !== 'trying' && this.currentState !== 'proceeding') {
      // Completed absorbs retransmitted finals (RFC 3261 §17.1.2.2).
      return [];
    }
    if (response.status < 200) {
      this.currentState = 'proceeding';
      return [{ kind: 'response', response }];
    }
    this.timers.clear();
    const actions: TxAction[] = [{ kind: 'response', response }];
    if (this.reliable) {
      // Timer K is zero on reliable transports.
      this.currentState = 'terminated';
      actions.push({ kind: 'terminated' });
    } else {
      this.currentState = 'completed';
      this.timers.arm('K', now + this.config.t4Ms);
    }
    return actions;
  }

  protected fire(timer: NictTimer, now: number): TxAction[] {
    switch (timer) {
      case 'E':
        // RFC 3261 §17.1.2.2: in Trying the interval doubles up to T2; in Proceeding it is T2.
        this.timerEInterval =
          this.currentState === 'trying' ? Math.min(this.timerEInterval * 2, this.config.t2Ms) : this.config.t2Ms;
        this.timers.arm('E', now + this.timerEInterval);
        return [{ kind: 'retransmit', message: this.request }];
      case 'F':
        return this.terminate([{ kind: 'timeout', timer: 'F' }]);
      case 'K':
        return this.terminate([]);
    }
  }
}
