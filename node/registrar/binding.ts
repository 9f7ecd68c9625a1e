/**
 * The registrar's data: a binding (AoR → contact) and the change commands that move bindings.
 * Plain JSON-serialisable values, so the event-log layer can carry a BindingChange as an event
 * payload and replay it into any store.
 */

/** The network flow a REGISTER arrived on (RFC 5626 §6: stored to route back over it). */
export interface FlowInfo {
  readonly transport: string;
  readonly address: string;
  readonly port: number;
  /** Stream connection id for TCP/TLS/WS; null for UDP. */
  readonly connectionId: string | null;
  /** The local listener the request arrived on, "host:port". */
  readonly localAddress: string | null;
}

export interface Binding {
  readonly aor: string;
  /** Identity of the binding inside the AoR: instance+reg-id, instance, or the Contact URI. */
  readonly key: string;
  readonly contactUri: string;
  /** Contact header params except q/expires (RFC 3840 feature tags, +sip.instance, reg-id …). */
  readonly params: ReadonlyArray<readonly [string, string | null]>;
  /** null when the UA sent no q; ordered as 1.0. */
  readonly q: number | null;
  /** Granted lifetime in seconds and its absolute end (ms since epoch). */
  readonly expires: number;
  readonly expiresAt: number;
  readonly callId: string;
  readonly cseq: number;
  readonly instance: string | null;
  readonly regId: number | null;
  /** True when the binding is an RFC 5626 outbound flow (instance + reg-id accepted). */
  readonly outbound: boolean;
  /** Path header entries (RFC 3327), topmost first: the Route set towards the contact. */
  readonly path: readonly string[];
  readonly flow: FlowInfo | null;
  readonly userAgent: string | null;
  readonly registeredAt: number;
  readonly updatedAt: number;
  /** Temporary GRUUs handed out for this binding, newest last (RFC 5627 §5.3). */
  readonly tempGruus: readonly string[];
}

/** Why a binding was removed: UA request, `*`, operator, or its connection died (RFC 5626 §4.2.2). */
export type DeleteCause = 'unregistered' | 'wildcard' | 'admin' | 'flow-failed';

export type BindingChange =
  | { readonly op: 'insert'; readonly binding: Binding }
  | { readonly op: 'refresh'; readonly binding: Binding }
  | { readonly op: 'delete'; readonly aor: string; readonly key: string; readonly cause: DeleteCause }
  | { readonly op: 'expire'; readonly aor: string; readonly key: string };

/** What change listeners (registrar.onChange) receive. */
export interface BindingEvent {
  readonly type: 'insert' | 'refresh' | 'delete' | 'expire';
  readonly aor: string;
  readonly binding: Binding;
  readonly cause?: DeleteCause;
}

export type BindingListener = (event: BindingEvent) => void;

/** Fork order for the proxy: q descending (absent q as 1.0), then most recently updated first. */
/** The binding with `key` in an AoR's list, or -1 (lists are short: a scan beats a Map). */
export function indexOfKey(list: readonly Binding[], key: string): number {
  for (let i = 0; i < list.length; i++) if (list[i].key === key) return i;
  return -1;
}

export function compareForFork(a: Binding, b: Binding): number {
  const qa = a.q ?? 1;
  const qb = b.q ?? 1;
  if (qa !== qb) return qb - qa;
  return b.updatedAt - a.updatedAt;
}

/** Remaining lifetime in whole seconds at `now` (never negative). */
export function remainingSeconds(b: Binding, now: number): number {
  return Math.max(0, Math.ceil((b.expiresAt - now) / 1000));
}
