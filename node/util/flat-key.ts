/**
 * V8 builds `a + b` and template literals of 13+ characters as ropes. A rope kept as a long-lived
 * key (a transaction for 64·T1, a binding for its lifetime) pins a tree of rope nodes and every
 * piece it was built from: measured at ~220 bytes for a transaction key against ~72 flat, and about
 * 20 heap objects per REGISTER. Reading a character from the far end makes V8 flatten the rope in
 * place, after which the pieces can be collected. (`s | 0`, the older trick, no longer does it fully,
 * and Map.set does not at all.) Only worth calling for strings that outlive their message.
 */
let sink = 0;

export function flatKey(s: string): string {
  // Written to module state, so the optimiser cannot drop the read.
  sink ^= s.length === 0 ? 0 : s.charCodeAt(s.length - 1);
  return s;
}
