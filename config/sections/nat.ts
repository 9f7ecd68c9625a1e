/** `nat.*`: RFC 3581 and NAT fix-ups. */
import { bool, obj } from '../fields.js';

export const natSection = obj({
  /** Answer to the source port even when the request's Via has no `rport` parameter. */
  force_rport: bool(false),
});
