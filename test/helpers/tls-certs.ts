// Throwaway PKI for TLS tests, made with the openssl CLI into a temp dir once per test process: a CA,
// a server certificate for localhost / 127.0.0.1 / sip.test, a client certificate from the same CA,
// certificates for pbx.tenant.test and *.wild.test (SNI),
// and a self-signed certificate nobody trusts.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestPki {
  readonly dir: string;
  /** Paths, for config files. */
  readonly caFile: string;
  readonly serverCertFile: string;
  readonly serverKeyFile: string;
  readonly clientCertFile: string;
  readonly clientKeyFile: string;
  readonly rogueCertFile: string;
  readonly rogueKeyFile: string;
  /** From the same CA, for SNI: pbx.tenant.test, and a wildcard *.wild.test. */
  readonly tenantCertFile: string;
  readonly tenantKeyFile: string;
  readonly wildCertFile: string;
  readonly wildKeyFile: string;
  /** PEM texts, for in-process sockets. */
  readonly ca: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly clientCert: string;
  readonly clientKey: string;
  readonly rogueCert: string;
  readonly rogueKey: string;
  readonly tenantCert: string;
  readonly tenantKey: string;
  readonly wildCert: string;
  readonly wildKey: string;
}

let made: TestPki | null = null;

function openssl(dir: string, args: readonly string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Signs `name`'s key with the CA, with the given subjectAltName. */
function issue(dir: string, name: string, san: string): void {
  openssl(dir, ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`]);
  writeFileSync(join(dir, `${name}.ext`), `subjectAltName=${san}\n`);
  openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-out', `${name}.crt`, '-extfile', `${name}.ext`]);
}

export function testPki(): TestPki {
  if (made !== null) return made;
  const dir = mkdtempSync(join(tmpdir(), 'siphon-pki-'));
  openssl(dir, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=SIPhon test CA']);
  issue(dir, 'server', 'DNS:localhost,DNS:sip.test,IP:127.0.0.1');
  issue(dir, 'client', 'DNS:client.test');
  issue(dir, 'tenant', 'DNS:pbx.tenant.test');
  issue(dir, 'wild', 'DNS:*.wild.test');
  openssl(dir, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'rogue.key', '-out', 'rogue.crt', '-days', '2', '-subj', '/CN=rogue', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1']);
  const read = (f: string): string => readFileSync(join(dir, f), 'utf8');
  made = {
    dir,
    caFile: join(dir, 'ca.crt'),
    serverCertFile: join(dir, 'server.crt'),
    serverKeyFile: join(dir, 'server.key'),
    clientCertFile: join(dir, 'client.crt'),
    clientKeyFile: join(dir, 'client.key'),
    rogueCertFile: join(dir, 'rogue.crt'),
    rogueKeyFile: join(dir, 'rogue.key'),
    tenantCertFile: join(dir, 'tenant.crt'),
    tenantKeyFile: join(dir, 'tenant.key'),
    wildCertFile: join(dir, 'wild.crt'),
    wildKeyFile: join(dir, 'wild.key'),
    ca: read('ca.crt'),
    serverCert: read('server.crt'),
    serverKey: read('server.key'),
    clientCert: read('client.crt'),
    clientKey: read('client.key'),
    rogueCert: read('rogue.crt'),
    rogueKey: read('rogue.key'),
    tenantCert: read('tenant.crt'),
    tenantKey: read('tenant.key'),
    wildCert: read('wild.crt'),
    wildKey: read('wild.key'),
  };
  return made;
}
