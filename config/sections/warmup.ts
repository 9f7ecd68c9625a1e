/** `warmup.*`: synthetic traffic through a throwaway in-process node before the listeners bind (node/app/warm-up.ts). */
import { bool, int, obj } from '../fields.js';

export const warmupSection = obj({
  /** A cold node offered full load at once falls behind while V8 compiles its hot paths (measured: see warm-up.ts). */
  enabled: bool(true),
  /** How long the synthetic REGISTERs and calls run; start-up takes about this much longer. */
  duration_ms: int(1000, 0, 60_000),
});
