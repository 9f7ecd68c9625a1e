// Public face of the SIP transaction layer (RFC 3261 §17, RFC 6026).
export type { TimeoutTimer, TxAction } from './actions.js';
export { cancelSpec, non2xxAckSpec, tryingSpec } from './generated-messages.js';
export { InviteClientTransaction, type InviteClientState } from './invite-client.js';
export { InviteServerTransaction, type InviteServerState } from './invite-server.js';
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
  type TimerConfig,
  type TimerSettings,
} from './timer-config.js';
export { SipRequestView, SipResponseView, sipMessageFactory, sipMessageOf, viewOf, type SipMessageView } from './sip-adapter.js';
export { TimerQueue } from './timer-queue.js';
