// RFC 3261 §16: the stateful proxy core, a transaction user. It owns one response context per
// server transaction (§16.7), its branches (one client transaction each), Timer C (§16.6 item 11,
// §16.8), sequential-fork branch timers and CANCEL bookkeeping (§16.10, §9.1). It never touches a
// socket or a clock: events come in with `now`, sends go out through the injected port.
//
// 2xx after CANCEL (glare): a proxy MUST forward every 2xx to INVITE (§16.7 item 5), including one
// that races our CANCEL downstream. We forward it; the caller, whose CANCEL lost the race, ACKs
// and BYEs the answered dialog (§9.1, §15). The B2BUA's zombie ACK+BYE belongs to node/b2bua.

import { isIP } from 'node:net';
import type { DialogTracker } from '../dialog/index.js';
import { TimerQueue, type QueueEntry } from '../transaction/index.js';
import { ChurnMap, stripBrackets } from '../util/index.js';
import { branchParamOf, branchSuffix, loopHash, makeBranch, upstreamTransactionKey } from './branch-id.js';
import { buildCancel } from './cancel-request.js';
import { forwardRequest, type AdvertisedAddress, type ForwardedRequest, type ForwardSpec } from './forward-request.js';
import { applyStrictRouting, hopFromUri, resolveNextHop, type ResolvedNextHop } from './next-hop.js';
import type { IsOwnAddress } from './own-address.js';
import type { ProxyMessageFactory, ProxyRequestMessage, ProxyResponseMessage } from './proxy-message.js';
import { ProxyRequestContext } from './request-context.js';
import { challengeSources, dispositionFor, selectBestResponse, upstreamStatus } from './response-context.js';
import { FlowTokens } from './flow-token.js';
import { processRoute } from './route-processing.js';
import { processStrayResponse } from './stateless-response.js';
import type { ForkOptions, ForkTarget, NextHop, ReplyHeaders, ScriptRequest, ScriptResponse, SourceAddress } from './routing-decision.js';
import { defaultPort, parseSipUri, tagOf } from './uri-parts.js';
import { validateRequest } from './validate.js';
import { formatVia } from './via.js';

type Awaitable<T> = T | Promise<T>;

/** The transaction layer as the proxy uses it (node/transaction's manager behind an adapter). */
export interface ProxyTransactionPort<S, C> {
  /** Create a client transaction and send; undefined when it could not be sent (§16.9: acts as 503). */
  sendRequest(request: ProxyRequestMessage, dest: NextHop, now: number): C | undefined;
  /** Send a response on a server transaction (the IST/NIST retransmits and absorbs ACKs). */
  respond(serverTx: S, response: ProxyResponseMessage, now: number): void;
  /** End-to-end forwarding outside any transaction: the ACK for a 2xx (§13.2.2.4, §16.11). */
  sendStateless(request: ProxyRequestMessage, dest: NextHop): void;
  /** §9.2: the INVITE server transaction a CANCEL refers to. */
  cancelTarget(cancel: ProxyRequestMessage): S | undefined;
  /**
   * A 2xx to INVITE that arrives after we already answered upstream with a non-2xx (our Timer C
   * 408, a branch's 487 racing a late answer): the completed server transaction cannot carry it,
   * so it goes out statelessly along its Via (RFC 3261 §16.7 item 5, §18.2.2). Optional: without
   * it such a 2xx is dropped and the callee's 2xx retransmissions time out into a BYE.
   */
  forwardResponseStateless?(response: ProxyResponseMessage): void;
  /**
   * True when a client transaction with this branch and method is still alive (RFC 3261 §17.1.3
   * key). Optional: without it the proxy relies on its own record of the branches it created.
   */
  clientExists?(branch: string, method: string): boolean;
}

/** Script entry points (node/script's host provides them). */
export interface ProxyHooks {
  onRequest(request: ScriptRequest): Awaitable<void>;
  onReply?(request: ScriptRequest, response: ScriptResponse): Awaitable<void>;
  onFailure?(request: ScriptRequest, response: ScriptResponse): Awaitable<void>;
  onCancel?(request: ScriptRequest): Awaitable<void>;
}

export interface ProxyLogger {
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** RFC 3263 §4.1: the transport and SRV owner name NAPTR chose for a host; null: none applies. */
export interface LocatedTransport {
  readonly transport: string;
  readonly srvName: string;
}

/** One address a next hop's name resolved to. */
export interface LocatedAddress {
  readonly address: string;
  readonly port: number;
}

/**
 * RFC 3263 location for the proxy: NAPTR for next hops that leave the transport open (next-hop.ts
 * `naptr`), then the ordered addresses of a named next hop, so a branch can move to the next one
 * (§4.3). node/dns's resolver fits (targets through an adapter).
 */
export interface TransportLocatorPort {
  /** The cached choice, or undefined when it has to be asked. */
  locatedNow(host: string, secure: boolean): LocatedTransport | null | undefined;
  locate(host: string, secure: boolean, done: (choice: LocatedTransport | null) => void): void;
  /**
   * The addresses of a named hop in the order to try them (SRV order, then each target's
   * addresses); empty when it cannot be reached. `done` may be called synchronously. Absent: the
   * transports resolve names themselves (first address only, no failover on 503 or timeout).
   */
  targets?(hop: NextHop, done: (targets: readonly LocatedAddress[]) => void): void;
}

export interface StatefulProxyOptions<S, C> {
  readonly transactions: ProxyTransactionPort<S, C>;
  readonly factory: ProxyMessageFactory;
  readonly hooks: ProxyHooks;
  readonly isOwnAddress: IsOwnAddress;
  readonly advertised: AdvertisedAddress;
  /**
   * Per transport (upper-case name), where listeners of different transports differ; else
   * `advertised`. A key `TRANSPORT/IPv6` (or `/IPv4`) names the listener facing peers of that
   * address family, preferred over the plain transport key for such a peer.
   */
  readonly advertisedByTransport?: ReadonlyMap<string, AdvertisedAddress>;
  /**
   * RFC 3261 §18.1.1: a request that would leave over UDP larger than this many bytes goes over TCP
   * (default 1300: path MTU unknown, or Ethernet's 1500 less 200); 0 never switches.
   */
  readonly udpSizeLimit?: number;
  /**
   * How long a next hop whose TCP attempt for an over-size request failed (refused, reset, connect
   * timeout) is sent such requests over UDP at once (default 10 min): a UDP-only phone behind a
   * NAT that drops the SYN then costs one connect timeout, not one per call.
   */
  readonly udpOnlyMemoryMs?: number;
  /** `proxy.record_route`: Record-Route dialog-creating initial requests without the script asking. */
  readonly recordRoute: boolean;
  /** `transaction.invite_timeout_secs` in ms: Timer C (§16.6 item 11, > 3 min recommended). */
  readonly inviteTimeoutMs: number;
  readonly supportedProxyRequire?: readonly string[];
  /** Domains this node serves (AoR host parts), besides its own addresses, for `ruriIsLocal`. */
  readonly localDomains?: readonly string[];
  readonly dialogs?: DialogTracker;
  readonly log?: ProxyLogger;
  /** RFC 3263 §4.1 NAPTR; absent: such next hops use their URI's default transport and SRV name. */
  readonly transportLocator?: TransportLocatorPort;
  /** How long a context whose final went upstream waits for branches still unanswered (64·T1); one with none left is dropped at once. */
  readonly lingerMs?: number;
  /**
   * RFC 4320 §4.2: how long a forwarded non-INVITE may stay unanswered before we send 100 Trying
   * upstream: the time the client's Timer E takes to reach T2 (3.5 s at the default T1/T2), never
   * sooner over UDP. Absent: no 100 for non-INVITE requests.
   */
  readonly nonInviteTryingMs?: number;
  /**
   * The shell's clock (same timebase as `now`). Script decisions often come after an await
   * (registrar lookup, auth); with a clock their sends and Timer C use the decision instant
   * instead of the arrival instant.
   */
  readonly clock?: () => number;
}

interface Branch<C> {
  readonly index: number;
  // request/nextHop/tx change when an over-size request's TCP attempt fails and the branch falls
  // back to UDP (§18.1.1), and when it fails over to the next address of its next hop (RFC 3263 §4.3).
  request: ProxyRequestMessage;
  nextHop: NextHop;
  tx: C;
  /** How the current attempt was built (`sendTo`: the address it went to); a failover builds the next from it. */
  spec: ForwardSpec;
  /** RFC 3263 §4.3: the next hop's further addresses, in order, for a 503, a timeout or a transport error. */
  readonly alternates: LocatedAddress[];
  /** §18.1.1: the UDP form of a request moved to TCP for its size, tried if TCP cannot connect. */
  udpFallback: ForwardedRequest | undefined;
  done: boolean;
  provisional: boolean;
  /** §9.1: a CANCEL is wanted but no provisional has arrived yet. */
  cancelPending: boolean;
  cancelSent: boolean;
  /** RFC 3326 Reason values for our CANCEL, fixed when the cancel is decided (it may wait for a 1xx). */
  cancelReasons: readonly string[];
  /** We cancelled it because Timer C fired: its 487 stands for a timeout (408) upstream. */
  timedOut: boolean;
  timerC: number | undefined;
  /** Sequential forking: move on to the next target at this instant. */
  seqDeadline: number | undefined;
}

interface StoredFinal {
  readonly response: ProxyResponseMessage;
  readonly branch: number;
}

/** What the proxy did without a response context (`siphon_proxy_stateless_total{event}`). */
export interface StatelessCounts {
  /** §16.10: a CANCEL matching no response context, forwarded to its Route / Request-URI next hop. */
  cancel_forwarded: number;
  /** Such a CANCEL with no next hop but ourselves (or none at all): answered 481. */
  cancel_no_next_hop: number;
  /** Such a CANCEL refused by §16.3 validation (483 at Max-Forwards 0, 420, 482). */
  cancel_rejected: number;
  /** §16.11: a response with our Via on top and no client transaction/context, sent to the next Via. */
  response_forwarded: number;
  /** §18.1.2: a stray response whose top Via is not ours, or that has no Via below ours. */
  response_dropped: number;
  /**
   * §17.2.3: a request whose server transaction had ended (Timer I/J/L) while a client transaction
   * we forwarded it on still lives (Timer D/K/M): a late retransmission, absorbed (not forked again).
   */
  retransmission_absorbed: number;
  /**
   * §16.6 item 8: a different upstream transaction whose derived downstream branch was still in
   * use (a peer reusing a branch with another sent-by): it got a distinct branch instead.
   */
  branch_collision: number;
  /**
   * RFC 4320 §4.2: a non-INVITE (or a CANCEL forwarded without a context) whose branches all timed
   * out, left without a final: an element never sends 408 to a non-INVITE.
   */
  non_invite_timeout_unanswered: number;
  /** RFC 3263 §4.3: a branch moved on to its next hop's next address (after a 503, a timeout or a transport error). */
  failover: number;
  /** RFC 3263: a named next hop with no address (no such name, no records, DNS failing): the branch is a 503 (§16.9). */
  next_hop_unresolved: number;
}

const CANCELLED_REASON = 'Request Terminated';
const NO_REASONS: readonly string[] = [];
/** Reason phrase of the 503 a transport error makes of a branch (§16.9), and of the 500 it becomes upstream. */
const NEXT_HOP_UNREACHABLE = 'Next Hop Unreachable';
/** RFC 3326 §3's own example: the Reason of a CANCEL sent because another branch answered. */
const COMPLETED_ELSEWHERE: readonly string[] = ['SIP;cause=200;text="Call completed elsewhere"'];
/** Next hops (or addresses) remembered at most per memory: UDP-only (§18.1.1), resting after a 503 (§21.5.4). */
const HOPS_REMEMBERED = 4096;
const MAX_FAILURE_ROUNDS = 5;
const DIALOG_CREATING = new Set(['INVITE', 'SUBSCRIBE', 'REFER', 'NOTIFY']);

/** A proxy timer; stale entries (deadline moved or cleared) are skipped when popped. */
interface TimerItem<S, C> {
  readonly ctx: ResponseContext<S, C>;
  readonly branch: Branch<C> | undefined;
  readonly kind: 'C' | 'seq' | 'linger' | 'trying';
}

/**
 * A context's entry in the heap. Dropping a context empties its entries, so a Timer C entry due
 * minutes later keeps nothing alive, not the context and its messages.
 */
type TimerSlot<S, C> = QueueEntry<TimerItem<S, C> | undefined>;

class ResponseContext<S, C> {
  readonly branches: Branch<C>[] = [];
  readonly stored: StoredFinal[] = [];
  readonly queue: ForkTarget[] = [];
  branchTimeoutMs = 0;
  finalStatus = 0;
  cancelled = false;
  failureRounds = 0;
  lingerUntil: number | undefined;
  /** RFC 4320 §4.2: when a still-unanswered forwarded non-INVITE gets our 100 Trying. */
  tryingAt: number | undefined;
  /** Targets waiting for DNS before their branch can start (RFC 3263: NAPTR, since the Via names the transport; then the addresses). */
  locating = 0;
  request!: ProxyRequestContext;
  /**
   * Response-side events of this context run one after another: script hooks are awaited, and a
   * 200 must not overtake the 180 that arrived before it while that 180's onReply runs.
   */
  chain: Promise<void> = Promise.resolve();
  readonly slots: Array<TimerSlot<S, C>> = [];

  constructor(
    readonly serverTx: S,
    readonly received: ProxyRequestMessage,
    readonly loopHash: string,
    readonly source: SourceAddress,
  ) {}

  get method(): string {
    return this.received.method;
  }

  get pending(): boolean {
    return this.locating > 0 || this.queue.length > 0 || this.branches.some((b) => !b.done);
  }
}

export class StatefulProxy<S, C> {
  private readonly contexts = new ChurnMap<S, ResponseContext<S, C>>();
  private readonly byClient = new ChurnMap<C, { ctx: ResponseContext<S, C>; branch: Branch<C> }>();
  private readonly supported: ReadonlySet<string>;
  private readonly domains: ReadonlySet<string>;
  /** Our address on a transport (Via sent-by, Record-Route). */
  private readonly advertisedFor = (transport: string, peerHost?: string): AdvertisedAddress => {
    const byTransport = this.o.advertisedByTransport;
    if (byTransport === undefined) return this.o.advertised;
    const t = transport.toUpperCase();
    const family = peerHost === undefined ? undefined : byTransport.get(`${t}/${addressFamily(peerHost)}`);
    return family ?? byTransport.get(t) ?? this.o.advertised;
  };
  private readonly isLocalUri = (uri: string): boolean => {
    const u = parseSipUri(uri);
    return u !== undefined && (this.domains.has(u.host) || this.o.isOwnAddress(u.host, u.port ?? defaultPort(u)));
  };
  private readonly instance = Math.random().toString(36).slice(2, 8);
  private readonly flowTokens = new FlowTokens();
  private readonly mintFlowToken = (connectionId: string): string => this.flowTokens.mint(connectionId);
  /** Client transaction of a CANCEL forwarded without a response context → its server transaction. */
  private readonly unmatchedCancels = new ChurnMap<C, { readonly serverTx: S; readonly cancel: ProxyRequestMessage }>();
  private readonly stateless: StatelessCounts = {
    cancel_forwarded: 0, cancel_no_next_hop: 0, cancel_rejected: 0, response_forwarded: 0, response_dropped: 0,
    retransmission_absorbed: 0, branch_collision: 0, non_invite_timeout_unanswered: 0, failover: 0, next_hop_unresolved: 0,
  };
  /**
   * Live client transactions we forwarded a request on → the upstream transaction (§17.2.3 key:
   * branch, sent-by, method) it came in on; and per upstream key how many still live. Filled when a
   * branch is sent, emptied as the transaction layer terminates them (onTerminated).
   */
  private readonly upstreamOfClient = new Map<C, string>();
  private readonly liveByUpstream = new Map<string, number>();
  /** Branch ids (with method) of our live client transactions, when the port cannot tell. */
  private readonly liveBranchIds = new Map<C, string>();
  private readonly branchIdsInUse = new Set<string>();
  private readonly timers = new TimerQueue<TimerItem<S, C> | undefined>();
  /** §18.1.1: "host:port" of next hops whose size-driven TCP attempt failed → until when UDP is used at once. */
  private readonly udpOnlyHops = new Map<string, number>();
  /**
   * RFC 3261 §21.5.4: addresses of named next hops that answered 503 with Retry-After, and until
   * when they are tried last (bounded like udpOnlyHops: the oldest entry goes first).
   */
  private readonly resting = new Map<string, number>();
  private emptiedSlots = 0;
  private seq = 0;

  constructor(private readonly o: StatefulProxyOptions<S, C>) {
    this.supported = new Set((o.supportedProxyRequire ?? []).map((t) => t.toLowerCase()));
    this.domains = new Set((o.localDomains ?? []).map((d) => d.toLowerCase()));
  }

  /** Live response contexts (for tests and the admin API). */
  get contextCount(): number {
    return this.contexts.size;
  }

  /** Context-free (stateless) forwarding so far, by event; read by the metrics collector. */
  get statelessCounts(): Readonly<StatelessCounts> {
    return this.stateless;
  }

  /** CANCELs forwarded without a context still waiting for their answer (for memory-bound tests). */
  get unmatchedCancelCount(): number {
    return this.unmatchedCancels.size;
  }

  // ---- inbound requests ---------------------------------------------------------------

  /** A request that created a server transaction (anything but ACK). */
  async onRequest(serverTx: S, req: ProxyRequestMessage, source: SourceAddress, now: number): Promise<void> {
    if (req.method === 'CANCEL') return this.onCancel(serverTx, req, now, source);
    const hash = loopHash(req);
    const upstream = this.liveByUpstream.size === 0 ? undefined : retransmissionKey(req, hash);
    if (upstream !== undefined && this.liveByUpstream.has(upstream)) {
      // A new server transaction for an upstream transaction we already forwarded, whose client
      // transaction still lives: the server transaction ended (RFC 3261 §17.2.1 Timer I after the
      // ACK of a non-2xx, §17.2.2 Timer J, RFC 6026 Timer L) before the client one (Timer D 32 s,
      // Timer M, Timer K). §17.2.3 says it is the same transaction, so this is a late
      // retransmission: forking it again would send the next hop a request on a branch it already
      // answered. It is absorbed, as the old server transaction would have; a 2xx the callee
      // retransmits still goes up statelessly (onResponse / onStrayResponse). The new server
      // transaction is left unanswered (the transaction layer's own guard ends it). The key also
      // holds the loop hash (Request-URI, tags, Call-ID, CSeq number): a peer reusing a branch for
      // a different request is a different transaction, forwarded on a distinct branch (freeSuffix).
      this.stateless.retransmission_absorbed++;
      return;
    }
    const rejection = validateRequest(req, { isOwnAddress: this.o.isOwnAddress, supportedProxyRequire: this.supported });
    if (rejection) {
      this.o.transactions.respond(serverTx, this.o.factory.response(req, rejection.status, rejection.reason, rejection.headers), now);
      return;
    }
    const routing = processRoute(req, this.o.isOwnAddress);
    const toTag = tagOf(req.headers.get('To'));
    if (toTag !== '' && this.o.dialogs) {
      // In-dialog traffic keeps a long call from being swept as idle.
      this.o.dialogs.observeRequest({ callId: req.headers.get('Call-ID') ?? '', fromTag: tagOf(req.headers.get('From')), toTag }, now);
    }
    const ctx = new ResponseContext<S, C>(serverTx, req, hash, source);
    ctx.request = new ProxyRequestContext(req, source, routing, {
      reply: (code, reason, headers) => this.replyLocal(ctx, code, reason, headers, this.at(now)),
      replyWith: (response) => this.replyWith(ctx, response, this.at(now)),
      fork: (targets, opts) => this.fork(ctx, targets, opts, this.at(now)),
      recordRouteDefault: this.o.recordRoute && DIALOG_CREATING.has(req.method) && toTag === '',
    }, this.isLocalUri, this.flowTokens.pick(routing.lastPoppedUser, source.connectionId ?? null));
    this.contexts.set(serverTx, ctx);
    try {
      await this.o.hooks.onRequest(ctx.request);
    } catch (err) {
      this.o.log?.error({ err: errText(err), method: req.method }, 'onRequest handler threw');
      if (!ctx.request.decided) ctx.request.reply(500, 'Server Internal Error');
      return;
    }
    if (!ctx.request.decided) ctx.request.reply(500, 'No Routing Decision');
  }

  /**
   * An ACK that matched no server transaction: the ACK for a 2xx, an end-to-end request of its
   * own (§13.2.2.4). It follows the route set and is forwarded statelessly (§16.11).
   */
  async onAck(ack: ProxyRequestMessage, source: SourceAddress, now: number): Promise<void> {
    const mf = ack.headers.get('Max-Forwards');
    if (mf !== undefined && Number(mf.trim()) <= 0) return;
    const hash = loopHash(ack);
    const routing = processRoute(ack, this.o.isOwnAddress);
    let sent = false;
    const send = (target: ForkTarget | undefined): void => {
      if (sent) return;
      sent = true;
      const fwd = forwardRequest(ack, {
        targetUri: target?.uri ?? ack.uri, path: target?.path, recordRoute: false, inboundTransport: source.transport,
        explicitNextHop: target?.nextHop, advertised: this.o.advertised, advertisedFor: this.advertisedFor, loopHash: hash,
        // §16.11: every retransmission of this ACK leaves with the same branch.
        branchSuffix: branchSuffix(ack, target?.uri ?? ack.uri, 0),
      }, (r) => this.o.factory.copy(r));
      // §16.3 item 4: an ACK whose next hop is ourselves would loop until the datagram overflows.
      if (fwd === undefined || this.o.isOwnAddress(fwd.nextHop.host, fwd.nextHop.port)) return;
      this.o.transactions.sendStateless(fwd.request, fwd.nextHop);
    };
    const request = new ProxyRequestContext(ack, source, routing, {
      reply: () => undefined, // an ACK is never answered (§17.1.1.3)
      replyWith: () => undefined,
      fork: (targets) => send(typeof targets[0] === 'string' ? { uri: targets[0] } : targets[0]),
      recordRouteDefault: false,
    }, this.isLocalUri, this.flowTokens.pick(routing.lastPoppedUser, source.connectionId ?? null));
    try {
      await this.o.hooks.onRequest(request);
    } catch (err) {
      this.o.log?.error({ err: errText(err), method: 'ACK' }, 'onRequest handler threw on ACK');
    }
    void now;
  }

  /** §16.10: CANCEL for a pending INVITE: 200 to the CANCEL, then CANCEL every pending branch. */
  async onCancel(cancelTx: S, cancel: ProxyRequestMessage, now: number, source?: SourceAddress): Promise<void> {
    const inviteTx = this.o.transactions.cancelTarget(cancel);
    const ctx = inviteTx === undefined ? undefined : this.contexts.get(inviteTx);
    if (ctx === undefined) {
      // The INVITE's server transaction outlived its context (dropped after the final and its
      // linger): the context existed and is finished, which §16.10 answers with 200 and nothing else.
      if (inviteTx !== undefined) this.o.transactions.respond(cancelTx, this.o.factory.response(cancel, 200, 'OK'), now);
      else this.forwardUnmatchedCancel(cancelTx, cancel, source?.transport ?? 'UDP', now);
      return;
    }
    this.o.transactions.respond(cancelTx, this.o.factory.response(cancel, 200, 'OK'), now);
    if (ctx.finalStatus !== 0 || ctx.cancelled) return;
    ctx.cancelled = true;
    ctx.queue.length = 0;
    // RFC 3326 §2: the caller's reason for hanging up (e.g. Q.850 cause) travels with our CANCELs.
    const reasons = cancel.headers.getAll('Reason');
    for (const b of ctx.branches) this.cancelBranch(b, now, reasons);
    // The cancel teardown hook (release per-call resources no BYE will clear) is fire-and-forget:
    // it never delays the 487.
    if (this.o.hooks.onCancel) {
      const onErr = (err: unknown): void => this.o.log?.error({ err: errText(err) }, 'onCancel handler threw');
      try {
        Promise.resolve(this.o.hooks.onCancel(ctx.request)).catch(onErr);
      } catch (err) {
        onErr(err);
      }
    }
    // A context whose INVITE never got out (decision still pending) finishes here with 487.
    await this.maybeComplete(ctx, now);
  }

  // ---- responses and timeouts from client transactions --------------------------------

  onResponse(tx: C, res: ProxyResponseMessage, now: number): Promise<void> {
    const entry = this.byClient.get(tx);
    if (entry === undefined) {
      const pending = this.unmatchedCancels.get(tx);
      if (pending !== undefined) this.relayUnmatchedCancelResponse(tx, pending.serverTx, res, now);
      // RFC 6026 §7.2 / §16.7 item 5: a 2xx retransmission the INVITE client transaction passes up
      // (Accepted state) after its context was dropped is still forwarded, as a stateless proxy
      // would (§16.11). Anything else here is our own CANCEL's answer or a late non-2xx: absorbed.
      else if (res.status >= 200 && res.status < 300 && cseqMethodOf(res) === 'INVITE') this.onStrayResponse(res);
      return Promise.resolve();
    }
    return this.serial(entry.ctx, () => this.handleResponse(entry.ctx, entry.branch, res, now));
  }

  /**
   * A response that matched no client transaction (§16.7 ¶1 leaves it to the element; §16.11,
   * §18.1.2): our Via on top → popped and sent to the next Via; otherwise discarded. The usual one
   * is a 2xx retransmission after the INVITE client transaction ended (RFC 6026 Timer M): the UAC
   * must see it to ACK the answered dialog again. True when it went out.
   */
  onStrayResponse(res: ProxyResponseMessage): boolean {
    const send = this.o.transactions.forwardResponseStateless;
    if (send === undefined || processStrayResponse(res, this.o.isOwnAddress) !== 'forward') {
      this.stateless.response_dropped++;
      return false;
    }
    this.stateless.response_forwarded++;
    send.call(this.o.transactions, res);
    return true;
  }

  private serial(ctx: ResponseContext<S, C>, fn: () => Promise<void>): Promise<void> {
    const p = ctx.chain.then(fn);
    ctx.chain = p.catch(() => undefined);
    return p;
  }

  private async handleResponse(ctx: ResponseContext<S, C>, branch: Branch<C>, res: ProxyResponseMessage, now: number): Promise<void> {
    // §16.7 item 3: our own Via is the topmost; remove it before anything goes upstream.
    res.headers.removeFirstValue('Via');
    if (res.headers.get('Via') === undefined) {
      // No Via left: the next hop answered with our Via only (e.g. a 487 built from our CANCEL
      // instead of the INVITE). It still answers this branch, but must not go upstream Via-less
      // (§16.7 item 3): a provisional is dropped, a final carries the Vias of the request as we
      // received it, exactly what the next hop should have echoed (§8.2.6.2).
      if (res.status < 200) return;
      for (const v of ctx.received.headers.getAll('Via')) res.headers.append('Via', v);
    }
    if (res.status < 200) {
      if (branch.done) return;
      branch.provisional = true;
      // §16.6 item 11: Timer C is reset with every provisional response.
      if (branch.timerC !== undefined) {
        branch.timerC = now + this.o.inviteTimeoutMs;
        this.arm(branch.timerC, { ctx, branch, kind: 'C' });
      }
      if (branch.cancelPending) this.sendCancel(branch, now);
      // onReply sees the provisional before it goes up, so a reply-time reject can suppress it.
      if (res.status > 100) await this.reply(ctx, res, now);
      if (dispositionFor(res.status, { method: ctx.method, finalSent: ctx.finalStatus !== 0 }) === 'forward') {
        this.o.transactions.respond(ctx.serverTx, res, now);
      }
      return;
    }
    if (res.status < 300) {
      const first = !branch.done;
      branch.done = true;
      branch.timerC = branch.seqDeadline = undefined;
      const d = dispositionFor(res.status, { method: ctx.method, finalSent: ctx.finalStatus !== 0 });
      if (d === 'forward') {
        if (ctx.finalStatus >= 300) this.o.transactions.forwardResponseStateless?.(res);
        else this.o.transactions.respond(ctx.serverTx, res, now);
        this.observeDialog(ctx, res, now);
        if (ctx.finalStatus === 0) {
          ctx.finalStatus = res.status;
          ctx.queue.length = 0;
          // §16.7 item 10: once a final went upstream, every other pending branch is cancelled,
          // saying why (RFC 3326 §3): a phone then logs no missed call for it.
          for (const b of ctx.branches) this.cancelBranch(b, now, COMPLETED_ELSEWHERE);
          this.scheduleLinger(ctx, now);
        }
      }
      if (first) await this.reply(ctx, res, now);
      return;
    }
    if (branch.done) return; // a late final after Timer C / sequential timeout already decided
    // §4.3 / §21.5.4: a 503 sends the request on to the next address of the same next hop, and
    // one with Retry-After puts that address last for the next requests until then.
    if (res.status === 503 && branch.spec.sendTo !== undefined) this.rest(branch.spec.sendTo, res.headers.get('Retry-After'), now);
    if (res.status === 503 && branch.alternates.length > 0 && this.failOver(ctx, branch, now)) return;
    branch.done = true;
    branch.timerC = branch.seqDeadline = undefined;
    const d = dispositionFor(res.status, { method: ctx.method, finalSent: ctx.finalStatus !== 0 });
    if (d !== 'absorb') {
      // §16.8: the 487 to our own Timer C CANCEL means "no answer in time", which the caller
      // should see as 408, not as a cancellation it never asked for.
      const stored = branch.timedOut && res.status === 487 && !ctx.cancelled
        ? this.o.factory.response(ctx.received, 408, 'Request Timeout') : res;
      ctx.stored.push({ response: stored, branch: branch.index });
      if (d === 'store-and-cancel-others') {
        // §16.7 item 5: a 6xx ends the search: no further sequential targets, CANCEL the rest.
        ctx.queue.length = 0;
        const reason = [`SIP;cause=${res.status};text="${quotedText(res.reason)}"`];
        for (const b of ctx.branches) this.cancelBranch(b, now, reason);
      }
    }
    await this.reply(ctx, res, now);
    this.observeDialog(ctx, res, now);
    await this.afterBranchFinal(ctx, now);
  }

  /**
   * The client transaction gave up: Timer B/F (no final at all) count as a 408 (§16.7 item 2);
   * Timer C follows §16.8. A transport failure counts as a 503 (§16.9).
   */
  onClientTimeout(tx: C, timer: string, now: number): Promise<void> {
    const entry = this.byClient.get(tx);
    if (entry === undefined) {
      // §16.7 item 2: a forwarded CANCEL nobody answered is treated as a 408 and passed up.
      this.finishUnmatchedCancel(tx, 408, 'Request Timeout', now);
      return Promise.resolve();
    }
    const { ctx, branch } = entry;
    return this.serial(ctx, async () => {
      if (branch.done) return;
      if (timer === 'C') await this.timerCFired(ctx, branch, now);
      else if (timer === 'cancelled') {
        // RFC 3261 §9.1: our CANCEL got no 487 within 64*T1 (the callee's answers all lost, or it
        // died ringing): the branch ends as cancelled, so the caller still gets its final (§16.10:
        // 487; §16.8: 408 when our own Timer C did the cancelling).
        const timedOut = branch.timedOut && !ctx.cancelled;
        await this.finishBranchLocally(ctx, branch, timedOut ? 408 : 487, timedOut ? 'Request Timeout' : CANCELLED_REASON, now);
      } else {
        // §4.3: Timer B/F without any response at all means the address is dead: try the next one.
        if (!branch.provisional && branch.tx === tx && this.failOver(ctx, branch, now)) return;
        await this.finishBranchLocally(ctx, branch, 408, 'Request Timeout', now);
      }
    });
  }

  onTransportError(tx: C, now: number): Promise<void> {
    const entry = this.byClient.get(tx);
    if (entry === undefined) {
      // §16.9 makes it a 503, which §16.7 item 6 turns into 500 on its way up.
      this.finishUnmatchedCancel(tx, upstreamStatus(503), 'Server Internal Error', now);
      return Promise.resolve();
    }
    const { ctx, branch } = entry;
    return this.serial(ctx, async () => {
      if (branch.done || branch.tx !== tx) return;
      // §18.1.1's UDP retry only while the request is still wanted: after a CANCEL or another
      // branch's final it would ring a phone only to cancel it again (§16.10, §16.7 item 10).
      if (ctx.cancelled || ctx.finalStatus !== 0) branch.udpFallback = undefined;
      if (this.retryOverUdp(ctx, branch, now) || this.failOver(ctx, branch, now)) return;
      await this.finishBranchLocally(ctx, branch, 503, NEXT_HOP_UNREACHABLE, now);
    });
  }

  /** Drop bookkeeping for a transaction the manager has terminated. */
  onTerminated(tx: C | S): void {
    this.unmatchedCancels.delete(tx as C);
    this.untrackClient(tx as C);
    const entry = this.byClient.get(tx as C);
    if (entry !== undefined && entry.branch.done && entry.ctx.finalStatus !== 0) this.byClient.delete(tx as C);
  }

  /** Fire due proxy timers: Timer C, sequential branch timeouts, context linger. */
  async advance(now: number): Promise<void> {
    for (let e = this.timers.popDue(now); e !== undefined; e = this.timers.popDue(now)) {
      const item = e.item;
      if (item === undefined) {
        this.emptiedSlots = Math.max(0, this.emptiedSlots - 1);
        continue;
      }
      const { ctx, branch: b, kind } = item;
      if (kind === 'trying') {
        // RFC 4320 §4.2: the client has retransmitted up to T2 with no answer; a 100 moves its
        // transaction to Proceeding so it retransmits at T2 only. The only provisional allowed
        // for a non-INVITE (§4.1), and sent once.
        if (ctx.tryingAt === e.at && ctx.finalStatus === 0 && this.contexts.get(ctx.serverTx) === ctx) {
          this.o.transactions.respond(ctx.serverTx, this.o.factory.response(ctx.received, 100, 'Trying'), now);
        }
      } else if (kind === 'linger') {
        if (ctx.lingerUntil === e.at && this.contexts.get(ctx.serverTx) === ctx) {
          if (ctx.pending) this.scheduleLinger(ctx, now); // a cancelled branch still owes its 487
          else this.dropContext(ctx);
        }
      } else if (b !== undefined && !b.done) {
        if (kind === 'C' && b.timerC === e.at) {
          b.timerC = undefined;
          await this.serial(ctx, () => (b.done ? Promise.resolve() : this.timerCFired(ctx, b, now)));
        } else if (kind === 'seq' && b.seqDeadline === e.at) {
          b.seqDeadline = undefined;
          await this.serial(ctx, () => (b.done ? Promise.resolve() : this.timerCFired(ctx, b, now)));
        }
      }
    }
  }

  /** Earliest instant `advance` may have work (possibly a stale entry: an early wake-up is harmless). */
  nextDeadline(): number | undefined {
    return this.timers.peekAt();
  }

  /**
   * A request the proxy itself originates (script `proxy.sendRequest`), with a pre-loaded Route
   * honoured (§8.1.2): explicit next hop > first Route URI > R-URI. Adds our Via.
   */
  originate(req: ProxyRequestMessage, now: number, explicit?: NextHop): C | undefined {
    if (req.headers.get('Max-Forwards') === undefined) req.headers.set('Max-Forwards', '70');
    let hop: ResolvedNextHop | undefined;
    if (applyStrictRouting(req) && explicit === undefined) {
      const h = hopFromUri(req.uri);
      hop = h && { ...h, source: 'route' };
    } else {
      hop = resolveNextHop(req, explicit);
    }
    if (hop === undefined) return undefined;
    const us = this.advertisedFor(hop.transport, hop.host);
    req.headers.prepend('Via', formatVia(hop.transport, us.host, us.port, makeBranch(loopHash(req), this.nextSuffix())));
    return this.o.transactions.sendRequest(req, hop, now);
  }

  // ---- decisions ----------------------------------------------------------------------

  private replyLocal(ctx: ResponseContext<S, C>, code: number, reason: string | undefined,
    headers: ReplyHeaders | undefined, now: number): void {
    const extra: Array<readonly [string, string]> = [];
    for (const [n, v] of Object.entries(headers ?? {})) {
      for (const one of typeof v === 'string' ? [v] : v) extra.push([n, one]);
    }
    this.replyWith(ctx, this.o.factory.response(ctx.received, code, reason ?? defaultReason(code), extra), now);
  }

  private replyWith(ctx: ResponseContext<S, C>, response: ProxyResponseMessage, now: number): void {
    if (ctx.finalStatus !== 0) return;
    this.o.transactions.respond(ctx.serverTx, response, now);
    if (response.status >= 200) {
      const code = response.status;
      ctx.finalStatus = code;
      ctx.queue.length = 0;
      for (const b of ctx.branches) this.cancelBranch(b, now);
      if (!ctx.pending) this.dropContext(ctx);
      else this.scheduleLinger(ctx, now);
    }
  }

  private fork(ctx: ResponseContext<S, C>, targets: ReadonlyArray<string | ForkTarget>, opts: ForkOptions | undefined, now: number): void {
    if (ctx.finalStatus !== 0 || ctx.cancelled) return;
    const list = targets.map((t) => (typeof t === 'string' ? { uri: t } : t));
    if (list.length === 0) {
      // §16.5: no target could be found for the request.
      ctx.request.reply(480, 'Temporarily Unavailable');
      return;
    }
    const sequential = opts?.strategy === 'sequential';
    ctx.branchTimeoutMs = sequential ? (opts?.branchTimeoutSecs ?? this.o.inviteTimeoutMs / 1000) * 1000 : 0;
    if (sequential) {
      // §16.6: higher q first; equal q keeps the given order (Array.prototype.sort is stable).
      const ordered = [...list].sort((a, b) => (b.q ?? 1) - (a.q ?? 1));
      ctx.queue.push(...ordered.slice(1));
      this.startBranch(ctx, ordered[0], now);
    } else {
      for (const t of list) this.startBranch(ctx, t, now);
    }
    const tryingMs = this.o.nonInviteTryingMs;
    if (ctx.method !== 'INVITE' && tryingMs !== undefined && ctx.tryingAt === undefined) {
      ctx.tryingAt = now + tryingMs;
      this.arm(ctx.tryingAt, { ctx, branch: undefined, kind: 'trying' });
    }
    // Targets that failed synchronously (loop to self, transport) may already complete the context.
    if (!ctx.pending) void this.maybeComplete(ctx, now);
  }

  /**
   * `known`: what startBranch already had to wait for: NAPTR's answer for this target's next hop
   * (`located`) and its addresses (`addresses`). Undefined parts are asked (the cache first).
   */
  private startBranch(
    ctx: ResponseContext<S, C>, target: ForkTarget, now: number,
    known: { located?: LocatedTransport | null; addresses?: readonly LocatedAddress[] } = {},
  ): void {
    const index = ctx.branches.length;
    let spec: ForwardSpec = {
      targetUri: target.uri, path: target.path, recordRoute: ctx.request.recordRouteEnabled,
      inboundTransport: ctx.source.transport, inboundHost: ctx.source.address, explicitNextHop: target.nextHop ?? ctx.request.relayNextHop,
      advertised: this.o.advertised, advertisedFor: this.advertisedFor, loopHash: ctx.loopHash,
      branchSuffix: this.freeSuffix(ctx.loopHash, branchSuffix(ctx.received, target.uri, index), ctx.method),
      inboundConnectionId: ctx.source.connectionId, flowToken: this.mintFlowToken,
    };
    const copy = (r: ProxyRequestMessage): ProxyRequestMessage => this.o.factory.copy(r);
    let fwd = forwardRequest(ctx.received, spec, copy);
    if (fwd === undefined) {
      this.storeLocal(ctx, 416, 'Unsupported URI Scheme', now);
      return;
    }
    const locator = this.o.transportLocator;
    // A hop with a connection to use (a contact's registration flow) is not located: the connection
    // is tried first, and its fallback host is resolved by the transport if the connection has gone.
    const overConnection = fwd.nextHop.connectionId !== undefined;
    if (fwd.nextHop.naptr === true && locator !== undefined && !overConnection) {
      // RFC 3263 §4.1: the transport comes from NAPTR, and the Via and Record-Route name it.
      const host = fwd.nextHop.host;
      const choice = known.located !== undefined ? known.located : locator.locatedNow(host, false);
      if (choice === undefined) {
        this.locateThen(ctx, now, (resume) => locator.locate(host, false, (located) => resume(() => this.startBranch(ctx, target, this.at(now), { ...known, located }))));
        return;
      }
      spec = { ...spec, located: choice };
      fwd = forwardRequest(ctx.received, spec, copy) ?? fwd;
    }
    // RFC 3263 §4.3: a named next hop's addresses, tried in turn; the branch leaves for the first.
    let alternates: LocatedAddress[] = [];
    if (locator?.targets !== undefined && !overConnection && isIP(stripBrackets(fwd.nextHop.host)) === 0) {
      const hop = fwd.nextHop;
      let addresses = known.addresses;
      if (addresses === undefined) {
        // Mostly answered synchronously from the cache; otherwise the branch starts on the answer.
        let answered: readonly LocatedAddress[] | undefined;
        let later: ((found: readonly LocatedAddress[]) => void) | undefined;
        locator.targets(hop, (found) => (later !== undefined ? later(found) : (answered = found)));
        if (answered === undefined) {
          this.locateThen(ctx, now, (resume) => {
            later = (found) => resume(() => this.startBranch(ctx, target, this.at(now), { ...known, addresses: found }));
          });
          return;
        }
        addresses = answered;
      }
      if (addresses.length === 0) {
        this.stateless.next_hop_unresolved++;
        this.storeLocal(ctx, 503, NEXT_HOP_UNREACHABLE, now); // §16.9: nowhere to send it
        return;
      }
      const order = this.restingLast(addresses, now);
      alternates = order.slice(1);
      spec = { ...spec, sendTo: order[0] };
      fwd = forwardRequest(ctx.received, spec, copy) ?? fwd;
    }
    // §16.3 item 4: a next hop that is one of our own listeners would loop straight back.
    if (this.o.isOwnAddress(fwd.nextHop.host, fwd.nextHop.port)) {
      this.storeLocal(ctx, 482, 'Loop Detected', now);
      return;
    }
    // RFC 3261 §18.1.1: a request larger than 1300 bytes (path MTU unknown, or Ethernet's 1500 less
    // 200) MUST go over a congestion-controlled transport. It moves to TCP, keeping the UDP form
    // (with its own branch: a new transaction) in case the next hop refuses TCP; then the SHOULD
    // of the same section applies and it is retried over UDP.
    let udpFallback: ForwardedRequest | undefined;
    if (this.tooLargeForUdp(fwd, ctx.received, now)) {
      const overTcp = forwardRequest(ctx.received, { ...spec, transport: 'TCP' }, copy);
      if (overTcp !== undefined) {
        const udpSuffix = this.freeSuffix(ctx.loopHash, `${spec.branchSuffix}u`, ctx.method);
        udpFallback = forwardRequest(ctx.received, { ...spec, branchSuffix: udpSuffix }, copy);
        fwd = overTcp;
      }
    }
    const tx = this.o.transactions.sendRequest(fwd.request, fwd.nextHop, now);
    if (tx === undefined) {
      this.storeLocal(ctx, 503, NEXT_HOP_UNREACHABLE, now); // §16.9
      return;
    }
    const branch: Branch<C> = {
      index, request: fwd.request, nextHop: fwd.nextHop, tx, spec, alternates, udpFallback, done: false, provisional: false,
      cancelPending: false, cancelSent: false, cancelReasons: NO_REASONS, timedOut: false,
      timerC: ctx.method === 'INVITE' ? now + this.o.inviteTimeoutMs : undefined,
      seqDeadline: ctx.branchTimeoutMs > 0 ? now + ctx.branchTimeoutMs : undefined,
    };
    ctx.branches.push(branch);
    this.byClient.set(tx, { ctx, branch });
    this.trackClient(tx, fwd.branch, ctx.method, retransmissionKey(ctx.received, ctx.loopHash));
    if (branch.timerC !== undefined) this.arm(branch.timerC, { ctx, branch, kind: 'C' });
    if (branch.seqDeadline !== undefined) this.arm(branch.seqDeadline, { ctx, branch, kind: 'seq' });
  }

  /**
   * §18.1.1: over UDP, `fwd` would exceed the size limit, and this node can send over TCP, and the
   * next hop has not recently failed a TCP attempt (then UDP it is, as the retry would be anyway).
   */
  private tooLargeForUdp(fwd: ForwardedRequest, received: ProxyRequestMessage, now: number): boolean {
    const limit = this.o.udpSizeLimit ?? 1300;
    if (limit <= 0 || fwd.nextHop.transport.toUpperCase() !== 'UDP' || this.o.advertisedByTransport?.has('TCP') !== true) return false;
    if (this.o.factory.largerThan?.(fwd.request, limit, received) !== true) return false;
    const key = hopKey(fwd.nextHop);
    const until = this.udpOnlyHops.get(key);
    if (until === undefined) return true;
    if (until > now) return false;
    this.udpOnlyHops.delete(key);
    return true;
  }

  /** Remembers a next hop that failed a size-driven TCP attempt (bounded: the oldest entry goes first). */
  private rememberUdpOnly(hop: NextHop, now: number): void {
    setBounded(this.udpOnlyHops, hopKey(hop), now + (this.o.udpOnlyMemoryMs ?? 600_000), HOPS_REMEMBERED);
  }

  /** §21.5.4: remembers an address that asked for a rest (Retry-After delta-seconds, at most an hour). */
  private rest(address: LocatedAddress, retryAfter: string | undefined, now: number): void {
    const secs = /^\s*(\d{1,9})/.exec(retryAfter ?? '');
    if (secs === null || Number(secs[1]) === 0) return;
    setBounded(this.resting, `${address.address}|${address.port}`, now + Math.min(Number(secs[1]), 3600) * 1000, HOPS_REMEMBERED);
  }

  /** The addresses in the order to try them: those resting (§21.5.4) after the others, each group in DNS order. */
  private restingLast(addresses: readonly LocatedAddress[], now: number): readonly LocatedAddress[] {
    if (this.resting.size === 0) return addresses;
    const ready: LocatedAddress[] = [];
    const later: LocatedAddress[] = [];
    for (const a of addresses) {
      const key = `${a.address}|${a.port}`;
      const until = this.resting.get(key);
      if (until !== undefined && until <= now) this.resting.delete(key);
      (until !== undefined && until > now ? later : ready).push(a);
    }
    return later.length === 0 ? addresses : [...ready, ...later];
  }

  /**
   * A branch that must wait for DNS before it can be built: the context stays pending meanwhile,
   * and the branch starts when the answer is in, unless the context was cancelled or answered.
   */
  private locateThen(ctx: ResponseContext<S, C>, now: number, ask: (resume: (start: () => void) => void) => void): void {
    ctx.locating++;
    ask((start) => {
      ctx.locating--;
      if (ctx.finalStatus === 0 && !ctx.cancelled) start();
      if (!ctx.pending) void this.maybeComplete(ctx, this.at(now));
    });
  }

  /**
   * RFC 3263 §4.3 (and RFC 3261 §21.5.4 for a 503): the branch's next hop failed (a 503, a timeout
   * without any response, a transport error), so the same request goes to the hop's next address
   * as a new client transaction (a new branch id) on the same branch of the response context.
   * False when no address is left or the request is no longer wanted.
   */
  private failOver(ctx: ResponseContext<S, C>, branch: Branch<C>, now: number): boolean {
    if (ctx.cancelled || ctx.finalStatus !== 0) return false;
    const copy = (r: ProxyRequestMessage): ProxyRequestMessage => this.o.factory.copy(r);
    for (let next = branch.alternates.shift(); next !== undefined; next = branch.alternates.shift()) {
      if (this.o.isOwnAddress(next.address, next.port)) continue; // §16.3 item 4: not to ourselves
      const suffix = this.freeSuffix(ctx.loopHash, `${branch.spec.branchSuffix}f${branch.alternates.length}`, ctx.method);
      const spec: ForwardSpec = { ...branch.spec, sendTo: next, branchSuffix: suffix };
      const fwd = forwardRequest(ctx.received, spec, copy);
      if (fwd === undefined) return false;
      const tx = this.o.transactions.sendRequest(fwd.request, fwd.nextHop, now);
      if (tx === undefined) continue;
      this.byClient.delete(branch.tx);
      branch.spec = spec;
      branch.tx = tx;
      branch.request = fwd.request;
      branch.nextHop = fwd.nextHop;
      branch.udpFallback = undefined;
      branch.provisional = false;
      this.byClient.set(tx, { ctx, branch });
      this.trackClient(tx, fwd.branch, ctx.method, retransmissionKey(ctx.received, ctx.loopHash));
      this.stateless.failover++;
      return true;
    }
    return false;
  }

  /**
   * §18.1.1: the TCP attempt of a request moved off UDP for its size failed to connect, so it is
   * retried over UDP as a new client transaction on the same branch of the response context.
   */
  private retryOverUdp(ctx: ResponseContext<S, C>, branch: Branch<C>, now: number): boolean {
    const fallback = branch.udpFallback;
    branch.udpFallback = undefined;
    if (fallback === undefined) return false;
    this.rememberUdpOnly(fallback.nextHop, now);
    const tx = this.o.transactions.sendRequest(fallback.request, fallback.nextHop, now);
    if (tx === undefined) return false;
    this.byClient.delete(branch.tx);
    branch.tx = tx;
    branch.request = fallback.request;
    branch.nextHop = fallback.nextHop;
    this.byClient.set(tx, { ctx, branch });
    this.trackClient(tx, fallback.branch, ctx.method, retransmissionKey(ctx.received, ctx.loopHash));
    return true;
  }

  /** A branch that never left: its local outcome joins the response context as a final. */
  private storeLocal(ctx: ResponseContext<S, C>, status: number, reason: string, now: number): void {
    ctx.stored.push({ response: this.o.factory.response(ctx.received, status, reason), branch: -1 });
    this.startNextQueued(ctx, now);
  }

  private startNextQueued(ctx: ResponseContext<S, C>, now: number): void {
    const next = ctx.queue.shift();
    if (next !== undefined) this.startBranch(ctx, next, now);
  }

  // ---- CANCEL and timers --------------------------------------------------------------

  /**
   * RFC 3261 §16.10: "If a response context is not found, the element does not have any knowledge
   * of the request to apply the CANCEL to. It MUST statelessly forward the CANCEL request (it may
   * have statelessly forwarded the associated request previously)." That is what happens after a
   * failover, or when another node of the cluster forwarded the INVITE. The CANCEL is validated
   * (§16.3: 483 at Max-Forwards 0), Route-processed (§16.4) and sent to its Route / Request-URI
   * next hop (§16.11: no script, no registrar lookup) with Max-Forwards decremented and our Via,
   * whose branch is the one the INVITE got when relayed to the same next hop (branchSuffix), so the
   * next hop can match it. We never answer it 200 ourselves: the next hop's answer is relayed.
   * Only when the next hop would be ourselves (or there is none) is 481 the right answer (§9.2).
   *
   * The hop goes out through a client transaction rather than a bare datagram: the server
   * transaction below us absorbs the UAC's CANCEL retransmissions (§17.2.2), so a CANCEL lost on
   * UDP would otherwise never be sent again; with it, Timer E retransmits our copy, and the next
   * hop's answer completes the server transaction (which then answers retransmissions itself).
   */
  private forwardUnmatchedCancel(cancelTx: S, cancel: ProxyRequestMessage, inboundTransport: string, now: number): void {
    const answer = (status: number, reason: string, headers?: ReadonlyArray<readonly [string, string]>): void => {
      this.o.transactions.respond(cancelTx, this.o.factory.response(cancel, status, reason, headers), now);
    };
    const rejection = validateRequest(cancel, { isOwnAddress: this.o.isOwnAddress, supportedProxyRequire: this.supported });
    if (rejection) {
      this.stateless.cancel_rejected++;
      answer(rejection.status, rejection.reason, rejection.headers);
      return;
    }
    const hash = loopHash(cancel); // as received, like the INVITE's (before §16.4)
    processRoute(cancel, this.o.isOwnAddress);
    const fwd = forwardRequest(cancel, {
      targetUri: cancel.uri, recordRoute: false, inboundTransport, advertised: this.o.advertised, advertisedFor: this.advertisedFor, loopHash: hash,
      branchSuffix: this.freeSuffix(hash, branchSuffix(cancel, cancel.uri, 0), 'CANCEL'),
    }, (r) => this.o.factory.copy(r));
    // A Request-URI naming us or a domain we serve, with no Route left, would need the registrar
    // lookup a stateless forward does not make: the next hop is ourselves, there is nothing to cancel.
    const noHop = fwd === undefined || this.o.isOwnAddress(fwd.nextHop.host, fwd.nextHop.port)
      || (fwd.nextHop.source === 'ruri' && this.isLocalUri(cancel.uri));
    if (noHop) {
      this.stateless.cancel_no_next_hop++;
      answer(481, 'Call/Transaction Does Not Exist');
      return;
    }
    const tx = this.o.transactions.sendRequest(fwd.request, fwd.nextHop, now);
    if (tx === undefined) {
      answer(upstreamStatus(503), 'Server Internal Error'); // §16.9, §16.7 item 6
      return;
    }
    this.stateless.cancel_forwarded++;
    this.unmatchedCancels.set(tx, { serverTx: cancelTx, cancel });
    this.trackClient(tx, fwd.branch, 'CANCEL', undefined);
  }

  /** The next hop's answer to an unmatched CANCEL goes up unchanged but for our Via (§16.7 item 3). */
  private relayUnmatchedCancelResponse(tx: C, cancelTx: S, res: ProxyResponseMessage, now: number): void {
    if (res.status >= 200) this.unmatchedCancels.delete(tx);
    if (res.status === 100) return; // hop-by-hop (§16.7 item 3); the server transaction sent its own
    res.headers.removeFirstValue('Via');
    this.o.transactions.respond(cancelTx, res, now);
  }

  private finishUnmatchedCancel(tx: C, status: number, reason: string, now: number): void {
    const pending = this.unmatchedCancels.get(tx);
    if (pending === undefined) return;
    this.unmatchedCancels.delete(tx);
    // RFC 4320 §4.2: a CANCEL is a non-INVITE, so its timeout is never answered with 408 (the
    // upstream client's own Timer F ends its transaction; ours ends by its guard).
    if (status === 408) {
      this.stateless.non_invite_timeout_unanswered++;
      return;
    }
    this.o.transactions.respond(pending.serverTx, this.o.factory.response(pending.cancel, status, reason), now);
  }

  private cancelBranch(b: Branch<C>, now: number, reasons: readonly string[] = NO_REASONS): void {
    if (b.done || b.cancelSent || b.request.method !== 'INVITE') return;
    if (b.cancelReasons.length === 0) b.cancelReasons = reasons;
    // §9.1: "If no provisional response has been received, the CANCEL request MUST NOT be sent;
    // rather, the client MUST wait for the arrival of a provisional response".
    if (!b.provisional) {
      b.cancelPending = true;
      return;
    }
    this.sendCancel(b, now);
  }

  private sendCancel(b: Branch<C>, now: number): void {
    b.cancelPending = false;
    b.cancelSent = true;
    // §9.1: the CANCEL carries the INVITE's branch. One already out on it (forwarded for a CANCEL
    // that found no context) cancels the same downstream transaction: a second is not needed.
    const via = b.request.headers.get('Via');
    const branch = via === undefined ? undefined : branchParamOf(via);
    if (branch !== undefined && this.branchInUse(branch, 'CANCEL')) return;
    const tx = this.o.transactions.sendRequest(buildCancel(b.request, this.o.factory, b.cancelReasons), b.nextHop, now);
    if (tx !== undefined && branch !== undefined) this.trackClient(tx, branch, 'CANCEL', undefined);
  }

  /**
   * `suffix` when the branch it makes (after the loop hash) names no live client transaction of
   * `method`; else a distinct one. The derived suffix is a function of the upstream transaction, so
   * it repeats when a peer reuses a branch with another sent-by or method variant that §17.2.3
   * makes a separate server transaction. The loop hash stays in front (§16.6 item 8, §16.3 item 4
   * still read it); the instance-unique counter appended after it never repeats.
   */
  private freeSuffix(hash: string, suffix: string, method: string): string {
    if (!this.branchInUse(makeBranch(hash, suffix), method)) return suffix;
    this.stateless.branch_collision++;
    return `${suffix}-${this.nextSuffix()}`;
  }

  private branchInUse(branch: string, method: string): boolean {
    const exists = this.o.transactions.clientExists;
    return exists !== undefined ? exists(branch, method) : this.branchIdsInUse.has(branchIdKey(branch, method));
  }

  /**
   * Remembers a client transaction we created until the transaction layer terminates it: its
   * upstream identity always, its branch only when the port cannot tell (clientExists) itself.
   */
  private trackClient(tx: C, branch: string, method: string, upstream: string | undefined): void {
    if (this.o.transactions.clientExists === undefined) {
      const id = branchIdKey(branch, method);
      this.liveBranchIds.set(tx, id);
      this.branchIdsInUse.add(id);
    }
    if (upstream === undefined) return;
    this.upstreamOfClient.set(tx, upstream);
    this.liveByUpstream.set(upstream, (this.liveByUpstream.get(upstream) ?? 0) + 1);
  }

  private untrackClient(tx: C): void {
    const id = this.liveBranchIds.get(tx);
    if (id !== undefined) {
      this.liveBranchIds.delete(tx);
      this.branchIdsInUse.delete(id);
    }
    const upstream = this.upstreamOfClient.get(tx);
    if (upstream === undefined) return;
    this.upstreamOfClient.delete(tx);
    const left = (this.liveByUpstream.get(upstream) ?? 1) - 1;
    if (left > 0) this.liveByUpstream.set(upstream, left);
    else this.liveByUpstream.delete(upstream);
  }

  /** Client transactions the proxy created that the transaction layer has not terminated yet (memory-bound tests). */
  get trackedClientCount(): number {
    return Math.max(this.liveBranchIds.size, this.upstreamOfClient.size);
  }

  /** §16.8: Timer C (or a sequential branch timeout) fired on a pending branch. */
  private async timerCFired(ctx: ResponseContext<S, C>, b: Branch<C>, now: number): Promise<void> {
    if (b.provisional) {
      // The branch is alerting: CANCEL it; its 487 finishes the branch. A sequential fork moves on.
      b.timedOut = true;
      this.cancelBranch(b, now);
      if (ctx.branchTimeoutMs > 0 && ctx.queue.length > 0 && !ctx.cancelled && ctx.finalStatus === 0) {
        b.done = true;
        this.startNextQueued(ctx, now);
        await this.maybeComplete(ctx, now);
      }
      return;
    }
    // No provisional: behave as if the transaction received a 408.
    await this.finishBranchLocally(ctx, b, 408, 'Request Timeout', now);
  }

  private async finishBranchLocally(ctx: ResponseContext<S, C>, b: Branch<C>, status: number, reason: string, now: number): Promise<void> {
    b.done = true;
    b.timerC = b.seqDeadline = undefined;
    // If the branch never answered, a later provisional would still call for our CANCEL.
    if (b.request.method === 'INVITE') b.cancelPending = true;
    if (ctx.finalStatus === 0) ctx.stored.push({ response: this.o.factory.response(ctx.received, status, reason), branch: b.index });
    await this.afterBranchFinal(ctx, now);
  }

  private async afterBranchFinal(ctx: ResponseContext<S, C>, now: number): Promise<void> {
    if (ctx.finalStatus === 0 && !ctx.cancelled && ctx.queue.length > 0 && !ctx.branches.some((b) => !b.done)) {
      this.startNextQueued(ctx, now);
    }
    await this.maybeComplete(ctx, now);
  }

  /** §16.7 item 6: all branches finished and nothing went upstream yet → send the best final. */
  private async maybeComplete(ctx: ResponseContext<S, C>, now: number): Promise<void> {
    if (ctx.finalStatus !== 0 || ctx.pending) return;
    if (!ctx.request.decided && !ctx.cancelled) return; // the script has not decided yet
    if (ctx.cancelled) {
      // §16.10 / §9.2: the cancelled INVITE ends with 487, whatever the branches said: a branch's
      // own 487 when there is one, else ours.
      const own487 = ctx.stored.find((s) => s.response.status === 487 && s.branch >= 0);
      this.sendFinal(ctx, own487?.response ?? this.o.factory.response(ctx.received, 487, CANCELLED_REASON), now);
      return;
    }
    const best = selectBestResponse(ctx.stored.map((s) => s.response.status), ctx.method !== 'INVITE');
    let response = best.kind === 'generate'
      ? this.o.factory.response(ctx.received, 408, 'Request Timeout')
      : ctx.stored[best.index].response;
    if (this.o.hooks.onFailure && ctx.failureRounds < MAX_FAILURE_ROUNDS) {
      ctx.failureRounds++;
      try {
        await this.o.hooks.onFailure(ctx.request, this.scriptResponse(ctx, response, now));
      } catch (err) {
        this.o.log?.error({ err: errText(err) }, 'onFailure handler threw');
      }
      // The handler may have forked anew (serial hunting) or replied itself.
      if (ctx.finalStatus !== 0 || ctx.pending) return;
    }
    if (best.kind === 'stored') {
      const mapped = upstreamStatus(best.status);
      // A 503 we made for a next hop we could not reach keeps saying so as a 500 (an operator reading
      // the caller's trace should not hunt for an internal fault).
      const reason = response.reason === NEXT_HOP_UNREACHABLE ? NEXT_HOP_UNREACHABLE : 'Server Internal Error';
      if (mapped !== best.status) response = this.o.factory.response(ctx.received, mapped, reason);
      for (const i of challengeSources(ctx.stored.map((s) => s.response.status), best.status)) {
        if (i === best.index) continue;
        for (const name of ['WWW-Authenticate', 'Proxy-Authenticate']) {
          for (const v of ctx.stored[i].response.headers.getAll(name)) response.headers.append(name, v);
        }
      }
    }
    if (response.status === 408 && ctx.method !== 'INVITE') {
      // RFC 4320 §4.2: an element MUST NOT send 408 to a non-INVITE. By now the upstream client's
      // Timer F (started before ours) has fired: nobody awaits an answer, so none goes up, and the
      // server transaction absorbs any late retransmission until its own guard ends it.
      ctx.finalStatus = response.status;
      this.stateless.non_invite_timeout_unanswered++;
      // §15: a BYE nobody answered ends its dialog all the same (as a 408 to it would).
      if (ctx.method === 'BYE') this.observeDialog(ctx, response, now);
      this.dropContext(ctx);
      return;
    }
    this.sendFinal(ctx, response, now);
  }

  private sendFinal(ctx: ResponseContext<S, C>, response: ProxyResponseMessage, now: number): void {
    ctx.finalStatus = response.status;
    this.o.transactions.respond(ctx.serverTx, response, now);
    this.scheduleLinger(ctx, now);
  }

  private scheduleLinger(ctx: ResponseContext<S, C>, now: number): void {
    // With every branch finished nothing more is owed to this context: a further 2xx (a fork
    // downstream, or a retransmission the INVITE client transaction passes up in Accepted) is
    // forwarded statelessly by onResponse (§16.7 item 5, §16.11), and a late CANCEL is answered by
    // onCancel. Dropping it now matters: a lingering context keeps both INVITEs (received and
    // forwarded) alive for 64·T1, which at a thousand calls a second is most of the heap.
    if (!ctx.pending) {
      this.dropContext(ctx);
      return;
    }
    ctx.lingerUntil = now + (this.o.lingerMs ?? 32_000);
    this.arm(ctx.lingerUntil, { ctx, branch: undefined, kind: 'linger' });
  }

  private dropContext(ctx: ResponseContext<S, C>): void {
    this.contexts.delete(ctx.serverTx);
    for (const b of ctx.branches) this.byClient.delete(b.tx);
    for (const s of ctx.slots) {
      if (s.item !== undefined) this.emptiedSlots++;
      s.item = undefined;
    }
    ctx.slots.length = 0;
    // Mostly-empty heap (many calls ended long before their Timer C): compact it in one O(n) pass.
    if (this.emptiedSlots > 4096 && this.emptiedSlots * 2 > this.timers.size) {
      this.timers.retain((item) => item !== undefined);
      this.emptiedSlots = 0;
    }
  }

  private arm(at: number, item: TimerItem<S, C>): void {
    item.ctx.slots.push(this.timers.push(at, item));
  }

  /** Heap entries, live and emptied (for memory-bound tests). */
  get queuedTimers(): number {
    return this.timers.size;
  }

  private scriptResponse(ctx: ResponseContext<S, C>, res: ProxyResponseMessage, now: number): ScriptResponse {
    return {
      status: res.status, reason: res.reason, header: (n) => res.headers.get(n),
      reject: (code, reason) => {
        if (res.status >= 200 || ctx.finalStatus !== 0 || code < 300 || code > 699) return false;
        this.replyLocal(ctx, code, reason, undefined, this.at(now));
        return true;
      },
    };
  }

  private async reply(ctx: ResponseContext<S, C>, res: ProxyResponseMessage, now: number): Promise<void> {
    if (!this.o.hooks.onReply) return;
    try {
      await this.o.hooks.onReply(ctx.request, this.scriptResponse(ctx, res, now));
    } catch (err) {
      this.o.log?.error({ err: errText(err) }, 'onReply handler threw');
    }
  }

  private observeDialog(ctx: ResponseContext<S, C>, res: ProxyResponseMessage, now: number): void {
    if (!this.o.dialogs) return;
    const cseqMethod = (res.headers.get('CSeq') ?? '').trim().split(/\s+/)[1] ?? ctx.method;
    this.o.dialogs.observeResponse({
      cseqMethod: cseqMethod.toUpperCase(), status: res.status, callId: res.headers.get('Call-ID') ?? '',
      fromTag: tagOf(res.headers.get('From')), toTag: tagOf(res.headers.get('To')),
    }, now);
  }

  private at(fallback: number): number {
    return this.o.clock ? this.o.clock() : fallback;
  }

  private nextSuffix(): string {
    return `${this.instance}${(++this.seq).toString(36)}`;
  }
}

function defaultReason(code: number): string {
  const reasons: Record<number, string> = {
    100: 'Trying', 180: 'Ringing', 183: 'Session Progress', 200: 'OK', 202: 'Accepted', 400: 'Bad Request',
    403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed', 408: 'Request Timeout', 480: 'Temporarily Unavailable',
    481: 'Call/Transaction Does Not Exist', 482: 'Loop Detected', 483: 'Too Many Hops', 484: 'Address Incomplete',
    486: 'Busy Here', 487: 'Request Terminated', 500: 'Server Internal Error', 503: 'Service Unavailable',
    603: 'Decline',
  };
  return reasons[code] ?? (code < 300 ? 'OK' : 'Error');
}

/** The method in a response's CSeq, upper-cased ('' when unreadable). */
function cseqMethodOf(res: ProxyResponseMessage): string {
  const parts = (res.headers.get('CSeq') ?? '').trim().split(/\s+/);
  return (parts[1] ?? '').toUpperCase();
}

/**
 * What a retransmission repeats: the §17.2.3 key (branch, sent-by, method) and the fields of the
 * loop hash. Undefined for an RFC 2543 request (no branch of the RFC 3261 form).
 */
function retransmissionKey(req: ProxyRequestMessage, hash: string): string | undefined {
  const key = upstreamTransactionKey(req);
  return key === undefined ? undefined : `${key}\n${hash}`;
}

function branchIdKey(branch: string, method: string): string {
  return `${branch} ${method}`;
}

function hopKey(hop: NextHop): string {
  return `${hop.host.toLowerCase()}:${hop.port}`;
}

/** 'IPv6' for an IPv6 literal (bracketed or not), else 'IPv4' (host names resolve to IPv4 here). */
function addressFamily(host: string): 'IPv4' | 'IPv6' {
  return host.includes(':') ? 'IPv6' : 'IPv4';
}

/** A reason phrase as the quoted-string of a Reason text parameter (RFC 3326 §2, RFC 3261 §25.1). */
function quotedText(reason: string): string {
  return reason.replace(/[\\"]/g, '\\$&').replace(/[\r\n]/g, ' ');
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Sets `key` as the newest entry of a map kept to `max` entries: Map order is the eviction order, the oldest goes first. */
function setBounded<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  map.delete(key);
  if (map.size >= max) {
    const oldest = map.keys().next();
    if (oldest.done !== true) map.delete(oldest.value);
  }
  map.set(key, value);
}
