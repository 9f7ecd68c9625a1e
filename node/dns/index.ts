// RFC 3263 server location: SRV (RFC 2782 order) then A/AAAA, cached by TTL.
export { orderSrv, srvDeclinesService, type RandomSource, type SrvRecord } from './srv-order.js';
export { srvQueryName, canonicalName, type SrvTransport } from './srv-name.js';
export { specialNameAnswer, type SpecialAnswer } from './special-names.js';
export { TtlCache } from './ttl-cache.js';
export { nodeDnsQueries, type AddressAnswer, type DnsQueries, type ResolverSettings } from './dns-queries.js';
export {
  SipResolver,
  DEFAULT_RESOLVER_LIMITS,
  type NameQuery,
  type NameResolver,
  type LocateCallback,
  type TransportLocator,
  type ResolveCallback,
  type SipResolverOptions,
  type SipTarget,
} from './sip-resolver.js';
export { configureDns, serversFromEnv, sharedResolver } from './shared-resolver.js';
export { chooseNaptr, type NaptrChoice, type NaptrRecord } from './naptr-choice.js';
