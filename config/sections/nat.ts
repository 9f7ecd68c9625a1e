/** `nat.*`: RFC 3581 and NAT fix-ups (node/proxy/nat.ts says when a message counts as behind a NAT). */
import { bool, obj } from '../fields.js';

export const natSection = obj({
  /** Answer to the source port even when the request's Via has no `rport` parameter. */
  force_rport: bool(false),
  /**
   * A UDP contact registered from behind a NAT (an IP Contact the REGISTER did not come from) is
   * sent to at the registration's source address and port, its Request-URI still the contact.
   */
  fix_register: bool(false),
  /**
   * The single Contact of requests and responses the proxy passes on (not REGISTER) is rewritten to
   * where the message came from when it names an IP address behind a NAT (node/proxy/nat.ts).
   */
  fix_contact: bool(false),
});
