export { OWN_DESCRIPTORS, inboundConnectionCap, openFilesSoftLimit, outboundConnectionCap, reservedDescriptors, type InboundCap } from './fd-budget.js';
export { RefusalNotice, type Notice } from './refusal-notice.js';
export { StreamFramer, contentLengthOf, type FrameEvent } from './stream-framer.js';
export { UdpQueueProbe, PROBE_BYTES } from './queue-probe.js';
export { keepAliveOf, mayBeKeepAlive, stunBindingResponse, type KeepAlive } from './udp-keepalive.js';
export { InboundBatch } from './inbound-batch.js';
export { UdpTransport, BAD_DESTINATION_NOTICE_MS, isSendableEndpoint, type UdpOptions } from './udp-transport.js';
export { WsTransport, type WsOptions } from './ws-transport.js';
export { dscpOf, markDscp, signallingDscpUnavailable } from './dscp.js';
export { SniCertificates, type SniCertificate, type SniCallback } from './tls-sni.js';
export { TcpTransport, endpointKey, type TcpOptions, type ConnectionInfo, type StreamTls } from './tcp-transport.js';
export {
  NO_COUNTERS,
  type Endpoint,
  type FramingFailure,
  type InboundHandler,
  type ListenerInfo,
  type MessageSource,
  type TransportCounters,
  type StreamKind,
  type TransportKind,
  type WarnSink,
} from './types.js';
