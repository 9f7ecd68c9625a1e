/**
 * RFC 6066 §3 Server Name Indication on our TLS listeners (SIP over TLS and secure WebSocket): the
 * certificate of the name a client asks for, so one listener serves several domains (a hosted PBX
 * per tenant; Kamailio's tls.cfg `server_name`). Names compare case-insensitively; `*.example.com`
 * stands for exactly one label (RFC 6125 §6.4.3). A name without an entry, or a client sending no
 * SNI, gets the listener's default certificate.
 */
import { createSecureContext, type SecureContext, type SecureContextOptions } from 'node:tls';

export interface SniCertificate {
  /** A host name, or `*.` and a domain. */
  readonly serverName: string;
  /** PEM chain, leaf first, and its key. */
  readonly cert: string;
  readonly key: string;
}

export type SniCallback = (servername: string, done: (err: Error | null, ctx?: SecureContext) => void) => void;

/** The parent of a wildcard name (`*.a.b` → `a.b`), or null when `name` is not one. */
function wildcardParent(name: string): string | null {
  return name.startsWith('*.') ? name.slice(2) : null;
}

export class SniCertificates {
  private readonly exact = new Map<string, SecureContext>();
  /** Wildcard entries by the domain below the `*` label. */
  private readonly wildcard = new Map<string, SecureContext>();

  /**
   * `shared`: what every context carries besides its certificate (the lowest TLS version, and the
   * CA client certificates are checked against under mTLS: after the switch, that context verifies).
   */
  constructor(entries: readonly SniCertificate[], shared: SecureContextOptions) {
    for (const e of entries) {
      const name = e.serverName.toLowerCase();
      const ctx = createSecureContext({ ...shared, cert: e.cert, key: e.key });
      const parent = wildcardParent(name);
      if (parent === null) this.exact.set(name, ctx);
      else this.wildcard.set(parent, ctx);
    }
  }

  /** The context for a name a client asked for; undefined: the default certificate. */
  contextFor(serverName: string): SecureContext | undefined {
    const name = serverName.toLowerCase().replace(/\.$/, '');
    const exact = this.exact.get(name);
    if (exact !== undefined) return exact;
    const dot = name.indexOf('.');
    // One label only: `*.example.com` covers `a.example.com`, not `a.b.example.com` nor `example.com`.
    return dot > 0 ? this.wildcard.get(name.slice(dot + 1)) : undefined;
  }

  /** For `tls.createServer({ SNICallback })`: never fails a handshake, at worst the default certificate. */
  readonly callback: SniCallback = (servername, done) => done(null, this.contextFor(servername));
}
