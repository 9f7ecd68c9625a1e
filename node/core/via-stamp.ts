/**
 * RFC 3261 §18.2.1 and RFC 3581 §4: what a server writes into the topmost Via of a request it
 * received, so the response can find its way back through NAT.
 */
import type { Endpoint } from '../transport/index.js';

export interface ViaParams {
  readonly host: string;
  readonly params: Map<string, string | null>;
}

/**
 * Mutates `via.params`: adds `received` when the sent-by host differs from the packet source
 * (§18.2.1), or always when `rport` is present (RFC 3581 §4 requires it then), and fills an
 * empty `rport` with the source port (or adds it under `nat.force_rport`). Returns true if changed.
 */
export function stampVia(via: ViaParams, source: Endpoint, forceRport: boolean): boolean {
  let changed = false;
  const hasRport = via.params.has('rport');
  if (forceRport || hasRport) {
    const current = via.params.get('rport');
    if (current === null || current === undefined || current === '') {
      via.params.set('rport', String(source.port));
      changed = true;
    }
  }
  const host = via.host.startsWith('[') ? via.host.slice(1, -1) : via.host;
  if (via.params.has('rport') || host.toLowerCase() !== source.address.toLowerCase()) {
    if (via.params.get('received') !== source.address) {
      via.params.set('received', source.address);
      changed = true;
    }
  }
  return changed;
}
