/** `nat.*`: RFC 3581 and NAT fix-ups (node/proxy/nat.ts says when a message counts as behind a NAT). */
import { bool, int, obj } from '../fields.js';

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
  /**
   * OPTIONS keep-alives to UDP bindings registered from behind a NAT, to their REGISTER's source
   * (node/app/nat-keepalive.ts); a binding that leaves `failure_threshold` in a row unanswered is removed.
   */
  keepalive: obj({
    enabled: bool(false),
    interval_secs: int(30, 1, 3600),
    failure_threshold: int(3, 1, 100),
  }),
});
