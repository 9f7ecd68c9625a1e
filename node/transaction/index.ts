// Public face of the SIP transaction layer (RFC 3261 §17, RFC 6026).
//
// Wiring (the I/O shell owns sockets and the clock; everything here is pure):
//   const mgr = new TransactionManager<Addr>({ config: timerConfigFromSection(cfg.transaction),
//     factory: sipMessageFactory, isReliable, transport: { send(view, dest, tx) }, tu });
//   inbound bytes → parseMessage → viewOf(msg) → mgr.onInbound(view, source, now)
//   TU → mgr.sendRequest(viewOf(req), dest, now) / mgr.respond(serverTx, viewOf(res), now)
//   clock → mgr.advance(now) at mgr.nextDeadline(); transport.send gets views: sipMessageOf(view)
//   gives the node/sip message to serialize. A send failure → mgr.transportError(tx, now).
export type { TimeoutTimer, TxAction } from './actions.js';
export { cancelSpec, non2xxAckSpec, tryingSpec } from './generated-messages.js';
export { InviteClientTransaction, type InviteClientState } from './invite-client.js';
export { InviteServerTransaction, type InviteServerState, type RespondOptions } from './invite-server.js';
export {
  TransactionManager,
  type ClientTx,
  type ServerTx,
  type TransactionManagerOptions,
  type TransactionUser,
  type TransportPort,
  type Tx,
} from './manager.js';
export {
  MAGIC_COOKIE,
  clientKey,
  clientKeyOfRequest,
  clientKeyOfResponse,
  isRfc3261Branch,
  legacyAckKey,
  serverKey,
  serverKeyAs,
  usesLegacyMatching,
} from './matching.js';
export type {
  CSeqView,
  HeaderSpec,
  MessageFactory,
  MessageView,
  RequestSpec,
  RequestView,
  ResponseSpec,
  ResponseView,
  ViaView,
} from './message-view.js';
export { NonInviteClientTransaction, type NonInviteClientState } from './non-invite-client.js';
export { NonInviteServerTransaction, type NonInviteServerState } from './non-invite-server.js';
export {
  DEFAULT_INVITE_TIMEOUT_MS,
  DEFAULT_T1_MS,
  DEFAULT_T2_MS,
  DEFAULT_T4_MS,
  timerConfig,
  timerConfigFromSection,
  type TimerConfig,
  type TransactionConfigSection,
  type TimerSettings,
} from './timer-config.js';
export { SipRequestView, SipResponseView, localResponseView, sipMessageFactory, sipMessageOf, viewOf, type SipMessageView } from './sip-adapter.js';
export { TimerQueue, type QueueEntry } from './timer-queue.js';
