// What the four RFC 3261 §17 state machines share: the request they were created for, the
// transport's reliability, the timer configuration, their state and their named timers.
import type { TxAction } from './actions.js';
import type { RequestView } from './message-view.js';
import type { TimerConfig } from './timer-config.js';
import { TimerSet } from './timer-set.js';

export abstract class TransactionMachine<State extends string, Timer extends string> {
  protected currentState: State;
  protected readonly timers = new TimerSet<Timer>();

  constructor(
    readonly request: RequestView,
    readonly reliable: boolean,
    protected readonly config: TimerConfig,
    initial: State,
  ) {
    this.currentState = initial;
  }

  get state(): State {
    return this.currentState;
  }

  timerDeadlines(): ReadonlyMap<string, number> {
    return this.timers.snapshot();
  }

  nextDeadline(): number | undefined {
    return this.timers.next();
  }

  /** Fires every timer due at `now`, in deadline order, until the transaction terminates. */
  advance(now: number): TxAction[] {
    const actions: TxAction[] = [];
    for (let timer = this.timers.takeDue(now); timer !== undefined; timer = this.timers.takeDue(now)) {
      actions.push(...this.fire(timer, now));
      if (this.currentState === 'terminated') break;
    }
    return actions;
  }

  /** Transport failure while sending (RFC 3261 §17.1.4 / §17.2.4): the transaction ends. */
  transportError(): TxAction[] {
    if (this.currentState === 'terminated') return [];
    return this.terminate([{ kind: 'transport-error' }]);
  }

  protected terminate(before: TxAction[]): TxAction[] {
    this.timers.clear();
    this.currentState = 'terminated' as State; // every §17 machine has a Terminated state
    return [...before, { kind: 'terminated' }];
  }

  protected abstract fire(timer: Timer, now: number): TxAction[];
}
