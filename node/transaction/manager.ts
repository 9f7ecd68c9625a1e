// The transaction manager: a pure table of transactions keyed by their §17.1.3/§17.2.3 match key,
// a timer queue driven by `advance(now)`, and the glue that turns state-machine actions into
// transport sends and TU callbacks. The I/O shell owns sockets and the clock.
import { ChurnMap } from '../util/index.js';
import type { TimeoutTimer, TxAction } from './actions.js';
import { cancelSpec } from './generated-messages.js';
import { InviteClientTransaction } from './invite-client.js';
import { InviteServerTransaction, type RespondOptions } from './invite-server.js';
import {
  clientKey,
  clientKeyOfRequest,
  clientKeyOfResponse,
  legacyAckKey,
  nonSuccessAckKey,
  serverKey,
  serverKeyAs,
  usesLegacyMatching,
} from './matching.js';
import type { MessageFactory, MessageView, RequestView, ResponseView } from './message-view.js';
import { NonInviteClientTransaction } from './non-invite-client.js';
import { NonInviteServerTransaction } from './non-invite-server.js';
import type { TimerConfig } from './timer-config.js';
import { TimerQueue, type QueueEntry } from './timer-queue.js';

interface TxBase<A> {
  /** Process-unique, increasing id (for logs and correlation). */
  readonly id: number;
  /** The match key the transaction is stored under. */
  readonly key: string;
  /** Client: where the request is sent. Server: where the request came from. */
  readonly peer: A;
}

export interface ServerTx<A> extends TxBase<A> {
  readonly side: 'server';
  readonly machine: InviteServerTransaction | NonInviteServerTransaction;
}

export interface ClientTx<A> extends TxBase<A> {
  readonly side: 'client';
  readonly machine: InviteClientTransaction | NonInviteClientTransaction;
}

export type Tx<A> = ServerTx<A> | ClientTx<A>;

/**
 * A transaction's entry in the timer heap. Rescheduling or removing a transaction empties its old
 * entry, so a stale one left in the heap holds nothing until it is popped or compacted.
 */
type Slot<A> = QueueEntry<Record<A> | undefined>;

type Record<A> = Tx<A> & {
  slot: Slot<A> | undefined;
  legacyAckKey: string | undefined;
  /** Set once an INVITE server transaction sent a non-2xx final: see nonSuccessAckKey. */
  nonSuccessAckKey?: string;
  /** Server: when its request arrived, until its first final response is sent (then undefined). */
  awaitingFinalSince?: number;
};

/**
 * A non-INVITE server transaction over UDP in Completed (RFC 3261 §17.2.2), reduced to the two
 * things it still does: resend its final response to a retransmitted request, and end at Timer J.
 * A registrar answering thousands of REGISTERs a second holds 64·T1 (32 s) of them; the full
 * record (state machine, timer set, request summary, timer-heap slot) was about twice this size
 * and every one a heap entry to sift.
 */
interface Settled<A> {
  readonly key: string;
  readonly response: ResponseView;
  /** Where a retransmitted request came from last (§18.2.2), and so where the final goes. */
  peer: A;
  /** Timer J, in whole ms. */
  readonly until: number;
}

/** Callbacks into the transaction user (proxy core, UA core, dialog layer). */
export interface TransactionUser<A> {
  /** A new request created a server transaction; answer it with `manager.respond`. */
  request(tx: ServerTx<A>, request: RequestView, source: A): void;
  /** A response matched a client transaction and the state machine passed it up. */
  response(tx: ClientTx<A>, response: ResponseView): void;
  /**
   * An ACK for the TU: an ACK matching no transaction (the ACK for a 2xx, its own transaction per
   * RFC 3261 §17) with `tx` undefined, or one passed up by an IST in Accepted (RFC 6026 §8.7).
   */
  ack(tx: ServerTx<A> | undefined, ack: RequestView, source: A): void;
  /** A response matching no client transaction (RFC 3261 §16.7 forwards these statelessly). */
  strayResponse(response: ResponseView, source: A): void;
  timeout(tx: Tx<A>, timer: TimeoutTimer): void;
  transportError(tx: Tx<A>): void;
  /**
   * The transaction is out of the TU's reach: terminated, or (a UDP non-INVITE server transaction)
   * settled in Completed, where the manager alone answers retransmissions until Timer J.
   */
  terminated?(tx: Tx<A>): void;
  /**
   * A new request refused, because the table is full or `admit` turned it away (the shell answers
   * 503 statelessly: state is what an overloaded node is short of).
   */
  overloaded?(request: RequestView, source: A, cause: 'table-full' | 'shed'): void;
}

/** The transport side: hand a message to the transport layer (RFC 3261 §18). */
export interface TransportPort<A> {
  send(message: MessageView, dest: A, tx: Tx<A> | undefined): void;
}

export interface TransactionManagerOptions<A> {
  readonly config: TimerConfig;
  readonly factory: MessageFactory;
  readonly transport: TransportPort<A>;
  readonly tu: TransactionUser<A>;
  /** Reliable transports (TCP, TLS, SCTP) run without retransmit timers (RFC 3261 §17.1.1.2). */
  isReliable(peer: A): boolean;
  /** Upper bound on live transactions; new inbound requests beyond it are refused. */
  readonly maxTransactions?: number;
  /**
   * Asked for each request that would create a server transaction (never for a retransmission,
   * which its transaction absorbs, nor for an ACK): false refuses it as `overloaded` (overload control).
   */
  admit?(request: RequestView): boolean;
  /**
   * Each server transaction's time from its request to its first final response, however the TU
   * answered (a proxy relaying the best response, a registrar, a local 4xx); retransmissions of the
   * request or of the final are not measured again. Feeds siphon_request_duration_seconds.
   */
  onFirstFinal?(elapsedMs: number): void;
}

export class TransactionManager<A> {
  private readonly table = new ChurnMap<string, Record<A>>();
  /** RFC 2543 INVITE server transactions by the fields an ACK must match (§17.2.3). */
  private readonly legacyAcks = new ChurnMap<string, Record<A>>();
  /** INVITE server transactions that sent a non-2xx final, by the dialog fields of its ACK. */
  private readonly nonSuccessAcks = new ChurnMap<string, Record<A>>();
  private readonly queue = new TimerQueue<Record<A> | undefined>();
  /** Settled transactions by key, and in Timer J order (a FIFO: every Timer J is the same 64·T1). */
  private readonly settled = new Map<string, Settled<A>>();
  private settledOrder: Settled<A>[] = [];
  private settledHead = 0;
  private nextId = 1;
  private readonly maxTransactions: number;

  constructor(private readonly options: TransactionManagerOptions<A>) {
    this.maxTransactions = options.maxTransactions ?? 1_000_000;
  }

  /** `siphon_transactions_active`. */
  get activeCount(): number {
    return this.table.size + this.settled.size;
  }

  /** Timer entries, live and stale (for memory-bound checks). */
  get queuedTimers(): number {
    return this.queue.size + this.settledOrder.length - this.settledHead;
  }

  /** Earliest instant `advance` has work to do, so the shell can arm a single OS timer. */
  nextDeadline(): number | undefined {
    // Stale entries at the head would wake the shell for nothing: drop them first.
    for (let head = this.queue.peek(); head !== undefined && head.item === undefined; head = this.queue.peek()) {
      this.queue.popDue(head.at);
    }
    const at = this.queue.peekAt();
    const j = this.settledHead < this.settledOrder.length ? this.settledOrder[this.settledHead].until : undefined;
    return at === undefined ? j : j === undefined ? at : Math.min(at, j);
  }

  /** A message parsed off the wire. */
  onInbound(message: MessageView, source: A, now: number): void {
    if (message.kind === 'response') this.inboundResponse(message, source, now);
    else if (message.method === 'ACK') this.inboundAck(message, source, now);
    else this.inboundRequest(message, source, now);
  }

  private inboundResponse(response: ResponseView, source: A, now: number): void {
    const key = clientKeyOfResponse(response);
    const record = key === undefined ? undefined : this.table.get(key);
    if (record === undefined || record.side !== 'client') {
      this.options.tu.strayResponse(response, source);
      return;
    }
    const machine = record.machine;
    const before = machine.state;
    this.apply(record, machine.onResponse(response, now), now);
    // Completed/Accepted only match by key and absorb retransmissions (the non-2xx ACK is its own
    // message): the request sent is never sent again.
    if (response.status >= 200 && machine.state !== before) settleRequest(machine);
  }

  private inboundAck(ack: RequestView, source: A, now: number): void {
    const record = this.findInviteServer(ack) ?? this.findByNonSuccessAck(ack);
    if (record === undefined) {
      this.options.tu.ack(undefined, ack, source);
      return;
    }
    this.apply(record, (record.machine as InviteServerTransaction).onAck(ack, now), now);
  }

  /** §17.2.3 ACK → INVITE server transaction, including the RFC 2543 To-tag rule. */
  private findInviteServer(ack: RequestView): Record<A> | undefined {
    let record: Record<A> | undefined;
    if (usesLegacyMatching(ack)) {
      record = this.legacyAcks.get(legacyAckKey(ack));
      if (record !== undefined && record.machine.kind === 'invite-server') {
        const sent = record.machine.lastResponse;
        if (sent === undefined || sent.toTag !== ack.toTag) record = undefined;
      }
    } else {
      record = this.table.get(serverKey(ack));
    }
    return record !== undefined && record.machine.kind === 'invite-server' ? record : undefined;
  }

  /**
   * An ACK whose branch matches no INVITE server transaction, but whose Call-ID, From tag, CSeq and
   * To tag are those of a non-2xx final response one sent: its ACK with a freshly minted branch.
   * Absorbed like the ACK §17.2.3 matches, where forwarding it would hand the next hop a stray ACK.
   */
  private findByNonSuccessAck(ack: RequestView): Record<A> | undefined {
    if (this.nonSuccessAcks.size === 0 || ack.toTag === undefined || ack.fromTag === undefined || usesLegacyMatching(ack)) return undefined;
    return this.nonSuccessAcks.get(nonSuccessAckKey(ack.callId, ack.fromTag, ack.cseq.seq, ack.toTag));
  }

  private inboundRequest(request: RequestView, source: A, now: number): void {
    const key = serverKey(request);
    const existing = this.table.get(key);
    if (existing !== undefined) {
      if (existing.side === 'server') {
        // §18.2.2: answer a retransmission where it came from. It can arrive another way than the
        // original (a new TCP connection after the first closed, another transport, another source
        // port reusing the branch); the cached response still goes back to that sender.
        (existing as { peer: A }).peer = source;
        this.apply(existing, existing.machine.onRequest(), now);
      }
      return;
    }
    const settled = this.settled.get(key);
    if (settled !== undefined) {
      // §17.2.2 Completed: the final again, to whoever sent the retransmission (§18.2.2).
      settled.peer = source;
      this.options.transport.send(settled.response, source, undefined);
      return;
    }
    if (this.activeCount >= this.maxTransactions) {
      this.options.tu.overloaded?.(request, source, 'table-full');
      return;
    }
    if (this.options.admit !== undefined && !this.options.admit(request)) {
      this.options.tu.overloaded?.(request, source, 'shed');
      return;
    }
    const reliable = this.options.isReliable(source);
    const machine =
      request.method === 'INVITE'
        ? new InviteServerTransaction(request, reliable, this.options.config, this.options.factory)
        : new NonInviteServerTransaction(request, reliable, this.options.config);
    const record: Record<A> = {
      side: 'server',
      id: this.nextId++,
      key,
      peer: source,
      machine,
      slot: undefined,
      legacyAckKey: undefined,
      awaitingFinalSince: now,
    };
    this.table.set(key, record);
    if (machine.kind === 'invite-server' && usesLegacyMatching(request)) {
      record.legacyAckKey = legacyAckKey(request);
      this.legacyAcks.set(record.legacyAckKey, record);
    }
    this.apply(record, machine.start(now), now);
    this.options.tu.request(record as ServerTx<A>, request, source);
  }

  /**
   * RFC 3261 §9.2: the INVITE server transaction a CANCEL refers to (same §17.2.3 match, method
   * not compared), or undefined.
   */
  findCancelTarget(cancel: RequestView): ServerTx<A> | undefined {
    const record = this.table.get(serverKeyAs(cancel, 'INVITE'));
    return record !== undefined && record.side === 'server' && record.machine.kind === 'invite-server'
      ? record
      : undefined;
  }

  /**
   * Send a request through a new client transaction. An ACK has no client transaction (the ACK for
   * a 2xx is sent by the TU directly, RFC 3261 §17.1.1.3) and is passed straight to the transport.
   */
  sendRequest(request: RequestView, dest: A, now: number): ClientTx<A> | undefined {
    if (request.method === 'ACK') {
      this.options.transport.send(request, dest, undefined);
      return undefined;
    }
    const key = clientKeyOfRequest(request);
    if (this.table.has(key)) throw new Error(`client transaction ${request.topVia.branch} ${request.method} already exists`);
    const reliable = this.options.isReliable(dest);
    const machine =
      request.method === 'INVITE'
        ? new InviteClientTransaction(request, reliable, this.options.config, this.options.factory)
        : new NonInviteClientTransaction(request, reliable, this.options.config);
    const record: Record<A> = {
      side: 'client',
      id: this.nextId++,
      key,
      peer: dest,
      machine,
      slot: undefined,
      legacyAckKey: undefined,
    };
    this.table.set(key, record);
    this.apply(record, machine.start(now), now);
    if (request.method === 'CANCEL') this.noteCancel(request, now);
    return record as ClientTx<A>;
  }

  /** RFC 3261 §9.1: the cancelled INVITE client transaction (same branch) stops waiting at 64*T1. */
  private noteCancel(cancel: RequestView, now: number): void {
    const invite = this.table.get(clientKey(cancel.topVia.branch, 'INVITE'));
    if (invite === undefined || invite.machine.kind !== 'invite-client') return;
    invite.machine.cancelSent(now);
    this.schedule(invite, now);
  }

  /**
   * RFC 3261 §9.1: CANCEL a pending INVITE client transaction through its own non-INVITE client
   * transaction to the same destination. Only valid once a provisional response arrived.
   */
  sendCancel(invite: ClientTx<A>, now: number): ClientTx<A> | undefined {
    if (invite.machine.kind !== 'invite-client' || invite.machine.state !== 'proceeding') return undefined;
    const cancel = this.options.factory.request(cancelSpec(invite.machine.request));
    return this.sendRequest(cancel, invite.peer, now);
  }

  /** A response from the TU for a server transaction (`opts`: see InviteServerTransaction.respond). */
  respond(tx: ServerTx<A>, response: ResponseView, now: number, opts?: RespondOptions): void {
    const record = this.table.get(tx.key);
    if (record === undefined || record !== tx) return;
    const machine = tx.machine;
    if (machine.kind === 'invite-server' && response.status >= 300 && record.nonSuccessAckKey === undefined) this.indexNonSuccess(record, machine, response);
    this.apply(record, machine.kind === 'invite-server' ? machine.respond(response, now, opts) : machine.respond(response, now), now);
    if (response.status >= 200) {
      // Completed/Accepted only match retransmissions and resend: a final answer's parse caches
      // would otherwise stay on the heap for Timer J/H/L (32 s at UDP) and dominate GC.
      settleRequest(machine);
      response.releaseParsed?.();
    }
  }

  /** Before the request is compacted (it keeps no Call-ID or From tag once settled). */
  private indexNonSuccess(record: Record<A>, machine: InviteServerTransaction, response: ResponseView): void {
    const invite = machine.request;
    if (usesLegacyMatching(invite) || invite.fromTag === undefined || response.toTag === undefined) return;
    record.nonSuccessAckKey = nonSuccessAckKey(invite.callId, invite.fromTag, invite.cseq.seq, response.toTag);
    this.nonSuccessAcks.set(record.nonSuccessAckKey, record);
  }

  /** The transport could not deliver a message sent for `tx` (RFC 3261 §17.1.4, §17.2.4). */
  transportError(tx: Tx<A>, now: number): void {
    const record = this.table.get(tx.key);
    if (record === undefined || record !== tx) return;
    this.apply(record, record.machine.transportError(), now);
  }

  /** Fire every timer due at `now`. */
  advance(now: number): void {
    this.expireSettled(now);
    for (let entry = this.queue.popDue(now); entry !== undefined; entry = this.queue.popDue(now)) {
      const record = entry.item;
      if (record === undefined) continue;
      record.slot = undefined;
      this.apply(record, record.machine.advance(now), now);
    }
  }

  private apply(record: Record<A>, actions: readonly TxAction[], now: number): void {
    try {
      this.perform(record, actions, now);
    } finally {
      // Even if a TU callback throws, the transaction keeps its timers (and so its way out).
      this.schedule(record, now);
    }
  }

  private perform(record: Record<A>, actions: readonly TxAction[], now: number): void {
    const tu = this.options.tu;
    for (const action of actions) {
      switch (action.kind) {
        case 'send':
          if (record.awaitingFinalSince !== undefined && action.message.kind === 'response' && action.message.status >= 200) {
            this.options.onFirstFinal?.(now - record.awaitingFinalSince);
            record.awaitingFinalSince = undefined;
          }
          this.options.transport.send(action.message, record.peer, record);
          break;
        case 'retransmit':
          this.options.transport.send(action.message, record.peer, record);
          break;
        case 'response':
          if (record.side === 'client') tu.response(record, action.response);
          break;
        case 'ack':
          if (record.side === 'server') tu.ack(record, action.request, record.peer);
          break;
        case 'timeout':
          tu.timeout(record, action.timer);
          break;
        case 'transport-error':
          tu.transportError(record);
          break;
        case 'terminated':
          this.remove(record);
          tu.terminated?.(record);
          break;
      }
    }
  }

  private schedule(record: Record<A>, now: number): void {
    if (this.table.get(record.key) !== record) return;
    const machine = record.machine;
    if (machine.kind === 'non-invite-server' && machine.state === 'completed') {
      this.settle(record, machine, now);
      return;
    }
    const deadline = machine.nextDeadline();
    if (deadline === undefined) {
      this.unschedule(record);
      return;
    }
    // Whole milliseconds: a small integer in the entry, where a fractional clock reading would be one
    // more heap number per scheduled transaction (a timer then fires under 1 ms later, never earlier).
    const at = Math.ceil(Math.max(deadline, now));
    if (record.slot !== undefined && record.slot.at === at) return;
    this.unschedule(record);
    record.slot = this.queue.push(at, record);
    // Stale entries are tiny, but a churn of reschedules must not grow the heap without bound.
    if (this.queue.size > 4 * this.table.size + 4096) this.queue.retain((r) => r !== undefined);
  }

  /**
   * A UDP non-INVITE server transaction that sent its final response leaves the table for the
   * settled set, keeping its key, final response, peer and Timer J deadline (taken from the
   * machine, so §17.2.2's timing stays the machine's). The TU is told it terminated now: it cannot
   * act on it any more (a later final from it is discarded, as Completed discards it).
   */
  private settle(record: Record<A>, machine: NonInviteServerTransaction, now: number): void {
    const response = machine.lastResponse;
    const deadline = machine.nextDeadline();
    this.remove(record);
    if (response !== undefined && deadline !== undefined) {
      const entry: Settled<A> = { key: record.key, response, peer: record.peer, until: Math.ceil(Math.max(deadline, now)) };
      this.settled.set(entry.key, entry);
      this.settledOrder.push(entry);
    }
    this.options.tu.terminated?.(record);
  }

  /** Timer J of settled transactions due at `now` (FIFO; a clock stepping back only delays them). */
  private expireSettled(now: number): void {
    const order = this.settledOrder;
    let head = this.settledHead;
    while (head < order.length && order[head].until <= now) {
      const entry = order[head++];
      if (this.settled.get(entry.key) === entry) this.settled.delete(entry.key);
    }
    if (head === order.length) {
      this.settledOrder = [];
      head = 0;
    } else if (head >= 1024 && head * 2 >= order.length) {
      this.settledOrder = order.slice(head);
      head = 0;
    }
    this.settledHead = head;
  }

  private unschedule(record: Record<A>): void {
    if (record.slot !== undefined) record.slot.item = undefined;
    record.slot = undefined;
  }

  private remove(record: Record<A>): void {
    if (this.table.get(record.key) === record) this.table.delete(record.key);
    if (record.legacyAckKey !== undefined && this.legacyAcks.get(record.legacyAckKey) === record) {
      this.legacyAcks.delete(record.legacyAckKey);
    }
    if (record.nonSuccessAckKey !== undefined && this.nonSuccessAcks.get(record.nonSuccessAckKey) === record) {
      this.nonSuccessAcks.delete(record.nonSuccessAckKey);
    }
    this.unschedule(record);
  }

  /** Looks a live transaction up by its key (tests, admin); settled ones are not Tx objects any more. */
  get(key: string): Tx<A> | undefined {
    return this.table.get(key);
  }
}

/**
 * A transaction with its final response keeps of its request only what matching needs: whoever else
 * holds the view is left a match copy, and an RFC 3261 transaction (matched by key alone) keeps just
 * method, branch and CSeq. RFC 2543 requests are matched on their fields (§17.2.3) and stay whole.
 */
function settleRequest(machine: { readonly request: RequestView; compactRequest(): void }): void {
  machine.request.releaseParsed?.();
  if (!usesLegacyMatching(machine.request)) machine.compactRequest();
}
