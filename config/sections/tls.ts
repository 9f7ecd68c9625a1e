/**
 * `tls.*`: SIP over TLS (RFC 3261 §26.3.1, RFC 5630), shared by every `listen.tls` listener and by
 * outbound TLS connections. PEM files are read and checked while the config loads, so a missing or
 * unreadable file, or a key that does not match its certificate, is a config error naming the key.
 */
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { ConfigIssue } from '../config-error.js';
import { bool, int, obj, oneOf, refine, type Field } from '../fields.js';

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
});

export type TlsSection = ReturnType<typeof tlsFields.decode>;

export const tlsSection = refine(tlsFields, (t) => {
  if (t.verify_client && t.client_ca === null) return 'verify_client: true needs client_ca (the CA bundle client certificates are checked against)';
  if ((t.certificate === null) !== (t.private_key === null)) return 'certificate and private_key go together: set both or neither';
  if (t.certificate !== null && t.private_key !== null) {
    try {
      createSecureContext({ cert: t.certificate.pem, key: t.private_key.pem });
    } catch (err) {
      return `private_key ${t.private_key.path} does not fit certificate ${t.certificate.path}: ${(err as Error).message}`;
    }
  }
  return null;
});
