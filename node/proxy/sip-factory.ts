// The proxy's message factory over node/sip: SipRequest/SipResponse satisfy the proxy's message
// interfaces directly, so the dispatcher hands parsed messages to the proxy without wrapping.

import { randomBytes } from 'node:crypto';
import { createRequest, createResponse, serialize, SipRequest } from '../sip/index.js';
import type { ProxyMessageFactory, ProxyRequestMessage } from './proxy-message.js';

function asSip(req: ProxyRequestMessage): SipRequest {
  if (!(req instanceof SipRequest)) throw new TypeError('sipProxyFactory works on node/sip SipRequest messages');
  return req;
}

/** Bytes a proxy adds to a forwarded request, generously (Via ~90, double Record-Route ~100, Path). */
const FORWARD_GROWTH = 400;

/** RFC 3261 §19.3: a To tag with at least 32 bits of randomness. */
function newTag(): string {
  return randomBytes(6).toString('hex');
}

export const sipProxyFactory: ProxyMessageFactory = {
  response(request, status, reason, extra) {
    return createResponse(asSip(request), status, reason, { toTag: status > 100 ? newTag() : undefined, headers: extra });
  },
  copy(request) {
    const r = asSip(request);
    return new SipRequest(r.method, r.uri, r.version, r.headers.clone(), r.body);
  },
  request(method, uri, headers) {
    return createRequest({ method, uri, headers });
  },
  largerThan(request, limit, received) {
    const r = asSip(request);
    // Cheap bound first (this runs for every request forwarded over UDP): a forwarded copy is the
    // received head and body, a new Request-URI, and the few values a proxy adds (our Via, one or
    // two Record-Routes, Path routes; FORWARD_GROWTH covers them). Only near the limit is it
    // serialised to be sure. (A copy has no wire origin of its own; the received request has.)
    const o = received === undefined ? r.origin : asSip(received).origin;
    if (o !== null && o.headEnd - o.headStart + r.body.length + r.uri.length + FORWARD_GROWTH < limit) return false;
    return serialize(r).length > limit;
  },
};
