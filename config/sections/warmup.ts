/** `warmup.*`: synthetic traffic through a throwaway in-process node before the listeners bind (node/app/warm-up.ts). */
import { bool, int, obj } from '../fields.js';

export const warmupSection = obj({
  /** A cold node offered full load at once falls behind while V8 compiles its hot paths (measured: see warm-up.ts). */
  enabled: bool(true),
  /**
   * How long the synthetic REGISTERs and calls run; start-up takes about this much longer. 2 s: the
   * shortest measured to keep a node offered 2,500 calls/s at once clean in every run (1 s: 4 of 5).
   */
  duration_ms: int(2000, 0, 60_000),
});
