// The node's request handling for issue 5: the transaction user above node/core's dispatcher.
// The dispatcher runs every inbound message through the RFC 3261 §17 TransactionManager
// (retransmissions absorbed, responses matched to client transactions, CANCEL matched to its
// INVITE, 2xx ACK passed up); this route makes the §16 stateful proxy its TU, driven by the routing
// script (registrar + digest auth through the script's ports). The registrar's expiry sweep and the
// dialog idle sweep run on a slow interval.
import type { Registry } from 'prom-client';
import type { SiphonConfig } from '../../config/index.js';
import { createAuthenticator, type AuthSection, type DigestAlgorithm, type DigestAuthenticator } from '../auth/index.js';
import type { Route } from '../core/index.js';
import { DialogTracker, registerDialogsActiveGauge } from '../dialog/index.js';
import { sharedResolver, type SipResolver } from '../dns/index.js';
import type { Logger } from '../log/index.js';
import {
  StatefulProxy, bindProxyToTransactions, fixNatedContact, registerStatelessProxyCounter, sipProxyFactory, type ProxyTransactionPort,
  type TransactionBinding, type TransportLocatorPort,
} from '../proxy/index.js';
import { MemoryBindingStore, Registrar, createRegistrarFullCounter, createRegistrationsGauge, registrarSettingsFrom, type BindingStore } from '../registrar/index.js';
import { authPort, forwardRegistrarChanges, proxyHooksFrom, registrarPort, ScriptHost, type AuthPort } from '../script/index.js';
import { SipResponse } from '../sip/index.js';
import type { ClientTx, ServerTx, TimeoutTimer, TransactionManager, Tx } from '../transaction/index.js';
import type { ListenerInfo, MessageSource } from '../transport/index.js';
import { stripBrackets } from '../util/index.js';
import { mountRegistrationsAdmin, type RouteMount } from './admin-routes.js';
import { DeadlineTimer } from './deadline-timer.js';
import { defaultScriptPath, digestGate, gatedHandlers } from './default-script.js';
import { ownAddressMatcher } from './own-addresses.js';
import { canReach, destinationOfHop, sourceAddressOf, transportOfHop } from './peer.js';
import { gruuTargeting } from './gruu-routing.js';
import { optionsForUs } from './stateless-options.js';
import { startNatKeepalive } from './nat-keepalive.js';
import { holdRegisteredConnection, sendStateless, type WireTransports } from './wire-sender.js';

/** A connection held for a registration stays open this long past its expiry, for the refresh. */
const REGISTRATION_HOLD_GRACE_MS = 30_000;

/** node/core's dispatcher as the app uses it: the one transaction layer of the node. */
export interface TransactionHost {
  readonly transactions: TransactionManager<MessageSource>;
  /** Re-arms the dispatcher's transaction timer after a send outside its inbound path (async TU work). */
  armTimer(): void;
  /** Sends a response outside any transaction (the proxy's stateless response forwarding, §16.11). */
  forwardResponse?(response: SipResponse, dest: MessageSource): void;
}

/** What the app needs from node/core's SipNode (structural, so tests can pass a fake). */
export interface AppHost extends WireTransports {
  readonly listeners: readonly ListenerInfo[];
  readonly router: RouteMount;
  readonly metrics: { readonly registry: Registry };
  readonly dispatcher: TransactionHost;
  setRoute(route: Route): void;
}

/** The route plus the client-transaction events the dispatcher forwards to its TU. */
export interface AppRoute extends Route {
  onClientResponse(response: SipResponse, tx: ClientTx<MessageSource>): void;
  onTransactionTimeout(tx: Tx<MessageSource>, timer: TimeoutTimer): void;
  onTransportError(tx: Tx<MessageSource>): void;
  onTransactionTerminated(tx: Tx<MessageSource>): void;
}

export interface SipAppOptions {
  /** Binding store behind the registrar; the Raft-backed store plugs in here. Default: in memory. */
  readonly store?: BindingStore;
  /** Monotonic ms for proxy timers; must be the dispatcher's clock (default performance.now). */
  readonly monotonic?: () => number;
  /** Wall-clock ms for registrations and nonces (default Date.now). */
  readonly wallClock?: () => number;
  /** Registrar expiry and dialog idle sweep period (default 1 s). */
  readonly sweepIntervalMs?: number;
}

type Proxy = StatefulProxy<ServerTx<MessageSource>, ClientTx<MessageSource>>;

export interface SipApp {
  readonly route: AppRoute;
  readonly registrar: Registrar;
  readonly proxy: Proxy;
  readonly dialogs: DialogTracker;
  readonly script: ScriptHost;
  stop(): void;
}

/** A confirmed dialog without in-dialog traffic through us for this long stops counting (no BYE seen). */
const DIALOG_IDLE_MS = 4 * 3600 * 1000;

export async function startSipApp(host: AppHost, config: SiphonConfig, log: Logger, opts: SipAppOptions = {}): Promise<SipApp> {
  const mono = opts.monotonic ?? (() => performance.now());
  const wall = opts.wallClock ?? Date.now;
  const scriptLog = log.child({ component: 'script' });
  const proxyLog = log.child({ component: 'proxy' });
  const errText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

  const store = opts.store ?? new MemoryBindingStore();
  const registrarFull = createRegistrarFullCounter(host.metrics.registry);
  let fullLoggedAt = -Infinity;
  const registrar = new Registrar(store, registrarSettingsFrom(config.registrar), {
    onFull: () => {
      registrarFull.inc();
      const t = mono();
      if (t - fullLoggedAt < 60_000) return; // a flood must not flood the log too
      fullLoggedAt = t;
      log.warn({ max_bindings: config.registrar.max_bindings }, 'registrar full: REGISTERs adding bindings get 503 (registrar.max_bindings)');
    },
  });
  const authConfigured = config.auth.backend === 'http' || config.auth.users.length > 0;
  const authenticator: DigestAuthenticator | null = authConfigured ? createAuthenticator(authSectionOf(config)) : null;
  const auth: AuthPort = authenticator !== null ? authPort(authenticator, wall) : { requireDigest: () => true };

  const registrarOfScript = registrarPort(registrar, wall, { fixRegister: config.nat.fix_register });
  const scriptPath = config.script.path ?? defaultScriptPath();
  if (scriptPath === null) throw new Error('script.path is not set and the default script (scripts/default.ts) was not found');
  const script = new ScriptHost({
    path: scriptPath,
    reload: config.script.reload,
    ports: { registrar: registrarOfScript, auth, log: scriptLog },
  });
  await script.start();
  // The node's own handlers run before the script's: the digest gate, then GRUU targeting (RFC 5627).
  const nodeHandlers = [...(authenticator !== null ? [digestGate(auth)] : []), gruuTargeting(registrarOfScript)];
  const handlers = gatedHandlers(nodeHandlers, () => script.handlers);
  const unforward = forwardRegistrarChanges(registrar, () => script.handlers, scriptLog);
  const unhold = registrar.onChange((e) => {
    const id = e.binding.flow?.connectionId;
    if ((e.type === 'insert' || e.type === 'refresh') && id !== undefined && id !== null) {
      holdRegisteredConnection(host, Number(id), e.binding.expiresAt - wall() + REGISTRATION_HOLD_GRACE_MS);
    }
  });

  const isOwn = ownAddressMatcher(host.listeners);
  const first = host.listeners.find((l) => l.transport === 'udp') ?? host.listeners[0];
  if (first === undefined) throw new Error('no SIP listener to advertise');
  const dialogs = new DialogTracker({ idleTimeoutMs: DIALOG_IDLE_MS });
  const tx = host.dispatcher;

  const binding: TransactionBinding<MessageSource> = bindProxyToTransactions<MessageSource>({
    manager: () => tx.transactions,
    proxy: (): Proxy => proxy,
    destination: destinationOfHop(host.listeners),
    sourceOf: sourceAddressOf,
    sendStateless: (request, dest) => {
      if (!sendStateless(host, request, dest)) proxyLog.warn({ dest: dest.remote }, 'no transport for a stateless send');
    },
    sendResponseStateless: (response, dest) => tx.forwardResponse?.(response, dest),
    clock: mono,
    log: proxyLog,
  });
  // Proxy sends often follow an await (registrar lookup, auth): the new transaction's timers must
  // be armed then, not at the next inbound message.
  // RFC 3261 §20.35: responses this node generates (not ones relayed from downstream, which
  // come off the wire with their own identity) carry the configured Server header.
  const serverHeader = config.server.server_header;
  const stampServer = (response: unknown): void => {
    if (serverHeader === '' || !(response instanceof SipResponse) || response.origin !== null) return;
    if (!response.headers.has('Server')) response.headers.set('Server', serverHeader);
  };
  const port: ProxyTransactionPort<ServerTx<MessageSource>, ClientTx<MessageSource>> = {
    sendRequest(request, hop, now) {
      if (!canReach(host.listeners, hop)) return undefined; // e.g. an IPv6 contact, no IPv6 listener
      const c = binding.port.sendRequest(request, hop, now);
      tx.armTimer();
      return c;
    },
    respond(serverTx, response, now) {
      stampServer(response);
      binding.port.respond(serverTx, response, now);
      tx.armTimer();
    },
    sendStateless: (request, hop) => binding.port.sendStateless(request, hop),
    cancelTarget: (cancel) => binding.port.cancelTarget(cancel),
    clientExists: binding.port.clientExists,
    forwardResponseStateless: binding.port.forwardResponseStateless,
  };
  const proxy: Proxy = new StatefulProxy<ServerTx<MessageSource>, ClientTx<MessageSource>>({
    transactions: port,
    factory: sipProxyFactory,
    hooks: proxyHooksFrom(handlers),
    isOwnAddress: isOwn,
    advertised: { host: first.advertisedHost, port: first.advertisedPort },
    advertisedByTransport: advertisedByTransport(host.listeners),
    udpSizeLimit: config.transport.udp_mtu > 0 ? Math.max(0, config.transport.udp_mtu - 200) : 0,
    recordRoute: config.proxy.record_route,
    localDomains: config.proxy.local_domains,
    inviteTimeoutMs: config.transaction.invite_timeout_secs * 1000,
    nonInviteTryingMs: timerEReachesT2(config.transaction.t1_ms, config.transaction.t2_ms),
    dialogs,
    log: proxyLog,
    // RFC 3263: NAPTR for next hops naming neither transport nor port (§4.1), and a named next hop's
    // addresses in order, so a branch moves to the next on a 503, a timeout or a transport error (§4.3).
    transportLocator: locatorOf(sharedResolver()),
  });
  // The proxy's own timers (Timer C, sequential forking, context linger) on one OS timer.
  const proxyTimer = new DeadlineTimer(
    [{
      nextDeadline: () => proxy.nextDeadline(),
      advance: (now) => {
        proxy.advance(now).then(() => proxyTimer.rearm(), (err: unknown) => proxyLog.error({ err: errText(err) }, 'proxy timer failed'));
      },
    }],
    mono,
    undefined,
    (err) => proxyLog.error({ err: errText(err) }, 'proxy timer failed'),
  );
  const settle = (p: Promise<void>, what: string): void => {
    p.then(() => proxyTimer.poke(), (err: unknown) => proxyLog.error({ err: errText(err) }, `proxy ${what} failed`));
  };

  const ka = config.nat.keepalive;
  const keepalive = ka.enabled
    ? startNatKeepalive(host, registrar, { intervalMs: ka.interval_secs * 1000, failureThreshold: ka.failure_threshold }, wall, (err) =>
        log.warn({ err: errText(err) }, 'NAT keep-alive failed'))
    : null;
  // nat.fix_contact: a NATed Contact names where the message came from before anything routes it.
  const fixContact = config.nat.fix_contact;

  const route: AppRoute = {
    onRequest(ctx) {
      const req = ctx.request;
      const now = mono();
      if (fixContact) fixNatedContact(req, sourceAddressOf(ctx.source));
      if (ctx.transaction === null) {
        // An ACK no INVITE server transaction absorbed: the ACK for a 2xx, end to end (§17, RFC 6026 §8.7).
        settle(proxy.onAck(req, sourceAddressOf(ctx.source), now), 'ack');
        return;
      }
      // §11.2: OPTIONS to the node itself (keepalives, monitoring) is answered here, not routed.
      if (optionsForUs(req, isOwn, (uri) => registrar.targets(uri, wall()).length > 0, authenticator !== null)) {
        // Allow: every method the node registers or routes. Contact (§11.2 MAY): the listener the
        // probe reached, which some peers require of a capability answer.
        ctx.respond(200, 'OK', [
          ['Allow', ALLOWED_METHODS],
          ['Accept', 'application/sdp'],
          ['Contact', listenerContact(ctx.source.listener)],
        ]);
        return;
      }
      settle(proxy.onRequest(ctx.transaction, req, sourceAddressOf(ctx.source), now), 'request');
    },
    // §16.11 / §18.1.2: our Via on top → popped and forwarded; false lets the dispatcher count the drop.
    onResponse: (response, source) => {
      if (keepalive?.onResponse(response) === true) return true;
      if (fixContact) fixNatedContact(response, sourceAddressOf(source));
      return proxy.onStrayResponse(response);
    },
    onClientResponse(response, clientTx) {
      // A client transaction's responses come from where its request went (the peer's mapping, for a NATed one).
      if (fixContact) fixNatedContact(response, sourceAddressOf(clientTx.peer));
      settle(proxy.onResponse(clientTx, response, mono()), 'response');
    },
    onTransactionTimeout(t, timer) {
      if (t.side === 'client') settle(proxy.onClientTimeout(t, timer, mono()), 'timeout');
    },
    onTransportError(t) {
      if (t.side === 'client') settle(proxy.onTransportError(t, mono()), 'transport error');
    },
    onTransactionTerminated(t) {
      proxy.onTerminated(t as ClientTx<MessageSource>);
    },
  };

  createRegistrationsGauge(store, host.metrics.registry);
  registerDialogsActiveGauge(dialogs, host.metrics.registry);
  registerStatelessProxyCounter(proxy, host.metrics.registry);
  mountRegistrationsAdmin(host.router, registrar, wall);

  const sweep = setInterval(() => {
    dialogs.sweep(mono());
    registrar.sweep(wall()).catch((err: unknown) => log.warn({ err: errText(err) }, 'registrar sweep failed'));
  }, opts.sweepIntervalMs ?? 1000);
  sweep.unref();

  host.setRoute(route);
  return {
    route,
    registrar,
    proxy,
    dialogs,
    script,
    stop() {
      clearInterval(sweep);
      keepalive?.stop();
      proxyTimer.stop();
      script.stop();
      unforward();
      unhold();
    },
  };
}

/** The config schema restricts `auth.algorithms` to the names node/auth knows (config/sections/auth.ts). */
function authSectionOf(config: SiphonConfig): AuthSection {
  return { ...config.auth, algorithms: config.auth.algorithms as DigestAlgorithm[] };
}

/** The methods the node registers (REGISTER) or routes (the rest), for Allow (RFC 3261 §20.5). */
const ALLOWED_METHODS = 'INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, PRACK, SUBSCRIBE, NOTIFY, PUBLISH, INFO, REFER, MESSAGE, UPDATE';

/** A Contact naming one of our listeners as peers must reach it. */
function listenerContact(l: ListenerInfo): string {
  const host = l.advertisedHost.includes(':') && !l.advertisedHost.startsWith('[') ? `[${l.advertisedHost}]` : l.advertisedHost;
  return `<sip:${host}:${l.advertisedPort}${l.transport === 'udp' ? '' : `;transport=${l.transport}`}>`;
}

/**
 * RFC 4320 §4.2: a 100 to a non-INVITE goes out no sooner than the client's Timer E reaches T2,
 * i.e. after its retransmissions at T1, 2·T1, 4·T1, ... below T2 (3.5 s at T1 500 ms, T2 4 s).
 */
export function timerEReachesT2(t1Ms: number, t2Ms: number): number {
  let elapsed = 0;
  for (let interval = t1Ms; interval < t2Ms; interval *= 2) elapsed += interval;
  return elapsed;
}

/**
 * The first listener of each transport names us on it (Via sent-by, Record-Route); the first of
 * each transport and bound address family (`UDP/IPv6`) names us to peers of that family, so an
 * IPv6 callee gets our IPv6 listener in Via and Record-Route while an IPv4 caller keeps the IPv4 one.
 */
export function advertisedByTransport(listeners: AppHost['listeners']): Map<string, { host: string; port: number }> {
  const out = new Map<string, { host: string; port: number }>();
  for (const l of listeners) {
    const t = l.transport.toUpperCase();
    const us = { host: l.advertisedHost, port: l.advertisedPort };
    if (!out.has(t)) out.set(t, us);
    const family = `${t}/${l.host.includes(':') ? 'IPv6' : 'IPv4'}`;
    if (!out.has(family)) out.set(family, us);
  }
  return out;
}

/** node/dns's resolver as the proxy's RFC 3263 locator (the transports share its cache). */
function locatorOf(resolver: SipResolver): TransportLocatorPort {
  return {
    locatedNow: (host, secure) => resolver.locatedNow(host, secure),
    locate: (host, secure, done) => resolver.locate(host, secure, done),
    targets: (hop, done) => {
      const transport = transportOfHop(hop);
      const host = stripBrackets(hop.host);
      // WebSocket peers are reached only over connections they opened (RFC 7118): no DNS for them.
      if (transport === 'ws' || transport === 'wss') {
        done([{ address: host, port: hop.port }]);
        return;
      }
      resolver.lookup({ host, port: hop.port, transport, srv: hop.srv === true, srvName: hop.srvName }, (targets) => done(targets));
    },
  };
}
