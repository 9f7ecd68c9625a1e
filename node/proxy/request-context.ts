// The per-request object a routing script handles (ScriptRequest). It records the script's
// decision and hands reply/fork to the proxy core; it holds no transaction state itself.

import { fixNatedContact } from './nat.js';
import { hopFromUri } from './next-hop.js';
import type { RouteProcessingResult } from './route-processing.js';
import type { ProxyRequestMessage } from './proxy-message.js';
import type { ProxyResponseMessage } from './proxy-message.js';
import type { ForkOptions, ForkTarget, NextHop, RelayOptions, ReplyHeaders, ScriptRequest, SourceAddress } from './routing-decision.js';
import { tagOf } from './uri-parts.js';

export interface RequestContextActions {
  reply(code: number, reason: string | undefined, headers: ReplyHeaders | undefined): void;
  replyWith(response: ProxyResponseMessage): void;
  fork(targets: ReadonlyArray<string | ForkTarget>, opts: ForkOptions | undefined): void;
  /** Record-Route without the script asking (proxy.record_route for dialog-creating requests). */
  readonly recordRouteDefault: boolean;
}

export class ProxyRequestContext implements ScriptRequest {
  private decision: 'none' | 'reply' | 'forward' = 'none';
  private rr: boolean;
  authUser: string | undefined = undefined;
  /** Explicit next hop given to relay(), applied to the branch it creates. */
  relayNextHop: NextHop | undefined;

  constructor(
    /** The received request after §16.4 processing; forwarded copies are cloned from it. */
    readonly message: ProxyRequestMessage,
    readonly source: SourceAddress,
    private readonly routing: RouteProcessingResult,
    private readonly actions: RequestContextActions,
    /** Whether the R-URI names this node (computed by the proxy, which knows our addresses). */
    private readonly isLocalUri: (uri: string) => boolean = () => false,
    /** The connection a popped Route's flow token names (flow-token.ts), when it is not the sender's. */
    private readonly flowConnection?: string,
  ) {
    this.rr = actions.recordRouteDefault;
  }

  get method(): string { return this.message.method; }
  get ruri(): string { return this.message.uri; }
  get callId(): string { return this.message.headers.get('Call-ID') ?? ''; }
  get fromTag(): string { return tagOf(this.message.headers.get('From')); }
  get toTag(): string { return tagOf(this.message.headers.get('To')); }
  get inDialog(): boolean { return this.toTag !== ''; }
  get ruriIsLocal(): boolean { return this.isLocalUri(this.message.uri); }
  get decided(): boolean { return this.decision !== 'none'; }
  get recordRouteEnabled(): boolean { return this.rr; }

  header(name: string): string | undefined {
    return this.message.headers.get(name);
  }

  headers(name: string): string[] {
    return this.message.headers.getAll(name);
  }

  reply(code: number, reason?: string, headers?: ReplyHeaders): void {
    if (!Number.isInteger(code) || code < 100 || code > 699) throw new RangeError(`reply: invalid status ${code}`);
    if (code >= 200) this.decision = this.decision === 'none' ? 'reply' : this.decision;
    this.actions.reply(code, reason, headers);
  }

  replyWith(response: ProxyResponseMessage): void {
    if (response.status >= 200) this.decision = this.decision === 'none' ? 'reply' : this.decision;
    this.actions.replyWith(response);
  }

  relay(opts?: RelayOptions): void {
    const target = opts?.target ?? this.message.uri;
    const nextHop = opts?.nextHop ?? this.flowHop(target);
    this.relayNextHop = nextHop;
    this.forward([{ uri: target, nextHop }], undefined);
  }

  /**
   * RFC 5626 §5.3: the route set led through our flow-token entry and nothing but the target is
   * left: the target is reached over that connection (its URI is the fallback once it closed).
   */
  private flowHop(target: string): NextHop | undefined {
    if (this.flowConnection === undefined || this.message.headers.get('Route') !== undefined) return undefined;
    const hop = hopFromUri(target);
    return hop === undefined ? undefined : { ...hop, connectionId: this.flowConnection };
  }

  fork(targets: ReadonlyArray<string | ForkTarget>, opts?: ForkOptions): void {
    this.forward(targets, opts);
  }

  recordRoute(): void {
    this.rr = true;
  }

  /**
   * §16.4/§16.12: true when Route processing found this request routed to us (our Route popped,
   * or a strict router's R-URI restored) or a Route set remains to follow.
   */
  fixNatedContact(): boolean {
    return fixNatedContact(this.message, this.source);
  }

  looseRoute(): boolean {
    return this.routing.poppedOwnRoutes > 0 || this.routing.strictFixup || this.message.headers.get('Route') !== undefined;
  }

  private forward(targets: ReadonlyArray<string | ForkTarget>, opts: ForkOptions | undefined): void {
    this.decision = 'forward';
    this.actions.fork(targets, opts);
  }
}
