/** `proxy.*`: RFC 3261 §16 proxy behaviour switches. */
import { bool, obj } from '../fields.js';

export const proxySection = obj({
  /** Insert Record-Route (§16.6 step 4) so in-dialog requests traverse this node. */
  record_route: bool(true),
});
