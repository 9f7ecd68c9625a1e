// The proxy on the real TransactionManager and real node/sip messages, as node/app wires them; only
// the transport is a recording fake. Shared by the tests of the paths that need both layers.
import {
  StatefulProxy, bindProxyToTransactions, sipProxyFactory, type NextHop, type ProxyHooks,
} from '../../../node/proxy/index.js';
import { parseMessage, type SipMessage, type SipRequest, type SipResponse } from '../../../node/sip/index.js';
import {
  TransactionManager, sipMessageFactory, sipMessageOf, timerConfig, type ClientTx, type ServerTx,
} from '../../../node/transaction/index.js';

export type Addr = string; // "host:port"

export const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

export const wire = (lines: string[]): SipMessage => parseMessage(Buffer.from(`${lines.join('\r\n')}\r\n\r\n`));

export interface RealManagerProxy {
  manager: TransactionManager<Addr>;
  proxy: StatefulProxy<ServerTx<Addr>, ClientTx<Addr>>;
  /** Everything sent, through transactions or statelessly (requests). */
  out: Array<{ to: Addr; msg: SipMessage }>;
  /** Responses forwarded statelessly (§16.11). */
  stateless: Array<{ to: Addr; msg: SipResponse }>;
  /** Error-level log lines. */
  errors: string[];
  clock: { now: number };
}

export function realManagerProxy(onRequest: ProxyHooks['onRequest'] = (r) => r.relay()): RealManagerProxy {
  const clock = { now: 0 };
  const out: Array<{ to: Addr; msg: SipMessage }> = [];
  const stateless: Array<{ to: Addr; msg: SipResponse }> = [];
  const errors: string[] = [];
  const log = { warn: () => undefined, error: (o: object, msg?: string) => void errors.push(`${msg ?? ''} ${JSON.stringify(o)}`) };
  let manager!: TransactionManager<Addr>;
  let proxy!: StatefulProxy<ServerTx<Addr>, ClientTx<Addr>>;
  const binding = bindProxyToTransactions<Addr>({
    manager: () => manager, proxy: () => proxy,
    destination: (hop: NextHop) => `${hop.host}:${hop.port}`,
    sourceOf: (a) => ({ address: a.split(':')[0], port: Number(a.split(':')[1]), transport: 'UDP' }),
    sendStateless: (req: SipRequest, to) => out.push({ to, msg: req }),
    sendResponseStateless: (res, to) => stateless.push({ to, msg: res }),
    clock: () => clock.now,
    log,
  });
  manager = new TransactionManager<Addr>({
    config: timerConfig({ inviteTimeoutSecs: 180 }),
    factory: sipMessageFactory,
    transport: { send: (m, to) => out.push({ to, msg: sipMessageOf(m) }) },
    tu: binding.tu,
    isReliable: () => false,
  });
  proxy = new StatefulProxy({
    transactions: binding.port, factory: sipProxyFactory, hooks: { onRequest },
    isOwnAddress: (h, p) => h === '10.0.0.1' && p === 5060, advertised: { host: '10.0.0.1', port: 5060 },
    recordRoute: true, inviteTimeoutMs: 180_000, log,
  });
  return { manager, proxy, out, stateless, errors, clock };
}
