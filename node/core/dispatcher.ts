/**
 * Inbound pipeline: bytes → parse → validate → Via stamping (received/rport) → route; and the
 * stateless reply path (§8.2.6 response construction, §18.2.2 response addressing).
 * Bad input never throws out of here: parse failures become a 400 when the start line was a
 * readable request, otherwise a counted drop.
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
  type SipRequest,
  type SipResponse,
  type Via,
} from '../sip/index.js';
import type { Endpoint, FramingFailure, InboundHandler, MessageSource } from '../transport/index.js';
import { responseDestination } from './response-destination.js';
import type { HeaderLine, RequestContext, Route } from './route.js';
import { stampVia } from './via-stamp.js';

export interface DispatcherOptions {
  readonly serverHeader: string;
  readonly forceRport: boolean;
}

/** What the dispatcher needs from the transports to answer. */
export interface ReplyTransport {
  sendUdp(bytes: Buffer, from: MessageSource, dest: Endpoint): void;
  /** Over the request's connection; false when that connection is gone. */
  sendOnConnection(connectionId: number, bytes: Buffer): boolean;
  sendTcp(bytes: Buffer, dest: Endpoint): void;
}

const KNOWN_METHODS = new Set([
  'INVITE', 'ACK', 'BYE', 'CANCEL', 'OPTIONS', 'REGISTER', 'PRACK', 'SUBSCRIBE', 'NOTIFY', 'PUBLISH', 'INFO', 'REFER', 'MESSAGE', 'UPDATE',
]);

function newTag(): string {
  return randomBytes(6).toString('hex');
}

export class Dispatcher implements InboundHandler {
  private route: Route;
  private readonly counts = { received: 0, requests: 0, responses_in: 0, responses_sent: 0, parse_errors: 0, dropped: 0 };

  constructor(
    private readonly opts: DispatcherOptions,
    private readonly transport: ReplyTransport,
    private readonly metrics: NodeMetrics,
    private readonly log: Logger,
    route: Route,
  ) {
    this.route = route;
  }

  /** Replaces the route (registrar/proxy/script install theirs at start-up or on reload). */
  setRoute(route: Route): void {
    this.route = route;
  }

  stats(): Readonly<Record<string, number>> {
    return { ...this.counts };
  }

  onMessage(bytes: Buffer, source: MessageSource): void {
    const receivedAt = performance.now();
    this.counts.received++;
    let msg: SipRequest | SipResponse;
    try {
      msg = parseMessage(bytes);
    } catch (err) {
      this.onParseError(err, bytes, source);
      return;
    }
    try {
      if (msg.isRequest) this.onRequest(msg, source, receivedAt);
      else this.onResponse(msg, source);
    } catch (err) {
      // A route bug or an accessor throwing on a lazily parsed header must not take the node down.
      if (err instanceof SipParseError) {
        this.onParseError(err, bytes, source);
        return;
      }
      this.drop('handler-error');
      this.logHandlerError(err, source);
    }
  }

  onFramingFailure(failure: FramingFailure): Buffer | null {
    this.counts.parse_errors++;
    if (failure.head === null) return null;
    try {
      const msg = parseMessage(failure.head);
      if (!msg.isRequest || msg.method === 'ACK') return null;
      this.countResponse(failure.status);
      return this.buildResponse(msg, failure.status, failure.reason, []);
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
      const res = createErrorResponse(err, { toTag: newTag() });
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
    // No trustworthy Via: answer where the bytes came from.
    if (source.connectionId !== null) this.transport.sendOnConnection(source.connectionId, reply);
    else this.transport.sendUdp(reply, source, source.remote);
    this.countResponse(err.status);
  }

  private onRequest(req: SipRequest, source: MessageSource, receivedAt: number): void {
    this.counts.requests++;
    this.metrics.requests.inc({ method: KNOWN_METHODS.has(req.method) ? req.method : 'other' });
    let answered = false;
    const ctx: RequestContext = {
      request: req,
      source,
      receivedAt,
      respond: (status, reason, headers, body) => {
        if (req.method === 'ACK' || answered) return;
        if (status >= 200) answered = true;
        let bytes: Buffer;
        try {
          bytes = this.buildResponse(req, status, reason, headers ?? [], body);
        } catch (err) {
          // A request whose copied headers cannot be re-serialized (e.g. embedded NUL) is dropped, not answered.
          this.drop('unbuildable-response');
          this.log.debug({ err, remote: source.remote }, 'response could not be built');
          return;
        }
        this.sendResponse(bytes, req, source);
        this.countResponse(status);
        if (status >= 200) this.metrics.requestDuration.observe((performance.now() - receivedAt) / 1000);
      },
    };
    // §18.2.1 / RFC 3581 §4: record where the request really came from before anything reads Via
    // (a missing/malformed Via is left to validation, whose answer then has nowhere to go and is dropped).
    const via = this.topViaOrNull(req);
    if (via !== null && stampVia(via, source.remote, this.opts.forceRport)) {
      req.headers.removeFirstValue('Via');
      req.headers.prepend('Via', formatVia(via));
    }
    const invalid = validateRequest(req);
    if (invalid !== null) {
      ctx.respond(invalid.status, invalid.reason);
      return;
    }
    this.route.onRequest(ctx);
  }

  private onResponse(res: SipResponse, source: MessageSource): void {
    this.counts.responses_in++;
    const handled = this.route.onResponse?.(res, source) ?? false;
    if (!handled) this.drop('stray-response');
  }

  private buildResponse(req: SipRequest, status: number, reason: string | undefined, headers: readonly HeaderLine[], body?: Buffer): Buffer {
    const res = createResponse(req, status, reason, status > 100 ? { toTag: newTag() } : {});
    if (this.opts.serverHeader !== '') res.headers.set('Server', this.opts.serverHeader);
    for (const [name, value] of headers) res.headers.append(name, value);
    if (body !== undefined) res.body = body;
    return serialize(res);
  }

  private topViaOrNull(req: SipRequest): Via | null {
    try {
      return req.topVia();
    } catch {
      return null;
    }
  }

  private sendResponse(bytes: Buffer, req: SipRequest, source: MessageSource): void {
    const via = this.topViaOrNull(req);
    if (via === null) {
      this.drop('no-via');
      return;
    }
    const dest = responseDestination(via, source);
    if (dest.kind === 'connection') {
      if (!this.transport.sendOnConnection(dest.connectionId, bytes)) this.transport.sendTcp(bytes, dest.fallback);
    } else this.transport.sendUdp(bytes, source, dest.endpoint);
  }

  private countResponse(status: number): void {
    this.counts.responses_sent++;
    this.metrics.responses.inc({ code: String(status) });
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
