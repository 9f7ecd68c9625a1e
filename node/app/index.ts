// Public face of the node's request handling (issue 5): transactions + proxy + registrar + auth +
// routing script + dialog tracker, composed over node/core's SipNode.
export { advertisedByTransport, startSipApp, timerEReachesT2, type AppHost, type AppRoute, type SipApp, type SipAppOptions, type TransactionHost } from './sip-app.js';
export { DeadlineTimer, type DeadlineSource, type TimerHost } from './deadline-timer.js';
export { sendStateless, type WireTransports } from './wire-sender.js';
export { ownAddressMatcher } from './own-addresses.js';
export { optionsForUs } from './stateless-options.js';
export { gruuTargeting } from './gruu-routing.js';
export { defaultScriptPath, digestGate, gatedHandlers } from './default-script.js';
export { mountRegistrationsAdmin, type RouteMount } from './admin-routes.js';
export { canReach, destinationOfHop, sourceAddressOf, transportOfHop } from './peer.js';
export { startingRoute } from './starting-route.js';
export { warmUp, warmUpConfig, type WarmUpReport } from './warm-up.js';
export { runWarmUpTraffic, digestAnswer, type WarmUpCounts, type WarmUpCredentials } from './warm-up-traffic.js';
