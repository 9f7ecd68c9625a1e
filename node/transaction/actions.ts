import type { MessageView, RequestView, ResponseView } from './message-view.js';

/**
 * Timers whose expiry is reported to the TU as a timeout (RFC 3261 §17, §16.6 Timer C).
 * 'unanswered' is this layer's own guard: a server transaction whose TU never sent a final
 * response is dropped so the table stays bounded (the RFC leaves that wait unbounded).
 * 'cancelled': RFC 3261 §9.1, an INVITE client transaction still without a final 64*T1 after its
 * CANCEL went out (or after Timer C) is considered cancelled and destroyed; the TU must learn it,
 * or a proxy would wait forever for the 487 of a callee whose answers are all lost.
 */
export type TimeoutTimer = 'B' | 'C' | 'F' | 'H' | 'unanswered' | 'cancelled';

/**
 * What a state machine asks its owner to do. The machines never perform I/O: the manager turns
 * these into transport sends and TU callbacks.
 */
export type TxAction =
  /** Hand a message to the transport (first transmission of a request or a new response). */
  | { readonly kind: 'send'; readonly message: MessageView }
  /** Hand a message to the transport again (timer- or retransmission-driven). */
  | { readonly kind: 'retransmit'; readonly message: MessageView }
  /** Client transaction: pass a response up to the TU. */
  | { readonly kind: 'response'; readonly response: ResponseView }
  /** INVITE server transaction in Accepted: pass an ACK up to the TU (RFC 6026 §8.7). */
  | { readonly kind: 'ack'; readonly request: RequestView }
  | { readonly kind: 'timeout'; readonly timer: TimeoutTimer }
  | { readonly kind: 'transport-error' }
  | { readonly kind: 'terminated' };
