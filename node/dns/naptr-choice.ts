/**
 * RFC 3263 §4.1: the transport and SRV owner name a NAPTR answer selects for a SIP or SIPS URI
 * whose host is a name and which names neither a transport nor a port. Pure.
 *
 * Records whose flags are not "s" (the replacement is an SRV owner name), whose service is not one
 * this node speaks, or whose replacement is empty are discarded; of the rest, the lowest order,
 * then the lowest preference, wins (RFC 3403 §4.1). "SIPS+D2T" (TLS) counts only when the node
 * sends TLS (`tls`); a SIPS URI keeps only SIPS services, while a SIP URI may take any (§4.1: "the
 * converse is not true").
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
  ['SIPS+D2T', 'tls'],
]);

export function chooseNaptr(records: readonly NaptrRecord[], secure: boolean, tls = false): NaptrChoice | null {
  let best: NaptrRecord | undefined;
  let bestTransport: SrvTransport | undefined;
  for (const r of records) {
    if (r.flags.toLowerCase() !== 's') continue;
    const transport = SIP_SERVICES.get(r.service.toUpperCase());
    const replacement = r.replacement.replace(/\.$/, '');
    if (transport === undefined || replacement === '') continue;
    if (transport === 'tls' ? !tls : secure) continue;
    if (best === undefined || r.order < best.order || (r.order === best.order && r.preference < best.preference)) {
      best = r;
      bestTransport = transport;
    }
  }
  return best === undefined || bestTransport === undefined ? null : { transport: bestTransport, srvName: best.replacement.replace(/\.$/, '').toLowerCase() };
}
