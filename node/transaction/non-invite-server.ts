// RFC 3261 §17.2.2 non-INVITE server transaction.
import type { TxAction } from './actions.js';
import type { RequestView, ResponseView } from './message-view.js';
import type { TimerConfig } from './timer-config.js';
import { TransactionMachine } from './transaction-machine.js';

export type NonInviteServerState = 'trying' | 'proceeding' | 'completed' | 'terminated';
type NistTimer = 'J' | 'Unanswered';

export class NonInviteServerTransaction extends TransactionMachine<NonInviteServerState, NistTimer> {
  readonly kind = 'non-invite-server' as const;
  private last: ResponseView | undefined;

  constructor(request: RequestView, reliable: boolean, config: TimerConfig) {
    super(request, reliable, config, 'trying');
  }

  get lastResponse(): ResponseView | undefined {
    return this.last;
  }

  /** Trying is entered on creation; the request is passed to the TU by the owner. */
  start(now: number): TxAction[] {
    // Longer than any client transaction the TU may be waiting on (Timer F) plus Timer J: only a
    // lost TU ever reaches it.
    this.timers.arm('Unanswered', now + this.config.transactionTimeoutMs + 64 * this.config.t1Ms);
    return [];
  }

  respond(response: ResponseView, now: number): TxAction[] {
    if (this.currentState !== 'trying' && this.currentState !== 'proceeding') {
      // RFC 3261 §17.2.2: further finals from the TU after Completed are discarded.
      return [];
    }
    this.last = response;
    if (response.status < 200) {
      // A provisional keeps the guard running; only a final stops it.
      this.currentState = 'proceeding';
      return [{ kind: 'send', message: response }];
    }
    this.timers.cancel('Unanswered');
    const actions: TxAction[] = [{ kind: 'send', message: response }];
    if (this.reliable) {
      // Timer J is zero on reliable transports.
      this.currentState = 'terminated';
      actions.push({ kind: 'terminated' });
    } else {
      this.currentState = 'completed';
      this.timers.arm('J', now + 64 * this.config.t1Ms);
    }
    return actions;
  }

  /** A retransmission of the request. */
  onRequest(): TxAction[] {
    switch (this.currentState) {
      case 'trying':
        // RFC 3261 §17.2.2: absorbed in Trying (nothing to re-send yet).
        return [];
      case 'proceeding':
      case 'completed':
        return this.last !== undefined ? [{ kind: 'retransmit', message: this.last }] : [];
      case 'terminated':
        return [];
    }
  }

  protected fire(timer: NistTimer): TxAction[] {
    switch (timer) {
      case 'J':
        return this.terminate([]);
      case 'Unanswered':
        return this.terminate([{ kind: 'timeout', timer: 'unanswered' }]);
    }
  }
}
