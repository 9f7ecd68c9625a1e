// The shipped default routing script: a registrar plus record-routing stateful proxy, the same
// policy as the Kamailio benchmark peer (../shared/bench/peers/kamailio/kamailio.cfg), so the
// two are compared doing identical work. Loaded from `script.path`; edit a copy to customise.
//
// Handled before the script runs, by the proxy core: Max-Forwards (483), loop detection (482),
// Proxy-Require (420), removal of our own Route (§16.4), CANCEL matching and propagation (§16.10),
// retransmission absorption (transaction layer).

import type { ScriptApi, ScriptRequest } from '../node/script/index.js';

const DIALOG_FORMING = new Set(['INVITE', 'SUBSCRIBE']);
/** Methods a proxy routes by their R-URI user; anything else sent to the node itself is unknown to it. */
const KNOWN_METHODS = new Set([
  'INVITE', 'ACK', 'BYE', 'CANCEL', 'OPTIONS', 'REGISTER', 'PRACK', 'SUBSCRIBE', 'NOTIFY', 'PUBLISH', 'INFO', 'REFER', 'MESSAGE', 'UPDATE',
]);

export default function register(api: ScriptApi): void {
  api.proxy.onRequest(async (request: ScriptRequest) => {
    // Keepalive probes addressed to us (kamailio REQINIT).
    if (request.method === 'OPTIONS' && request.ruriIsLocal && userOf(request.ruri) === '') {
      request.reply(200, 'Keepalive');
      return;
    }

    // Requests within a dialog follow their route set (RFC 3261 §16.12); anything else is stale.
    if (request.inDialog) {
      if (request.looseRoute()) {
        request.relay();
        return;
      }
      // No Route, but the R-URI is an AoR we serve: the UA ignored our Record-Route and sent the
      // ACK/BYE to the original R-URI (SIPp's stock `-sn uac` does), so the location service still
      // finds the callee. The stateful proxy forwards it like any request (§16.5-16.6).
      if (request.ruriIsLocal && userOf(request.ruri) !== '') {
        const contacts = await api.registrar.lookup(request.ruri);
        if (contacts.length > 0) {
          request.fork(request.method === 'ACK' ? contacts.slice(0, 1) : contacts, { strategy: 'parallel' });
          return;
        }
      }
      // An ACK without Route: the 2xx ACK of a dialog that did not record-route us, or a stray → drop.
      if (request.method === 'ACK') return;
      request.reply(404, 'Not here');
      return;
    }
    if (request.method === 'ACK') return;

    // Initial requests: a pre-loaded Route from the UA is not honoured; dialog-forming ones are
    // record-routed so the in-dialog requests come back through us.
    request.message.headers.remove('Route');
    if (DIALOG_FORMING.has(request.method)) request.recordRoute();

    if (request.method === 'REGISTER') {
      await api.registrar.save(request);
      return;
    }

    if (userOf(request.ruri) === '') {
      // Addressed to this node itself: we are the UAS, and a method we do not know gets 501 (§8.2.1).
      if (request.ruriIsLocal && !KNOWN_METHODS.has(request.method)) {
        request.reply(501, 'Not Implemented');
        return;
      }
      request.reply(484, 'Address Incomplete');
      return;
    }
    // No authentication in this policy, so never act as an open relay.
    if (!request.ruriIsLocal) {
      request.reply(403, 'Not relaying');
      return;
    }

    const contacts = await api.registrar.lookup(request.ruri);
    if (contacts.length === 0) {
      request.reply(404, 'Not Found');
      return;
    }
    request.fork(contacts, { strategy: 'parallel' });
  });
}

/** The user part of a sip/sips URI ('' when there is none). */
function userOf(uri: string): string {
  const colon = uri.indexOf(':');
  const at = uri.indexOf('@');
  return at > colon ? uri.slice(colon + 1, at) : '';
}
