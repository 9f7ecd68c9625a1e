/** `cluster.*`: Raft membership of this node (minimal; the cluster issue extends it). */
import { list, obj, optStr, str } from '../fields.js';
import { advertisedAddress } from '../host-port.js';

export const clusterSection = obj({
  node_id: str('node1'),
  /** Other voting members: `{id, address: "host:port"}` of their Raft endpoint. */
  peers: list(obj({ id: str(), address: str() }), []),
  /**
   * Where the log and snapshots will live. Reserved, like `peers`: the SIP node does not run on the
   * replicated log yet, and says so at start-up when either is set.
   */
  data_dir: optStr(),
  /** Cluster-wide advertised address (VIP / DNS name) for Record-Route and Path (DESIGN principle 6). */
  advertised_address: advertisedAddress(),
});
