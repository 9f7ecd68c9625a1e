/** `proxy.*`: RFC 3261 §16 proxy behaviour switches. */
import { bool, list, obj, str } from '../fields.js';

export const proxySection = obj({
  /** Insert Record-Route (§16.6 step 4) so in-dialog requests traverse this node. */
  record_route: bool(true),
  /**
   * Domains this node serves (Kamailio `alias=`): a Request-URI whose host is one of them is ours,
   * like one naming a listener, so `ruriIsLocal` holds and the location service is asked; any other
   * host is a relay the default script refuses (403). Case-insensitive host names.
   */
  local_domains: list(str(), []),
});
