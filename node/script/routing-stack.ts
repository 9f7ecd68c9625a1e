// One call that assembles routing for a node: the script host (script.path, script.reload), the
// stateful proxy on the transaction manager, and the registrar/auth/proxy ports the script uses.
// node/core creates the TransactionManager with `stack.tu` and feeds it inbound messages.

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { DigestAuthenticator } from '../auth/index.js';
import type { DialogTracker } from '../dialog/index.js';
import {
  StatefulProxy, bindProxyToTransactions, sipProxyFactory, type AdvertisedAddress, type IsOwnAddress, type NextHop,
  type SourceAddress,
} from '../proxy/index.js';
import type { Registrar } from '../registrar/index.js';
import type { SipRequest, SipResponse } from '../sip/index.js';
import type { ClientTx, ServerTx, TransactionManager, TransactionUser } from '../transaction/index.js';
import type { AuthPort, ScriptLogger } from './api.js';
import { authPort, forwardRegistrarChanges, proxyPort, registrarPort } from './node-ports.js';
import { proxyHooksFrom } from './proxy-hooks.js';
import { ScriptHost, type ScriptReloadMode } from './script-host.js';

export interface RoutingStackOptions<A> {
  /** `script.path`; null runs the shipped scripts/default.ts. */
  readonly scriptPath: string | null;
  readonly reload: ScriptReloadMode;
  readonly manager: () => TransactionManager<A>;
  readonly destination: (hop: NextHop) => A;
  readonly sourceOf: (address: A) => SourceAddress;
  readonly sendStateless: (request: SipRequest, dest: A) => void;
  /** §16.11: a response matching no client transaction, our Via popped, to the next Via's address. */
  readonly sendResponseStateless?: (response: SipResponse, dest: A) => void;
  readonly clock: () => number;
  readonly registrar: Registrar;
  /** null when `auth` is not configured: auth.requireDigest then accepts every request. */
  readonly auth: DigestAuthenticator | null;
  readonly isOwnAddress: IsOwnAddress;
  readonly advertised: AdvertisedAddress;
  /** `proxy.record_route` */
  readonly recordRoute: boolean;
  /** `transaction.invite_timeout_secs` × 1000 */
  readonly inviteTimeoutMs: number;
  readonly localDomains?: readonly string[];
  readonly dialogs?: DialogTracker;
  readonly log: ScriptLogger;
}

export interface RoutingStack<A> {
  readonly proxy: StatefulProxy<ServerTx<A>, ClientTx<A>>;
  readonly host: ScriptHost;
  /** Pass to `new TransactionManager({ tu })`. */
  readonly tu: TransactionUser<A>;
  stop(): void;
}

/** scripts/default.ts, from the source tree or from dist/ (scripts/ is not compiled). */
export function defaultScriptPath(): string {
  for (const rel of ['../../scripts/default.ts', '../../../scripts/default.ts']) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(p)) return p;
  }
  throw new Error('scripts/default.ts not found next to the installation; set script.path');
}

const ACCEPT_ALL: AuthPort = { requireDigest: () => true };

export async function createRoutingStack<A>(o: RoutingStackOptions<A>): Promise<RoutingStack<A>> {
  let proxy!: StatefulProxy<ServerTx<A>, ClientTx<A>>;
  let host!: ScriptHost;
  const binding = bindProxyToTransactions<A>({
    manager: o.manager, proxy: () => proxy, destination: o.destination, sourceOf: o.sourceOf,
    sendStateless: o.sendStateless, sendResponseStateless: o.sendResponseStateless, clock: o.clock, log: o.log,
  });
  proxy = new StatefulProxy<ServerTx<A>, ClientTx<A>>({
    transactions: binding.port, factory: sipProxyFactory, hooks: proxyHooksFrom(() => host.handlers),
    isOwnAddress: o.isOwnAddress, advertised: o.advertised, recordRoute: o.recordRoute,
    inviteTimeoutMs: o.inviteTimeoutMs, localDomains: o.localDomains, dialogs: o.dialogs, log: o.log, clock: o.clock,
  });
  host = new ScriptHost({
    path: o.scriptPath ?? defaultScriptPath(), reload: o.reload,
    ports: {
      registrar: registrarPort(o.registrar, o.clock),
      auth: o.auth ? authPort(o.auth, o.clock) : ACCEPT_ALL,
      proxy: proxyPort(proxy, o.clock),
      log: o.log,
    },
  });
  await host.start();
  const unsubscribe = forwardRegistrarChanges(o.registrar, () => host.handlers, o.log);
  return {
    proxy, host, tu: binding.tu,
    stop() {
      unsubscribe();
      host.stop();
    },
  };
}
