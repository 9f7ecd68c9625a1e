export { startSipNode, advertiseFor, VERSION, type SipNode } from './sip-node.js';
export { tuneGarbageCollector } from './gc-tuning.js';
export { Dispatcher, type DispatcherOptions, type ReplyTransport } from './dispatcher.js';
export { defaultRoute, type Route, type RequestContext, type HeaderLine, type SipSender } from './route.js';
export { stampVia, type ViaParams } from './via-stamp.js';
export { responseDestination, type ResponseDestination, type ViaRouting } from './response-destination.js';
