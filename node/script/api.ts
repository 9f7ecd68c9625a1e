// The object a routing script's `register(api)` receives. Handlers are collected into a fresh
// HandlerSet per load so that a reload replaces them atomically (script-host.ts).

import type { ForkTarget, NextHop, ScriptRequest, ScriptResponse } from '../proxy/index.js';

export type Awaitable<T> = T | Promise<T>;

export type RequestHandler = (request: ScriptRequest) => Awaitable<void>;
export type ReplyHandler = (request: ScriptRequest, response: ScriptResponse) => Awaitable<void>;
/** Fires with the best non-2xx final (§16.7) before it goes upstream; may fork again. */
export type FailureHandler = (request: ScriptRequest, response: ScriptResponse) => Awaitable<void>;
/** Fires once when a relayed INVITE is CANCELled before a final response (RFC 3261 §9). */
export type CancelHandler = (request: ScriptRequest) => Awaitable<void>;

export type RegistrationChangeKind = 'insert' | 'refresh' | 'delete' | 'expire';
export interface RegistrationChange {
  readonly kind: RegistrationChangeKind;
  readonly aor: string;
  readonly contact: string;
}
export type RegistrarChangeHandler = (change: RegistrationChange) => Awaitable<void>;

/** A registered contact as the script sees it (node/registrar's lookup, by q descending). */
export interface ScriptContact extends ForkTarget {
  readonly expiresAt?: number;
}

/** What node/registrar provides to scripts; wired by the lead in node/core. */
export interface RegistrarPort {
  /** Process a REGISTER (RFC 3261 §10.3) and answer it on the request's server transaction. */
  save(request: ScriptRequest): Awaitable<void>;
  /** Contacts bound to an AoR, highest q first. */
  lookup(aor: string): Awaitable<readonly ScriptContact[]>;
}

/** A request the script originates (a NOTIFY, an OPTIONS probe, a reg-event SUBSCRIBE …). */
export interface OutgoingRequest {
  readonly method: string;
  readonly uri: string;
  /** Every header but Via (the proxy adds its own); a Route here is a pre-loaded route set. */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  /** Explicit next hop: wins over the first Route URI, which wins over the R-URI (§8.1.2). */
  readonly nextHop?: NextHop;
}

/** What the proxy core provides to scripts for originating requests. */
export interface ProxyPort {
  /** false when no next hop could be derived or the send failed. */
  sendRequest(request: OutgoingRequest): boolean;
}

/** What node/auth provides to scripts. */
export interface AuthPort {
  /**
   * true when the request carries valid credentials; otherwise the port has already answered
   * 401 (REGISTER) / 407 (other methods) and the handler should return.
   */
  requireDigest(request: ScriptRequest): Awaitable<boolean>;
}

export interface ScriptLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface ScriptApi {
  readonly proxy: {
    onRequest(h: RequestHandler): void;
    onReply(h: ReplyHandler): void;
    onFailure(h: FailureHandler): void;
    onCancel(h: CancelHandler): void;
    sendRequest(request: OutgoingRequest): boolean;
  };
  readonly registrar: {
    onChange(h: RegistrarChangeHandler): void;
    save(request: ScriptRequest): Awaitable<void>;
    lookup(aor: string): Awaitable<readonly ScriptContact[]>;
  };
  readonly auth: {
    requireDigest(request: ScriptRequest): Awaitable<boolean>;
  };
  readonly log: ScriptLogger;
}

/** The handlers one successful load registered. Frozen once the load completes. */
export interface HandlerSet {
  readonly onRequest: readonly RequestHandler[];
  readonly onReply: readonly ReplyHandler[];
  readonly onFailure: readonly FailureHandler[];
  readonly onCancel: readonly CancelHandler[];
  readonly onRegistrarChange: readonly RegistrarChangeHandler[];
}

export const EMPTY_HANDLERS: HandlerSet = Object.freeze({
  onRequest: [], onReply: [], onFailure: [], onCancel: [], onRegistrarChange: [],
});

export interface ScriptPorts {
  readonly registrar: RegistrarPort;
  readonly auth: AuthPort;
  readonly log: ScriptLogger;
  /** Absent where the node runs no proxy; sendRequest then throws. */
  readonly proxy?: ProxyPort;
}

/**
 * Builds the api for one load. Registration calls after `seal()` throw, so a script cannot add
 * handlers from a timer into a set that is already live.
 */
export function createScriptApi(ports: ScriptPorts): { api: ScriptApi; seal: () => HandlerSet } {
  const set = { onRequest: [] as RequestHandler[], onReply: [] as ReplyHandler[], onFailure: [] as FailureHandler[],
    onCancel: [] as CancelHandler[], onRegistrarChange: [] as RegistrarChangeHandler[] };
  let sealed = false;
  const add = <T>(list: T[], h: T, what: string): void => {
    if (sealed) throw new Error(`${what}: handlers can only be registered while the script loads`);
    if (typeof h !== 'function') throw new TypeError(`${what}: handler must be a function`);
    list.push(h);
  };
  const api: ScriptApi = {
    proxy: {
      onRequest: (h) => add(set.onRequest, h, 'proxy.onRequest'),
      onReply: (h) => add(set.onReply, h, 'proxy.onReply'),
      onFailure: (h) => add(set.onFailure, h, 'proxy.onFailure'),
      onCancel: (h) => add(set.onCancel, h, 'proxy.onCancel'),
      sendRequest: (r) => {
        if (!ports.proxy) throw new Error('proxy.sendRequest: this node runs no proxy');
        return ports.proxy.sendRequest(r);
      },
    },
    registrar: {
      onChange: (h) => add(set.onRegistrarChange, h, 'registrar.onChange'),
      save: (r) => ports.registrar.save(r),
      lookup: (aor) => ports.registrar.lookup(aor),
    },
    auth: { requireDigest: (r) => ports.auth.requireDigest(r) },
    log: ports.log,
  };
  return {
    api,
    seal: () => {
      sealed = true;
      return Object.freeze({
        onRequest: Object.freeze([...set.onRequest]), onReply: Object.freeze([...set.onReply]),
        onFailure: Object.freeze([...set.onFailure]), onCancel: Object.freeze([...set.onCancel]),
        onRegistrarChange: Object.freeze([...set.onRegistrarChange]),
      });
    },
  };
}
