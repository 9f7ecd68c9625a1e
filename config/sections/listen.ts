/**
 * `listen.udp` / `listen.tcp` / `listen.tls` / `listen.ws` / `listen.wss`: SIP listeners (TLS and
 * WSS ones need `tls.certificate`). Each entry is `"ip:port"` or
 * `{address: "ip:port", advertise: "host[:port]"}` (per-socket advertised address, used in Via and
 * Record-Route when the bind address is not what peers should see) and `dscp` (this listener's
 * marking, overriding `listen.dscp`).
 */
import { ConfigIssue } from '../config-error.js';
import { isMapping, list, obj, type Field } from '../fields.js';
import { advertisedAddress, bindAddress, type HostPort } from '../host-port.js';

export interface ListenerConfig {
  readonly host: string;
  readonly port: number;
  readonly advertise: HostPort | null;
  /** This listener's DSCP, overriding `listen.dscp`; absent: the section's. */
  readonly dscp?: number;
}

/** RFC 4594 service class names an operator may write instead of the code point. */
const DSCP_NAMES: ReadonlyMap<string, number> = new Map([
  ...[0, 1, 2, 3, 4, 5, 6, 7].map((i) => [`cs${i}`, i * 8] as const),
  ...[1, 2, 3, 4].flatMap((c) => [1, 2, 3].map((d) => [`af${c}${d}`, c * 8 + d * 2] as const)),
  ['ef', 46],
  ['va', 44],
]);

/** A DSCP: 0-63, or a name (CS0-CS7, AF11-AF43, EF, VA); null when absent and no default. */
function dscp(def: number | null): Field<number | null> {
  const expects = 'a DSCP (0-63, or CS0-CS7, AF11-AF43, EF)';
  return {
    expects,
    decode(raw, path) {
      if (raw === undefined || raw === null) return def;
      if (typeof raw === 'number' && Number.isInteger(raw) && raw >= 0 && raw <= 63) return raw;
      if (typeof raw === 'string') {
        const named = DSCP_NAMES.get(raw.trim().toLowerCase());
        if (named !== undefined) return named;
      }
      throw new ConfigIssue(path, `expected ${expects}, got ${JSON.stringify(raw)}`);
    },
  };
}

const listenerObject = obj({ address: bindAddress(), advertise: advertisedAddress(), dscp: dscp(null) });

function listener(): Field<ListenerConfig> {
  return {
    expects: 'an "ip:port" string or {address, advertise, dscp}',
    decode(raw, path) {
      if (typeof raw === 'string') return { ...bindAddress().decode(raw, path), advertise: null };
      if (isMapping(raw)) {
        const o = listenerObject.decode(raw, path);
        return { host: o.address.host, port: o.address.port, advertise: o.advertise, ...(o.dscp === null ? {} : { dscp: o.dscp }) };
      }
      throw new ConfigIssue(path, `expected an "ip:port" string or {address, advertise, dscp}, got ${JSON.stringify(raw)}`);
    },
  };
}

const DEFAULT_SIP = { host: '127.0.0.1', port: 5060, advertise: null };

export const listenSection = obj({
  udp: list(listener(), [DEFAULT_SIP]),
  tcp: list(listener(), [DEFAULT_SIP]),
  /** None by default: a TLS listener needs a certificate (`tls.*`); RFC 3261 §26.2's port is 5061. */
  tls: list(listener(), []),
  /** RFC 7118 SIP over WebSocket (browsers, WebRTC clients); none by default. */
  ws: list(listener(), []),
  /** Secure WebSocket: the `tls.*` certificate on an HTTPS listener. */
  wss: list(listener(), []),
  /** RFC 4594 §4.2: signalling is CS3 (24); each listener's `dscp` overrides it; 0 leaves packets unmarked. */
  dscp: dscp(24),
});

/** `advertised_address`: fallback advertised host for listeners bound to 0.0.0.0 / ::. */
export const advertisedAddressKey = advertisedAddress();

