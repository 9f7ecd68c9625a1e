// RFC 5627 §5.5: a request whose Request-URI is a GRUU this registrar handed out goes to the
// contacts the instance registered, not to the GRUU's host. The registrar mints GRUUs whenever a
// UA asks (Supported: gruu plus +sip.instance), and such UAs (Linphone, for one) put their GRUU in
// the Contact of a dialog, so the ACK, BYE and re-INVITE of that dialog arrive with our
// Record-Route popped (§16.4) and the GRUU as Request-URI. Relaying them to the GRUU's host
// would send them back to ourselves (482) or to port 5060 of the domain: the call could never be
// acknowledged or ended. This node handler runs before the routing script, as Route processing
// does, because the GRUU is the registrar's promise, not a routing policy.
import { classifyGruu } from '../registrar/index.js';
import type { RegistrarPort, RequestHandler } from '../script/index.js';

/** A `gr` URI parameter anywhere (names are case-insensitive): only such a URI can be a GRUU. */
const GR_PARAM = /;gr(?:[=;?>]|$)/i;

export function gruuTargeting(registrar: Pick<RegistrarPort, 'lookup'>): RequestHandler {
  return async (request) => {
    // Initial requests are the script's (its location lookup resolves GRUUs too); a Route still
    // present means the route set, not the GRUU, says where the request goes next.
    if (!request.inDialog || request.header('Route') !== undefined) return;
    // Every in-dialog request passes here: the URI is parsed only if it may carry `gr`.
    if (!GR_PARAM.test(request.ruri) || classifyGruu(request.ruri).kind === 'none') return;
    const contacts = await registrar.lookup(request.ruri);
    if (contacts.length > 0) {
      // A dialog has one remote UA instance: the request goes to one of its contacts (the
      // preferred one), never forked to several flows of the same instance (RFC 5626 §5.3).
      request.fork(contacts.slice(0, 1), { strategy: 'parallel' });
      return;
    }
    // A GRUU of a domain we serve whose instance is not registered now: 480 (§5.5). An ACK is
    // never answered; left undecided, it is dropped by the proxy's own-address check. A GRUU of
    // another domain is the script's to relay.
    if (request.ruriIsLocal && request.method !== 'ACK') request.reply(480, 'Temporarily Unavailable');
  };
}
