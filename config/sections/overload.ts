/** `overload.*`: shedding new requests (503 + Retry-After) while the node keeps a standing queue (node/core/overload-control.ts). */
import { bool, int, obj } from '../fields.js';

export const overloadSection = obj({
  /** Off by default: see node/core/overload-control.ts for what it does and does not help (measured). */
  enabled: bool(false),
  /** Standing queueing delay (socket + event loop) above which new out-of-dialog requests are shed; half of T1 by default (100 ms shed at rates the node serves clean). */
  target_delay_ms: int(250, 1, 60_000),
  /** Evaluation interval: the delay that counts is the minimum over one interval (a burst that drains is not overload). */
  interval_ms: int(100, 10, 60_000),
  /** Retry-After of the 503 a shed request gets (RFC 3261 §21.5.4). */
  retry_after_secs: int(5, 0, 86_400),
});
