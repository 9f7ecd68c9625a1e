/** `transport.*`: limits shared by the UDP and TCP transports (RFC 3261 §18). */
import { int, list, obj, str } from '../fields.js';

export const transportSection = obj({
  /** Largest SIP message accepted on any transport (header + body bytes). */
  max_message_size: int(65_535, 512, 16 * 1024 * 1024),
  /** Inbound/outbound TCP connections with no traffic for this long are closed. */
  tcp_idle_timeout_secs: int(300, 1, 86_400),
  /**
   * Inbound TCP connections held at once; past it a new one is closed as it is accepted (counted in
   * siphon_tcp_connections_refused_total), so a connection flood cannot exhaust file descriptors.
   */
  tcp_max_connections: int(10_000, 1, 1_000_000),
  /** Fail-fast bound on an outbound TCP connect (a black-holed peer must not hold a send). */
  tcp_connect_timeout_ms: int(5000, 1, 120_000),
  /**
   * Wedge bound: a stream whose unsent bytes exceed this is shed (message dropped, counted, connection
   * closed) instead of awaited, so one non-reading peer never stalls others.
   */
  tcp_max_write_buffer_bytes: int(1024 * 1024, 4096, 256 * 1024 * 1024),
  /**
   * Path MTU assumed for UDP (RFC 3261 §18.1.1): a forwarded request longer than this less 200 bytes
   * moves to TCP when the node listens on TCP, and falls back to UDP if the next hop refuses TCP.
   * 1500 gives the RFC's 1300-byte bound. 0 turns the switch off (Kamailio's `udp_mtu` default):
   * for phones registered over UDP behind NAT, whose NAT drops an unsolicited TCP connect: the first
   * large INVITE to such a next hop waits out tcp_connect_timeout_ms before the UDP fallback (later
   * ones go UDP at once for 10 minutes: the proxy remembers the failed hop).
   */
  udp_mtu: int(1500, 0, 65_535),
  /**
   * WebSocket upgrades carrying an `Origin` (browsers always send one) must name one of these, e.g.
   * "https://phone.example.com", else 403: no other site's page can open SIP connections through a
   * visitor's browser. Empty: any origin. Upgrades without Origin (non-browser clients) are accepted.
   */
  ws_allowed_origins: list(str(), []),
  /** SO_RCVBUF for UDP sockets: 8 MiB absorbs event-loop pauses (see notes/node-udp-ceiling.md). */
  udp_recv_buffer_bytes: int(8 * 1024 * 1024, 0, 1024 * 1024 * 1024),
});
