// RFC 6066 SNI on a real TLS listener: the `tls.sni` config section, through streamTlsOf, picks the
// certificate of the name a client asks for; the default certificate serves every other name.
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type PeerCertificate } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { loadConfig } from '../../../config/index.js';
import { streamTlsOf } from '../../../node/core/sip-node.js';
import { SniCertificates, TcpTransport, type StreamTls } from '../../../node/transport/index.js';
import { testPki } from '../../helpers/tls-certs.js';
import { inbox } from './inbox.js';
import { tcpTestOptions } from './tcp-test-options.js';

const pki = testPki();

function tlsFromConfig(extra = ''): StreamTls {
  const dir = mkdtempSync(join(tmpdir(), 'siphon-sni-'));
  const file = join(dir, 'siphon.yaml');
  writeFileSync(
    file,
    `tls:\n  certificate: ${pki.serverCertFile}\n  private_key: ${pki.serverKeyFile}\n${extra}  sni:\n` +
      `    - { server_name: PBX.Tenant.Test, certificate: ${pki.tenantCertFile}, private_key: ${pki.tenantKeyFile} }\n` +
      `    - { server_name: "*.wild.test", certificate: ${pki.wildCertFile}, private_key: ${pki.wildKeyFile} }\n`,
  );
  const tls = streamTlsOf(loadConfig({ file }).config.tls);
  if (tls === null) throw new Error('no TLS settings');
  return { ...tls, handshakeTimeoutMs: 1000 };
}

/** The names on the certificate the listener served for `servername` (verification off: we look at what came). */
function servedNames(port: number, servername: string | undefined, extra: object = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...(servername === undefined ? {} : { servername }), ...extra }, () => {
      const cert: PeerCertificate = s.getPeerCertificate();
      s.end();
      resolve(cert.subjectaltname ?? '');
    });
    s.once('error', reject);
  });
}

describe('SniCertificates', () => {
  const sni = new SniCertificates(
    [
      { serverName: 'pbx.tenant.test', cert: pki.tenantCert, key: pki.tenantKey },
      { serverName: '*.wild.test', cert: pki.wildCert, key: pki.wildKey },
    ],
    { minVersion: 'TLSv1.2' },
  );

  it('matches exact names case-insensitively (a trailing dot too) and a wildcard for exactly one label', () => {
    expect(sni.contextFor('pbx.tenant.test')).toBeDefined();
    expect(sni.contextFor('PBX.TENANT.TEST.')).toBe(sni.contextFor('pbx.tenant.test'));
    expect(sni.contextFor('a.wild.test')).toBeDefined();
    expect(sni.contextFor('a.wild.test')).not.toBe(sni.contextFor('pbx.tenant.test'));
    for (const other of ['a.b.wild.test', 'wild.test', 'tenant.test', 'sip.test', '']) expect(sni.contextFor(other)).toBeUndefined();
  });
});

describe('TLS listener with tls.sni', () => {
  let transport: TcpTransport;
  beforeAll(async () => {
    transport = new TcpTransport({ ...tcpTestOptions(), tls: tlsFromConfig() }, inbox(), {
      malformed: () => undefined,
      shed: () => undefined,
      connections: () => undefined,
    });
    await transport.start();
  });
  afterAll(() => transport.stop());

  it('serves the certificate of the name asked for, the default one for other names and without SNI', async () => {
    const port = transport.listener.port;
    expect(await servedNames(port, 'pbx.tenant.test')).toBe('DNS:pbx.tenant.test');
    expect(await servedNames(port, 'edge.wild.test')).toBe('DNS:*.wild.test');
    expect(await servedNames(port, 'a.b.wild.test')).toContain('DNS:sip.test');
    expect(await servedNames(port, 'sip.test')).toContain('DNS:sip.test');
    expect(await servedNames(port, undefined)).toContain('DNS:sip.test');
  });

  it('a verifying client asking for a tenant name completes its handshake against the tenant certificate', async () => {
    const port = transport.listener.port;
    await new Promise<void>((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port, servername: 'pbx.tenant.test', ca: pki.ca }, () => {
        expect(s.authorized).toBe(true);
        s.end();
        resolve();
      });
      s.once('error', reject);
    });
  });
});

describe('TLS listener with tls.sni and mTLS', () => {
  let transport: TcpTransport;
  beforeAll(async () => {
    transport = new TcpTransport(
      { ...tcpTestOptions(), tls: tlsFromConfig(`  verify_client: true\n  client_ca: ${pki.caFile}\n`) },
      inbox(),
      { malformed: () => undefined, shed: () => undefined, connections: () => undefined },
    );
    await transport.start();
  });
  afterAll(() => transport.stop());

  it('a tenant name still checks client certificates against client_ca', async () => {
    const port = transport.listener.port;
    // Signed by client_ca: accepted on the tenant's certificate.
    expect(await servedNames(port, 'pbx.tenant.test', { cert: pki.clientCert, key: pki.clientKey })).toBe('DNS:pbx.tenant.test');
    // Self-signed: refused, whichever certificate the name selected.
    const refused = await new Promise<boolean>((resolve) => {
      const s = connect({ host: '127.0.0.1', port, servername: 'pbx.tenant.test', rejectUnauthorized: false, cert: pki.rogueCert, key: pki.rogueKey });
      s.once('error', () => resolve(true));
      s.once('close', () => resolve(true));
      s.once('data', () => resolve(false));
      s.once('secureConnect', () => s.write('OPTIONS sip:a@b SIP/2.0\r\n\r\n'));
    });
    expect(refused).toBe(true);
  });
});
