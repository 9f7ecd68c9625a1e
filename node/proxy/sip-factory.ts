// The proxy's message factory over node/sip: SipRequest/SipResponse satisfy the proxy's message
// interfaces directly, so the dispatcher hands parsed messages to the proxy without wrapping.

import { randomBytes } from 'node:crypto';
import { createRequest, createResponse, SipRequest } from '../sip/index.js';
import type { ProxyMessageFactory, ProxyRequestMessage } from './proxy-message.js';

function asSip(req: ProxyRequestMessage): SipRequest {
  if (!(req instanceof SipRequest)) throw new TypeError('sipProxyFactory works on node/sip SipRequest messages');
  return req;
}

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
};
