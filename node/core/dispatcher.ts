/**
 * Inbound pipeline: bytes → parse → Via stamping (received/rport) → validate → the RFC 3261 §17
 * transaction layer → route; and the reply path (§8.2.6 response construction, §18.2.2 response
 * addressing). Bad input never throws out of here: parse failures become a 400 when the start line
 * was a readable request, otherwise a counted drop.
 *
 * The transaction manager is pure; this class is its I/O shell: it feeds it parsed messages with a
 * monotonic clock, arms one OS timer at `nextDeadline()`, and serializes what it asks to send.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from '../log/index.js';
import type { NodeMetrics } from '../metrics/index.js';
import {
  SipParseError,
  createErrorResponse,
  createResponse,
  formatVia,
  parseMessage,
  serialize,
  validateRequest,
  type SipMessage,
  type SipRequest,
  type SipResponse,
  type Via,
} from '../sip/index.js';
import {
  SipRequestView,
  SipResponseView,
  TransactionManager,
  sipMessageFactory,
  sipMessageOf,
  viewOf,
  localResponseView,
  type MessageView,
  type RequestView,
  type ServerTx,
  type TimerConfig,
  type Tx,
} from '../transaction/index.js';
import type { Endpoint, FramingFailure, InboundHandler, MessageSource, StreamKind } from '../transport/index.js';
import { responseDestination } from './response-destination.js';
import type { HeaderLine, RequestContext, Route } from './route.js';
import { stampVia } from './via-stamp.js';

export interface DispatcherOptions {
  readonly serverHeader: string;
  readonly forceRport: boolean;
  readonly timers: TimerConfig;
  /** Monotonic milliseconds; injectable for tests. */
  readonly now?: () => number;
  readonly maxTransactions?: number;
  /**
   * Overload control: asked for each request that would create a server transaction; false answers
   * it 503 with `Retry-After: retryAfterSecs` and no state (overload-monitor.ts).
   */
  readonly admit?: (request: RequestView) => boolean;
  /** Retry-After of a 503 for a node out of capacity (overload control, a full transaction table). */
  readonly retryAfterSecs?: number;
}

/** What the dispatcher needs from the transports to send. */
export interface ReplyTransport {
  /** `onFailure`: the destination cannot be addressed (called after the send returned). */
  sendUdp(bytes: Buffer, from: MessageSource, dest: Endpoint, onFailure?: () => void): void;
  /** Over a known connection; false when that connection is gone. */
  sendOnConnection(connectionId: number, bytes: Buffer): boolean;
  /**
   * Connects (or reuses a connection) and sends; false when the message cannot go out at all.
   * `onFailure` runs later if a connect it waited behind fails (refused, reset, timed out).
   */
  sendStream(kind: StreamKind, bytes: Buffer, dest: Endpoint, onFailure?: () => void): boolean;
  /** RFC 5923: offer an inbound TLS connection for requests to `host`:`port`; false when refused. */
  aliasConnection?(connectionId: number, host: string, port: number): boolean;
}

const KNOWN_METHODS = new Set([
  'INVITE', 'ACK', 'BYE', 'CANCEL', 'OPTIONS', 'REGISTER', 'PRACK', 'SUBSCRIBE', 'NOTIFY', 'PUBLISH', 'INFO', 'REFER', 'MESSAGE', 'UPDATE',
]);

function newTag(): string {
  return randomBytes(6).toString('hex');
}

export class Dispatcher implements InboundHandler {
  private route: Route;
  private readonly counts = {
    received: 0,
    requests: 0,
    retransmissions_absorbed: 0,
    stateless_acks_absorbed: 0,
    responses_in: 0,
    responses_sent: 0,
    parse_errors: 0,
    dropped: 0,
  };
  /**
   * The To tag of every final response sent without a transaction (a 400 for a broken request, a
   * 503 under overload): the ACK a client sends for it (§17.1.1.3) matches no transaction, and this
   * tag is how it is recognised and absorbed here instead of being routed on like the ACK for a 2xx.
   */
  private readonly statelessTag = `sl${randomBytes(6).toString('hex')}`;
  readonly transactions: TransactionManager<MessageSource>;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Number.POSITIVE_INFINITY;
  private stopped = false;

  constructor(
    private readonly opts: DispatcherOptions,
    private readonly transport: ReplyTransport,
    private readonly metrics: NodeMetrics,
    private readonly log: Logger,
    route: Route,
  ) {
    this.route = route;
    this.now = opts.now ?? (() => performance.now());
    this.transactions = new TransactionManager<MessageSource>({
      config: opts.timers,
      factory: sipMessageFactory,
      isReliable: (peer) => peer.transport !== 'udp',
      maxTransactions: opts.maxTransactions,
      admit: opts.admit,
      onFirstFinal: (elapsedMs) => this.metrics.requestDuration.observe(elapsedMs / 1000),
      transport: { send: (message, dest, tx) => this.sendMessage(message, dest, tx) },
      tu: {
        request: (tx, request, source) => this.toRoute(sipMessageOf(request) as SipRequest, source, tx),
        ack: (tx, ack, source) => {
          if (tx === undefined && ack.toTag === this.statelessTag) this.counts.stateless_acks_absorbed++;
          else this.toRoute(sipMessageOf(ack) as SipRequest, source, null);
        },
        response: (tx, response) => this.route.onClientResponse?.(sipMessageOf(response) as SipResponse, tx),
        strayResponse: (response, source) => {
          // §16.11 / §18.1.2: a proxy route forwards it when our Via is on top (through
          // `forwardResponse`) and returns true; anything else is discarded and counted here.
          const handled = this.route.onResponse?.(sipMessageOf(response) as SipResponse, source) ?? false;
          if (!handled) this.drop('stray-response');
        },
        timeout: (tx, timer) => {
          this.log.debug({ tx: tx.id, timer }, 'transaction timeout');
          this.route.onTransactionTimeout?.(tx, timer);
        },
        transportError: (tx) => {
          this.log.debug({ tx: tx.id }, 'transaction transport error');
          this.route.onTransportError?.(tx);
        },
        terminated: (tx) => this.route.onTransactionTerminated?.(tx),
        // §21.5.4: a node out of capacity says when to come back.
        overloaded: (request, source) =>
          this.statelessReply(sipMessageOf(request) as SipRequest, source, 503, 'Service Unavailable', [['Retry-After', String(opts.retryAfterSecs ?? 5)]]),
      },
    });
  }

  /** Replaces the route (registrar/proxy/script install theirs at start-up or on reload). */
  setRoute(route: Route): void {
    this.route = route;
  }

  /** The installed route is a start-up placeholder (see `Route.starting`). */
  get routeStarting(): boolean {
    return this.route.starting === true;
  }

  stats(): Readonly<Record<string, number>> {
    return { ...this.counts, transactions_active: this.transactions.activeCount };
  }

  /** Stops the transaction timer (sockets are closed by the transports). */
  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  onMessage(bytes: Buffer, source: MessageSource): void {
    this.counts.received++;
    let msg: SipRequest | SipResponse;
    try {
      msg = parseMessage(bytes);
    } catch (err) {
      this.onParseError(err, bytes, source);
      return;
    }
    try {
      if (msg.isRequest) this.onRequest(msg, source);
      else {
        this.counts.responses_in++;
        this.transactions.onInbound(viewOf(msg), source, this.now());
      }
    } catch (err) {
      // A route bug or an accessor throwing on a lazily parsed header must not take the node down.
      if (err instanceof SipParseError) this.onParseError(err, bytes, source);
      else {
        this.drop('handler-error');
        this.logHandlerError(err, source);
      }
    }
    this.armTimer();
  }

  onFramingFailure(failure: FramingFailure): Buffer | null {
    this.counts.parse_errors++;
    if (failure.head === null) return null;
    try {
      const msg = parseMessage(failure.head);
      if (!msg.isRequest || msg.method === 'ACK') return null;
      const bytes = this.buildResponse(msg, failure.status, failure.reason, [], undefined, this.statelessTag);
      this.countResponse(failure.status);
      return bytes;
    } catch (err) {
      if (!(err instanceof SipParseError)) return null;
      // Answer the framing problem (the reason the stream is being closed), copying what was readable.
      const framing = new SipParseError(failure.status, failure.reason, err.action);
      framing.headers = err.headers;
      const bytes = this.errorReply(framing);
      if (bytes !== null) this.countResponse(failure.status);
      return bytes;
    }
  }

  /** §8.2.6 reply to an unparseable request, or null when it cannot be addressed (no Via) or is not a request. */
  private errorReply(err: SipParseError): Buffer | null {
    try {
      const res = createErrorResponse(err, { toTag: this.statelessTag });
      if (res === null) return null;
      if (this.opts.serverHeader !== '') res.headers.set('Server', this.opts.serverHeader);
      return serialize(res);
    } catch {
      // Copied header values the builder refuses (e.g. a NUL the parser let through): cannot answer safely.
      this.drop('unbuildable-response');
      return null;
    }
  }

  private onParseError(err: unknown, bytes: Buffer, source: MessageSource): void {
    this.counts.parse_errors++;
    this.metrics.malformed.inc({ transport: source.transport });
    if (!(err instanceof SipParseError)) {
      this.logHandlerError(err, source);
      this.drop('parse-crash');
      return;
    }
    if (err.action !== 'reject') {
      this.drop('unparseable');
      return;
    }
    const reply = this.errorReply(err);
    if (reply === null) {
      this.drop('unparseable');
      return;
    }
    // The Via could not be trusted: answer where the bytes came from.
    if (source.connectionId !== null) this.transport.sendOnConnection(source.connectionId, reply);
    else this.transport.sendUdp(reply, source, source.remote);
    this.countResponse(err.status);
  }

  private onRequest(req: SipRequest, source: MessageSource): void {
    this.counts.requests++;
    this.metrics.requestsByMethod.add(KNOWN_METHODS.has(req.method) ? req.method : 'other');
    // §18.2.1 / RFC 3581 §4: record where the request really came from before anything reads Via
    // (a missing/malformed Via is left to validation, whose answer then has nowhere to go and is dropped).
    const via = this.topViaOrNull(req);
    if (via !== null && stampVia(via, source.remote, this.opts.forceRport)) {
      req.headers.removeFirstValue('Via');
      req.headers.prepend('Via', formatVia(via));
      // The stamped object is exactly what parsing the new top Via would give: keep it.
      req.headers.remember('topVia', via);
    }
    const invalid = validateRequest(req);
    if (invalid !== null) {
      // Stateless: a request this broken must not create transaction state (§8.2.1 checks precede §17).
      if (req.method !== 'ACK') this.statelessReply(req, source, invalid.status, invalid.reason);
      return;
    }
    // RFC 5923 §5: a TLS peer offering this connection for requests to its sent-by (the transport checks its certificate).
    if (via !== null && source.transport === 'tls' && source.connectionId !== null && via.params.has('alias')) {
      this.transport.aliasConnection?.(source.connectionId, via.host, via.port ?? 5061);
    }
    const before = this.transactions.activeCount;
    this.transactions.onInbound(viewOf(req), source, this.now());
    if (req.method !== 'ACK' && this.transactions.activeCount === before) this.counts.retransmissions_absorbed++;
  }

  /** Hands a request (new server transaction, or an ACK the TU must see) to the route. */
  private toRoute(req: SipRequest, source: MessageSource, tx: ServerTx<MessageSource> | null): void {
    let answered = false;
    const ctx: RequestContext = {
      request: req,
      source,
      transaction: tx,
      respond: (status, reason, headers, body) => {
        if (tx === null || answered) return; // ACK is never answered (§17.1.1.3)
        if (status >= 200) answered = true;
        let res: SipResponse;
        try {
          res = this.buildResponseMessage(req, status, reason, headers ?? [], body);
        } catch (err) {
          // A request whose copied headers cannot be re-serialized (e.g. embedded NUL) is dropped, not answered.
          this.drop('unbuildable-response');
          this.log.debug({ err, remote: source.remote }, 'response could not be built');
          return;
        }
        this.transactions.respond(tx, localResponseView(res), this.now());
        this.armTimer();
      },
    };
    this.route.onRequest(ctx);
  }

  /** Transaction layer → wire. Requests go to `dest`; responses follow §18.2.2 from their Via. */
  private sendMessage(view: MessageView, dest: MessageSource, tx?: Tx<MessageSource>): void {
    if (!(view instanceof SipRequestView || view instanceof SipResponseView)) {
      throw new TypeError('message view was not produced by the node/sip adapter');
    }
    // A retransmission goes out as the bytes of its first send (§17.1.1.2, §17.1.2.2, §17.2.1, §17.2.2).
    let bytes = view.wire;
    if (bytes === null) {
      bytes = this.serializeOrDrop(view.message);
      if (bytes === null) return;
      view.noteSent(bytes);
    }
    if (view instanceof SipRequestView) {
      this.sendTo(bytes, dest, tx?.side === 'client' ? tx : undefined);
      return;
    }
    const msg = view.message;
    this.countResponse(msg.status);
    this.sendResponseBytes(bytes, msg, dest);
  }

  /**
   * To `dest`: over its own connection when it still exists, else by its transport. A client
   * transaction's request that cannot be delivered over a stream (no listener, connection refused
   * or reset before it connected, connect timeout) is a transport error for that transaction
   * (RFC 3261 §17.1.4), which a proxy turns into a 503 for the branch (§16.9) at once instead of
   * waiting out Timer B/F.
   */
  private sendTo(bytes: Buffer, dest: MessageSource, tx?: Tx<MessageSource>): void {
    if (dest.connectionId !== null && this.transport.sendOnConnection(dest.connectionId, bytes)) return;
    const failed = tx === undefined ? undefined : () => this.sendFailed(tx);
    if (dest.transport === 'udp') {
      this.transport.sendUdp(bytes, dest, dest.remote, failed);
      return;
    }
    // Reported after the current transaction step: never re-entering the manager mid-action.
    if (!this.transport.sendStream(dest.transport, bytes, dest.remote, failed) && failed !== undefined) queueMicrotask(failed);
  }

  private sendFailed(tx: Tx<MessageSource>): void {
    if (this.stopped) return;
    this.transactions.transportError(tx, this.now());
    this.armTimer();
  }

  private statelessReply(req: SipRequest, source: MessageSource, status: number, reason: string, headers: readonly HeaderLine[] = []): void {
    let bytes: Buffer;
    try {
      bytes = this.buildResponse(req, status, reason, headers, undefined, this.statelessTag);
    } catch {
      this.drop('unbuildable-response');
      return;
    }
    this.countResponse(status);
    this.sendResponseBytes(bytes, req, source);
  }

  private buildResponseMessage(
    req: SipRequest,
    status: number,
    reason: string | undefined,
    headers: readonly HeaderLine[],
    body?: Buffer,
    toTag: string = newTag(),
  ): SipResponse {
    const res = createResponse(req, status, reason, status > 100 ? { toTag } : {});
    if (this.opts.serverHeader !== '') res.headers.set('Server', this.opts.serverHeader);
    for (const [name, value] of headers) res.headers.append(name, value);
    if (body !== undefined) res.body = body;
    return res;
  }

  private buildResponse(req: SipRequest, status: number, reason: string | undefined, headers: readonly HeaderLine[], body?: Buffer, toTag?: string): Buffer {
    return serialize(this.buildResponseMessage(req, status, reason, headers, body, toTag));
  }

  private topViaOrNull(msg: SipRequest | SipResponse): Via | null {
    try {
      return msg.topVia();
    } catch {
      return null;
    }
  }

  private sendResponseBytes(bytes: Buffer, msg: SipRequest | SipResponse, source: MessageSource): void {
    const via = this.topViaOrNull(msg);
    if (via === null) {
      // An unreadable Via (RFC 4475 §3.1.2.1 badinv01: `;;,;,,`) only ever reaches here as the
      // stateless 400 for that request: answer where the bytes came from, as for parse errors.
      if (source.connectionId !== null) this.transport.sendOnConnection(source.connectionId, bytes);
      else this.transport.sendUdp(bytes, source, source.remote);
      return;
    }
    const dest = responseDestination(via, source);
    if (dest.kind === 'connection') {
      if (!this.transport.sendOnConnection(dest.connectionId, bytes) && source.transport !== 'udp') this.transport.sendStream(source.transport, bytes, dest.fallback);
    } else this.transport.sendUdp(bytes, source, dest.endpoint);
  }

  /** One OS timer at the manager's earliest deadline (re-armed only when that moves earlier). */
  /** Re-arms the one transaction timer; a route calls it after sending from async work (proxy TU). */
  armTimer(): void {
    if (this.stopped) return;
    const at = this.transactions.nextDeadline();
    if (at === undefined || at >= this.timerAt) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => this.onTimer(), Math.max(0, Math.ceil(at - this.now())));
  }

  private onTimer(): void {
    this.timer = null;
    this.timerAt = Number.POSITIVE_INFINITY;
    try {
      this.transactions.advance(this.now());
    } catch (err) {
      this.log.error({ err }, 'transaction timer processing failed');
    }
    this.armTimer();
  }

  /** The wire form, or null (counted as dropped) when a header value cannot be written back. */
  private serializeOrDrop(msg: SipMessage): Buffer | null {
    try {
      return serialize(msg);
    } catch (err) {
      this.drop('unserializable');
      this.log.debug({ err }, 'message could not be serialized');
      return null;
    }
  }

  /**
   * A response a proxy TU forwards outside any transaction (RFC 3261 §16.11: a stray response
   * with our Via popped; §16.7 item 5: a 2xx after our non-2xx final) to `dest`, which the TU
   * resolved from the response's new top Via (§18.2.2, RFC 3581 received/rport). A stream
   * destination reuses an open connection to that address, else connects.
   */
  forwardResponse(response: SipResponse, dest: MessageSource): void {
    const bytes = this.serializeOrDrop(response);
    if (bytes === null) return;
    this.countResponse(response.status);
    this.sendTo(bytes, dest);
  }

  /** Lets the TU (proxy/UA core) send through a client transaction with this shell's clock. */
  sendRequest(req: SipRequest, dest: MessageSource): Tx<MessageSource> | undefined {
    const tx = this.transactions.sendRequest(viewOf(req), dest, this.now());
    this.armTimer();
    return tx;
  }

  private countResponse(status: number): void {
    this.counts.responses_sent++;
    this.metrics.responsesByCode.add(status);
  }

  /** Rate-limited: a flood of one bad input must not turn into a flood of stack traces. */
  private lastHandlerErrorLog = 0;
  private suppressedHandlerErrors = 0;

  private logHandlerError(err: unknown, source: MessageSource): void {
    const now = Date.now();
    if (now - this.lastHandlerErrorLog < 1000) {
      this.suppressedHandlerErrors++;
      return;
    }
    this.lastHandlerErrorLog = now;
    this.log.error({ err, remote: source.remote, suppressed: this.suppressedHandlerErrors }, 'request handling failed');
    this.suppressedHandlerErrors = 0;
  }

  private drop(reason: string): void {
    this.counts.dropped++;
    this.metrics.droppedMessages.inc({ reason });
  }
}
