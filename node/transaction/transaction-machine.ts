// What the four RFC 3261 §17 state machines share: the request they were created for, the
// transport's reliability, the timer configuration, their state and their named timers.
import type { TxAction } from './actions.js';
import type { CSeqView, RequestView, ViaView } from './message-view.js';
import type { TimerConfig } from './timer-config.js';
import { TimerSet } from './timer-set.js';

export abstract class TransactionMachine<State extends string, Timer extends string> {
  protected currentState: State;
  protected readonly timers = new TimerSet<Timer>();
  private req: RequestView;

  constructor(
    request: RequestView,
    readonly reliable: boolean,
    protected readonly config: TimerConfig,
    initial: State,
  ) {
    this.req = request;
    this.currentState = initial;
  }

  get request(): RequestView {
    return this.req;
  }

  /**
   * After the final response an RFC 3261 transaction is only found by its key (already in the
   * manager's table) and only resends bytes it holds: the request it was created for shrinks to
   * its method, branch and CSeq. Transactions live 64·T1 past their final at UDP (Timer J/L/M), a
   * thousand calls a second keep a hundred thousand of them, and the full view was most of each.
   */
  compactRequest(): void {
    this.req = requestSummary(this.req);
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

/**
 * What a finished transaction keeps of its request (see compactRequest): five fields where the full
 * view is three objects. The view's other fields read as empty: nothing matches or resends by them
 * once the final response is out.
 */
class RequestSummary implements RequestView {
  readonly method: string;
  private readonly branch: string | undefined;
  private readonly transport: string;
  private readonly seq: number;
  private readonly cseqMethod: string;

  constructor(r: RequestView) {
    this.method = r.method;
    this.branch = r.topVia.branch;
    this.transport = r.topVia.transport;
    this.seq = r.cseq.seq;
    // One string for both when they are equal (every request but a CANCEL/ACK matched elsewhere).
    this.cseqMethod = r.cseq.method === r.method ? r.method : r.cseq.method;
  }

  get kind(): 'request' {
    return 'request';
  }

  get uri(): string {
    return '';
  }

  get topVia(): ViaView {
    return { branch: this.branch, host: '', port: undefined, transport: this.transport, raw: '' };
  }

  get callId(): string {
    return '';
  }

  get cseq(): CSeqView {
    return { seq: this.seq, method: this.cseqMethod };
  }

  get fromTag(): undefined {
    return undefined;
  }

  get toTag(): undefined {
    return undefined;
  }

  headerValues(): readonly string[] {
    return NO_VALUES;
  }
}

function requestSummary(r: RequestView): RequestView {
  return new RequestSummary(r);
}

const NO_VALUES: readonly string[] = [];
