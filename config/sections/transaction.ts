/** `transaction.*`: RFC 3261 §17 timer base values and overall transaction limits. */
import { int, obj } from '../fields.js';

export const transactionSection = obj({
  /** Non-INVITE transaction lifetime (Timer F = 64·T1 = 32 s by default, §17.1.2.2). */
  timeout_secs: int(32, 1, 3600),
  /** INVITE transaction lifetime before the proxy gives up (Timer C, §16.6 step 11: > 3 min). */
  invite_timeout_secs: int(180, 1, 3600),
  /** §17.1.1.1: T1 RTT estimate, 500 ms default. */
  t1_ms: int(500, 1, 60_000),
  /** §17.1.2.2: T2 maximum non-INVITE retransmit interval, 4 s. */
  t2_ms: int(4000, 1, 600_000),
  /** §17.1.2.2: T4 maximum time a message stays in the network, 5 s. */
  t4_ms: int(5000, 1, 600_000),
});
