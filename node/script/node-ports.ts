// The script's registrar and auth ports over node/registrar and node/auth, on node/sip messages.
// The dispatcher builds these once and passes them to ScriptHost.

import { authenticateRequest, authFailureResponse, type DigestAuthenticator } from '../auth/index.js';
import { hopFromUri, natHop, sipProxyFactory, uriOfNameAddr, type NextHop, type ScriptRequest, type StatefulProxy } from '../proxy/index.js';
import { registerRequestFrom, registerResponse, type ForkTarget, type Registrar } from '../registrar/index.js';
import { SipRequest } from '../sip/index.js';
import type { AuthPort, HandlerSet, ProxyPort, RegistrarPort, ScriptContact, ScriptLogger } from './api.js';

function sipOf(request: ScriptRequest): SipRequest {
  if (!(request.message instanceof SipRequest)) throw new TypeError('expected a node/sip request');
  return request.message;
}

/**
 * A contact registered over TCP, TLS or WebSocket is reached over the connection it registered on
 * while that stays open (connection reuse, as RFC 5626 §5.3 does for flows): a UA over TCP/TLS
 * seldom accepts connections, a NAT in front of it never does, and a browser cannot. Once it has closed, the hop is where a new
 * connection goes: the first Path entry (an edge proxy's), else the contact itself. Only when the
 * contact asks for the transport it registered over; UDP contacts are sent to as they say.
 */
export function overRegisteredConnection(t: Pick<ForkTarget, 'uri' | 'route' | 'flow'>): NextHop | undefined {
  const flow = t.flow;
  if (flow === null || flow.connectionId === null) return undefined;
  const fallback = hopFromUri(t.route.length > 0 ? uriOfNameAddr(t.route[0]) : t.uri);
  if (fallback === undefined || fallback.transport.toLowerCase() !== flow.transport.toLowerCase()) return undefined;
  return { ...fallback, connectionId: flow.connectionId };
}

/**
 * `nat.fix_register`: a UDP contact registered from behind a NAT is sent to at the REGISTER's
 * source (node/proxy/nat.ts), unless it registered through an edge proxy (Path), which reaches it.
 */
export function natRegisteredHop(t: Pick<ForkTarget, 'uri' | 'route' | 'flow'>): NextHop | undefined {
  if (t.route.length > 0) return undefined;
  return natHop(t.uri, t.flow);
}

export interface RegistrarPortOptions {
  /** `nat.fix_register` (default off). */
  readonly fixRegister?: boolean;
}

export function registrarPort(registrar: Registrar, clock: () => number, opts: RegistrarPortOptions = {}): RegistrarPort {
  return {
    async save(request) {
      const sip = sipOf(request);
      const s = request.source;
      const extraction = registerRequestFrom(sip, {
        transport: s.transport, address: s.address, port: s.port,
        connectionId: s.connectionId ?? null, localAddress: s.localAddress ?? null,
      });
      if (!extraction.ok) {
        request.reply(400, extraction.reason);
        return;
      }
      const decision = await registrar.register(extraction.request, clock(), request.authUser ?? null);
      request.replyWith(registerResponse(sip, decision));
    },
    lookup(aor) {
      return registrar.targets(aor, clock()).map((t): ScriptContact => {
        const nextHop = overRegisteredConnection(t) ?? (opts.fixRegister === true ? natRegisteredHop(t) : undefined);
        return { uri: t.uri, q: t.q ?? undefined, path: t.route, expiresAt: t.binding.expiresAt, ...(nextHop === undefined ? {} : { nextHop }) };
      });
    },
  };
}

export function authPort(auth: DigestAuthenticator, clock: () => number): AuthPort {
  return {
    async requireDigest(request) {
      const sip = sipOf(request);
      const outcome = await authenticateRequest(auth, sip, clock());
      if (outcome.kind === 'ok') {
        request.authUser = outcome.username;
        return true;
      }
      const res = authFailureResponse(sip, outcome);
      if (res !== null) request.replyWith(res);
      return false;
    },
  };
}

/** Delivers registrar change events to the live script's registrar.onChange handlers. */
export function forwardRegistrarChanges(registrar: Registrar, handlers: () => HandlerSet, log: ScriptLogger): () => void {
  return registrar.onChange((e) => {
    for (const h of handlers().onRegistrarChange) {
      Promise.resolve()
        .then(() => h({ kind: e.type, aor: e.aor, contact: e.binding.contactUri }))
        .catch((err: unknown) => log.error({ err: err instanceof Error ? err.message : String(err) }, 'registrar.onChange handler threw'));
    }
  });
}

/** Script-originated requests through the stateful proxy (pre-loaded Route honoured). */
export function proxyPort<S, C>(proxy: StatefulProxy<S, C>, clock: () => number): ProxyPort {
  return {
    sendRequest(r) {
      const req = sipProxyFactory.request(r.method, r.uri, r.headers);
      return proxy.originate(req, clock(), r.nextHop) !== undefined;
    },
  };
}
