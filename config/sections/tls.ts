/**
 * `tls.*`: SIP over TLS (RFC 3261 §26.3.1, RFC 5630), shared by every `listen.tls` listener and by
 * outbound TLS connections. PEM files are read and checked while the config loads, so a missing or
 * unreadable file, or a key that does not match its certificate, is a config error naming the key.
 */
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { ConfigIssue } from '../config-error.js';
import { bool, int, list, obj, oneOf, refine, str, type Field } from '../fields.js';

/** A PEM file: its path and text, or null when the key is absent. */
export interface PemFile {
  readonly path: string;
  readonly pem: string;
}

/** Reads the file a key names and requires at least one PEM block of the expected kind in it. */
function pemFile(kind: 'CERTIFICATE' | 'PRIVATE KEY'): Field<PemFile | null> {
  const expects = 'a path to a PEM file, or null';
  return {
    expects,
    decode(raw, path) {
      if (raw === undefined || raw === null) return null;
      if (typeof raw !== 'string' || raw === '') throw new ConfigIssue(path, `expected ${expects}, got ${JSON.stringify(raw)}`);
      let pem: string;
      try {
        pem = readFileSync(raw, 'utf8');
      } catch (err) {
        throw new ConfigIssue(path, `cannot read ${raw}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
      // "-----BEGIN PRIVATE KEY", "-----BEGIN RSA PRIVATE KEY", "-----BEGIN EC PRIVATE KEY" all qualify.
      const marker = kind === 'CERTIFICATE' ? /-----BEGIN CERTIFICATE-----/ : /-----BEGIN [A-Z ]*PRIVATE KEY-----/;
      if (!marker.test(pem)) throw new ConfigIssue(path, `${raw} holds no PEM ${kind.toLowerCase()}`);
      return { path: raw, pem };
    },
  };
}

/** A DNS host name, or `*.` and one (RFC 6125 §6.4.3: the wildcard is a whole leftmost label). */
const SERVER_NAME = /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$/i;

/** Both PEM fields set, and the key fits the certificate; null when it does. */
function keyPairProblem(certificate: PemFile | null, privateKey: PemFile | null): string | null {
  if ((certificate === null) !== (privateKey === null)) return 'certificate and private_key go together: set both or neither';
  if (certificate === null || privateKey === null) return null;
  try {
    createSecureContext({ cert: certificate.pem, key: privateKey.pem });
  } catch (err) {
    return `private_key ${privateKey.path} does not fit certificate ${certificate.path}: ${(err as Error).message}`;
  }
  return null;
}

/** `tls.sni[i]`: the certificate served to clients asking for `server_name` (RFC 6066 §3). */
const sniEntry = refine(
  obj({
    server_name: str(),
    certificate: pemFile('CERTIFICATE'),
    private_key: pemFile('PRIVATE KEY'),
  }),
  (e) => {
    if (!SERVER_NAME.test(e.server_name)) return `server_name ${JSON.stringify(e.server_name)} is not a host name (or *. and a domain)`;
    if (e.certificate === null) return 'certificate is required';
    return keyPairProblem(e.certificate, e.private_key);
  },
);

const tlsFields = obj({
  /** Our certificate chain, leaf first (served on listen.tls, and presented to peers that ask). */
  certificate: pemFile('CERTIFICATE'),
  private_key: pemFile('PRIVATE KEY'),
  /** Lowest protocol version accepted and offered: TLSv1_2 (1.2 and 1.3) or TLSv1_3 (1.3 only). */
  method: oneOf(['TLSv1_2', 'TLSv1_3'] as const, 'TLSv1_2'),
  /** mTLS: listeners require a client certificate signed by `client_ca` (fails closed without it). */
  verify_client: bool(false),
  client_ca: pemFile('CERTIFICATE'),
  /** Outbound: verify the server's certificate and its name (RFC 5922 §7.3); off only for labs. */
  verify_server: bool(true),
  /** Outbound trust anchors; null = the system's CA store. */
  ca: pemFile('CERTIFICATE'),
  /** A connection whose handshake has not finished by then is closed (slowloris defence). */
  handshake_timeout_ms: int(10_000, 100, 120_000),
  /** Further certificates by the server name clients ask for; the others get `certificate`. */
  sni: list(sniEntry, []),
});

export type TlsSection = ReturnType<typeof tlsFields.decode>;

export const tlsSection = refine(tlsFields, (t) => {
  if (t.verify_client && t.client_ca === null) return 'verify_client: true needs client_ca (the CA bundle client certificates are checked against)';
  const pair = keyPairProblem(t.certificate, t.private_key);
  if (pair !== null) return pair;
  if (t.sni.length > 0 && t.certificate === null) return 'sni needs certificate and private_key: clients without SNI (or asking for another name) get that one';
  const seen = new Set<string>();
  for (const e of t.sni) {
    const name = e.server_name.toLowerCase();
    if (seen.has(name)) return `sni lists server_name ${name} twice`;
    seen.add(name);
  }
  return null;
});
