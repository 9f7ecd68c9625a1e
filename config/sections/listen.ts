/**
 * `listen.udp` / `listen.tcp` / `listen.tls` / `listen.ws` / `listen.wss`: SIP listeners (TLS and
 * WSS ones need `tls.certificate`). Each entry is `"ip:port"` or
 * `{address: "ip:port", advertise: "host[:port]"}` (per-socket advertised address, used in Via and
 * Record-Route when the bind address is not what peers should see).
 */
import { ConfigIssue } from '../config-error.js';
import { isMapping, list, obj, type Field } from '../fields.js';
import { advertisedAddress, bindAddress, type HostPort } from '../host-port.js';

export interface ListenerConfig {
  readonly host: string;
  readonly port: number;
  readonly advertise: HostPort | null;
}

const listenerObject = obj({ address: bindAddress(), advertise: advertisedAddress() });

function listener(): Field<ListenerConfig> {
  return {
    expects: 'an "ip:port" string or {address, advertise}',
    decode(raw, path) {
      if (typeof raw === 'string') return { ...bindAddress().decode(raw, path), advertise: null };
      if (isMapping(raw)) {
        const o = listenerObject.decode(raw, path);
        return { host: o.address.host, port: o.address.port, advertise: o.advertise };
      }
      throw new ConfigIssue(path, `expected an "ip:port" string or {address, advertise}, got ${JSON.stringify(raw)}`);
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
});

/** `advertised_address`: fallback advertised host for listeners bound to 0.0.0.0 / ::. */
export const advertisedAddressKey = advertisedAddress();

