/**
 * RFC 3263 §4.1: the transport and SRV owner name a NAPTR answer selects for a SIP or SIPS URI
 * whose host is a name and which names neither a transport nor a port. Pure.
 *
 * Records whose flags are not "s" (the replacement is an SRV owner name), whose service is not one
 * this node speaks, or whose replacement is empty are discarded; of the rest, the lowest order,
 * then the lowest preference, wins (RFC 3403 §4.1). SIPS needs TLS ("SIPS+D2T"), which this node
 * does not offer, so a SIPS URI never selects a NAPTR record here.
 */
import type { SrvTransport } from './srv-name.js';

export interface NaptrRecord {
  readonly flags: string;
  readonly service: string;
  readonly regexp: string;
  readonly replacement: string;
  readonly order: number;
  readonly preference: number;
}

export interface NaptrChoice {
  readonly transport: SrvTransport;
  /** The SRV owner name to query instead of `_sip._<transport>.<host>`. */
  readonly srvName: string;
}

/** RFC 3263 §4.1 / RFC 3261 §26: the resolution services for the transports we send on. */
const SIP_SERVICES: ReadonlyMap<string, SrvTransport> = new Map([
  ['SIP+D2U', 'udp'],
  ['SIP+D2T', 'tcp'],
]);

export function chooseNaptr(records: readonly NaptrRecord[], secure: boolean): NaptrChoice | null {
  let best: NaptrRecord | undefined;
  let bestTransport: SrvTransport | undefined;
  for (const r of records) {
    if (secure || r.flags.toLowerCase() !== 's') continue;
    const transport = SIP_SERVICES.get(r.service.toUpperCase());
    const replacement = r.replacement.replace(/\.$/, '');
    if (transport === undefined || replacement === '') continue;
    if (best === undefined || r.order < best.order || (r.order === best.order && r.preference < best.preference)) {
      best = r;
      bestTransport = transport;
    }
  }
  return best === undefined || bestTransport === undefined ? null : { transport: bestTransport, srvName: best.replacement.replace(/\.$/, '').toLowerCase() };
}
