/**
 * Connection ids are unique across every stream transport of the process (TCP, TLS, WS, WSS), not
 * per listener: a response or a registered flow names only its connection id
 * (MessageSource.connectionId), and the node asks each stream transport in turn for it.
 */
let next = 1;

export function nextConnectionId(): number {
  return next++;
}
