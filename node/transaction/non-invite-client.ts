// RFC 3261 §17.1.2 non-INVITE client transaction.
import type { TxAction } from './actions.js';
import type { RequestView, ResponseView } from './message-view.js';
import type { TimerConfig } from './timer-config.js';
import { TimerSet } from './timer-set.js';

export type NonInviteClientState = 'trying' | 'proceeding' | 'completed' | 'terminated';
type NictTimer = 'E' | 'F' | 'K';

export class NonInviteClientTransaction {
  readonly kind = 'non-invite-client' as const;
  private currentState: NonInviteClientState = 'trying';
  private readonly timers = new TimerSet<NictTimer>();
  private timerEInterval: number;

  constructor(
    readonly request: RequestView,
    readonly reliable: boolean,
    private readonly config: TimerConfig,
  ) {
    this.timerEInterval = config.t1Ms;
  }

  get state(): NonInviteClientState {
    return this.currentState;
  }

  timerDeadlines(): ReadonlyMap<string, number> {
    return this.timers.snapshot();
  }

  nextDeadline(): number | undefined {
    return this.timers.next();
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

  advance(now: number): TxAction[] {
    const actions: TxAction[] = [];
    for (let timer = this.timers.takeDue(now); timer !== undefined; timer = this.timers.takeDue(now)) {
      actions.push(...this.fire(timer, now));
      if (this.currentState === 'terminated') break;
    }
    return actions;
  }

  private fire(timer: NictTimer, now: number): TxAction[] {
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

  transportError(): TxAction[] {
    if (this.currentState === 'terminated') return [];
    return this.terminate([{ kind: 'transport-error' }]);
  }

  private terminate(before: TxAction[]): TxAction[] {
    this.timers.clear();
    this.currentState = 'terminated';
    return [...before, { kind: 'terminated' }];
  }
}
