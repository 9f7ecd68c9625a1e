// An InboundHandler that keeps what the transport delivered, for transport tests on real sockets.
import type { InboundHandler, MessageSource } from '../../../node/transport/index.js';

export interface Delivered {
  readonly bytes: Buffer;
  readonly source: MessageSource;
}

export function inbox(): InboundHandler & { got: Delivered[] } {
  const got: Delivered[] = [];
  return { got, onMessage: (bytes, source) => got.push({ bytes, source }), onFramingFailure: () => null };
}
