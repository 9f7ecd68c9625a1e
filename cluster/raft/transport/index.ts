// Public face of the Raft member transport: TCP (optionally mTLS) with length-prefixed protobuf frames.
export { TcpTransport, coalesceHeartbeats, type TransportHandlers, type TransportOptions } from './tcp-transport.js';
export { type PeerAddress, type TlsOptions } from './peer-link.js';
export { FrameDecoder, encodeFrame, FrameTooLargeError } from './frame-codec.js';
export { messageFromPb, messageToPb } from './message-codec.js';
export { ClientRequestType, ClientResponseType, PeerFrameType, num } from './schema.js';
