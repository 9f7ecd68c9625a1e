// Public face of the RFC 3261 §16 stateful proxy.
//
// Wiring (node/core): StatefulProxy<ServerTx<A>, ClientTx<A>> is a transaction user. Build it with
// `bindProxyToTransactions` (TU callbacks ↔ proxy events over node/sip messages) and
// `sipProxyFactory`, or take the whole assembly from node/script's `createRoutingStack`.
// Pure pieces (validate, processRoute, resolveNextHop, forwardRequest, buildCancel,
// selectBestResponse, dispositionFor) are exported for reuse by node/b2bua and tests.
export * from './routing-decision.js';
export * from './response-context.js';
export type { ProxyHeaders, ProxyRequestMessage, ProxyResponseMessage, ProxyMessageFactory } from './proxy-message.js';
export type { IsOwnAddress } from './own-address.js';
export { validateRequest, type Rejection, type ValidationOptions } from './validate.js';
export { processRoute, uriIsOwn, type RouteProcessingResult } from './route-processing.js';
export { FlowTokens } from './flow-token.js';
export { fixNatedContact, isPrivateAddress, natDetected, natHop, type ObservedSource } from './nat.js';
export { hostReference } from './via.js';
export { resolveNextHop, hopFromUri, applyStrictRouting, type ResolvedNextHop, type NextHopSource } from './next-hop.js';
export { forwardRequest, recordRouteValue, decrementMaxForwards, type AdvertisedAddress, type ForwardSpec, type ForwardedRequest } from './forward-request.js';
export { buildCancel } from './cancel-request.js';
export { loopHash, makeBranch, branchSuffix, loopHashOfBranch, MAGIC_COOKIE } from './branch-id.js';
export { parseSipUri, uriOfNameAddr, tagOf, type SipUriParts } from './uri-parts.js';
export { ProxyRequestContext } from './request-context.js';
export {
  StatefulProxy, type StatefulProxyOptions, type ProxyTransactionPort, type ProxyHooks, type ProxyLogger, type StatelessCounts, type LocatedTransport, type LocatedAddress, type TransportLocatorPort,
} from './stateful-proxy.js';
export { processStrayResponse, responseNextHop, viaParam, type StrayResponseOutcome } from './stateless-response.js';
export { registerStatelessProxyCounter } from './stateless-metrics.js';
export { sipProxyFactory } from './sip-factory.js';
export { bindProxyToTransactions, type TransactionBinding, type TransactionBindingOptions } from './transaction-binding.js';
