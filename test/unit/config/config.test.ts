import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import {
  ConfigError,
  configSchema,
  decodeConfig,
  defaultConfigPath,
  loadConfig,
  parseCliArgs,
} from '../../../config/index.js';
import { thrownBy } from '../../helpers/thrown-by.js';
import { testPki } from '../../helpers/tls-certs.js';

const dir = mkdtempSync(join(tmpdir(), 'siphon-config-'));
let n = 0;
function write(yaml: string): string {
  const file = join(dir, `c${n++}.yaml`);
  writeFileSync(file, yaml);
  return file;
}


describe('defaults', () => {
  test('embedded default.yaml: SIP on 127.0.0.1:5060 UDP+TCP, admin on 127.0.0.1:8080', () => {
    const { config, file } = loadConfig();
    expect(file).toBe(defaultConfigPath());
    expect(config.listen.udp).toEqual([{ host: '127.0.0.1', port: 5060, advertise: null }]);
    expect(config.listen.tcp).toEqual([{ host: '127.0.0.1', port: 5060, advertise: null }]);
    expect(config.admin.listen).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(config.transport.udp_recv_buffer_bytes).toBe(8 * 1024 * 1024);
  });

  test('default.yaml states exactly the schema defaults (an empty file decodes to the same config)', () => {
    const fromFile = decodeConfig(parseYaml(readFileSync(defaultConfigPath(), 'utf8')), 'default.yaml');
    expect(configSchema.decode({}, '')).toEqual(fromFile);
  });

  test('a partial file keeps defaults for omitted keys', () => {
    const { config } = loadConfig({ file: write('log:\n  level: debug\ntransaction:\n  t1_ms: 250\n') });
    expect(config.log).toEqual({ format: 'json', file: null, level: 'debug' });
    expect(config.transaction).toEqual({ timeout_secs: 32, invite_timeout_secs: 180, t1_ms: 250, t2_ms: 4000, t4_ms: 5000 });
    expect(config.registrar.max_contacts).toBe(10);
    expect(config.metrics.prometheus).toBe(true);
  });

  test('sections other modules read are accepted with their shapes', () => {
    const { config } = loadConfig({
      file: write(`
listen:
  udp: [{address: "0.0.0.0:5070", advertise: "sip.example.net:5070"}, "[::1]:5071"]
  tcp: []
advertised_address: 203.0.113.1
metrics: {prometheus: {listen: "127.0.0.1:9100"}}
registrar: {default_expires: 600, min_expires: 30, max_expires: 7200, max_contacts: 3, enforce_auth_aor_match: true, service_route: ["<sip:orig@scscf.example.net;lr>"]}
auth:
  backend: http
  realm: example.net
  algorithms: [SHA-256, MD5]
  nonce_secret: s3cret
  users: [{username: alice, password: pw}, {username: bob, ha1: abc, realm: other}]
  http: {url: "http://127.0.0.1:9/ha1", cache_ttl_secs: 5, timeout_ms: 100}
script: {path: ./route.js, reload: sighup}
proxy: {record_route: false}
cluster: {node_id: n2, peers: [{id: n1, address: "10.0.0.1:7000"}], data_dir: /var/lib/siphon}
nat: {force_rport: true}
`),
    });
    expect(config.listen.udp).toEqual([
      { host: '0.0.0.0', port: 5070, advertise: { host: 'sip.example.net', port: 5070 } },
      { host: '::1', port: 5071, advertise: null },
    ]);
    expect(config.listen.tcp).toEqual([]);
    expect(config.advertised_address).toEqual({ host: '203.0.113.1', port: null });
    expect(config.metrics.prometheus).toEqual({ listen: { host: '127.0.0.1', port: 9100 } });
    expect(config.auth.users[1]).toEqual({ username: 'bob', password: null, ha1: 'abc', realm: 'other' });
    expect(config.auth.algorithms).toEqual(['SHA-256', 'MD5']);
    expect(config.script.reload).toBe('sighup');
    expect(config.cluster.peers).toEqual([{ id: 'n1', address: '10.0.0.1:7000' }]);
    expect(config.nat.force_rport).toBe(true);
  });
});

describe('errors name the file, the key path and the reason', () => {
  test('unknown top-level key', () => {
    const file = write('listen:\n  udp: ["127.0.0.1:5060"]\nlistne: {}\n');
    const err = thrownBy(ConfigError, () => loadConfig({ file }));
    expect(err.file).toBe(file);
    expect(err.keyPath).toBe('listne');
    expect(err.reason).toMatch(/unknown key/);
    expect(err.message).toContain(file);
    expect(err.message).toContain('listne');
  });

  test('unknown nested key', () => {
    const file = write('transport:\n  max_msg_size: 10\n');
    const err = thrownBy(ConfigError, () => loadConfig({ file }));
    expect([err.file, err.keyPath]).toEqual([file, 'transport.max_msg_size']);
  });

  test('wrong type', () => {
    const file = write('transaction:\n  timeout_secs: "soon"\n');
    const err = thrownBy(ConfigError, () => loadConfig({ file }));
    expect([err.file, err.keyPath]).toEqual([file, 'transaction.timeout_secs']);
    expect(err.reason).toMatch(/expected an integer/);
  });

  test('wrong type inside a list names the index', () => {
    const file = write('listen:\n  udp: ["127.0.0.1:5060", "nonsense"]\n');
    const err = thrownBy(ConfigError, () => loadConfig({ file }));
    expect(err.keyPath).toBe('listen.udp[1]');
    expect(err.reason).toMatch(/ip:port/);
  });

  test('bad enum value', () => {
    const err = thrownBy(ConfigError, () => loadConfig({ file: write('log:\n  format: xml\n') }));
    expect(err.keyPath).toBe('log.format');
    expect(err.reason).toMatch(/json \| pretty/);
  });

  test('cross-field rule', () => {
    const err = thrownBy(ConfigError, () => loadConfig({ file: write('auth:\n  users: [{username: a, password: x, ha1: y}]\n') }));
    expect(err.keyPath).toBe('auth.users[0]');
    expect(err.reason).toMatch(/exactly one of password or ha1/);
    const reg = thrownBy(ConfigError, () => loadConfig({ file: write('registrar:\n  min_expires: 100\n  max_expires: 50\n') }));
    expect(reg.keyPath).toBe('registrar');
  });

  test('YAML syntax error and missing file', () => {
    const file = write('listen: [\n');
    expect(thrownBy(ConfigError, () => loadConfig({ file })).reason).toMatch(/YAML syntax error/);
    const missing = join(dir, 'nope.yaml');
    const err = thrownBy(ConfigError, () => loadConfig({ file: missing }));
    expect(err.file).toBe(missing);
    expect(err.reason).toMatch(/cannot read/);
  });
});

describe('--set overrides', () => {
  test('scalar, list and nested overrides win over the file', () => {
    const file = write('log:\n  level: warn\n');
    const { config } = loadConfig({
      file,
      sets: ['log.level=debug', 'listen.udp=["127.0.0.1:5999"]', 'transport.max_message_size=4096', 'nat.force_rport=true', 'server.server_header=Acme SBC'],
    });
    expect(config.log.level).toBe('debug');
    expect(config.listen.udp).toEqual([{ host: '127.0.0.1', port: 5999, advertise: null }]);
    expect(config.transport.max_message_size).toBe(4096);
    expect(config.nat.force_rport).toBe(true);
    expect(config.server.server_header).toBe('Acme SBC');
  });

  test('a bad --set is reported against --set with its key path', () => {
    const err = thrownBy(ConfigError, () => loadConfig({ file: write('{}\n'), sets: ['transport.tcp_idle_timeout_secs=abc'] }));
    expect([err.file, err.keyPath]).toEqual(['--set', 'transport.tcp_idle_timeout_secs']);
    const unknown = thrownBy(ConfigError, () => loadConfig({ file: write('{}\n'), sets: ['log.colour=red'] }));
    expect([unknown.file, unknown.keyPath]).toEqual(['--set', 'log.colour']);
    expect(thrownBy(ConfigError, () => loadConfig({ sets: ['novalue'] })).file).toBe('--set');
  });

  test('command line parsing', () => {
    expect(parseCliArgs(['--config', 'a.yaml', '--set', 'log.level=debug', '--set=nat.force_rport=true'])).toEqual({
      configFile: 'a.yaml',
      sets: ['log.level=debug', 'nat.force_rport=true'],
      help: false,
    });
    expect(parseCliArgs(['--config=b.yaml']).configFile).toBe('b.yaml');
    expect(thrownBy(ConfigError, () => parseCliArgs(['--bogus'])).keyPath).toBe('--bogus');
    expect(thrownBy(ConfigError, () => parseCliArgs(['--config'])).reason).toMatch(/missing value/);
  });
});

describe('advertised address resolution', () => {
  test('per-listener advertise wins; global advertised_address covers wildcard binds only', async () => {
    const { advertiseFor } = await import('../../../node/core/index.js');
    const global = { host: '203.0.113.7', port: null };
    expect(advertiseFor({ host: '0.0.0.0', port: 5060, advertise: { host: 'sip.example.net', port: 5080 } }, global)).toEqual({ host: 'sip.example.net', port: 5080 });
    expect(advertiseFor({ host: '0.0.0.0', port: 5060, advertise: null }, global)).toEqual(global);
    expect(advertiseFor({ host: '::', port: 5060, advertise: null }, global)).toEqual(global);
    expect(advertiseFor({ host: '10.0.0.5', port: 5060, advertise: null }, global)).toBeNull();
    expect(advertiseFor({ host: '0.0.0.0', port: 5060, advertise: null }, null)).toBeNull();
  });
});

describe('listen.dscp', () => {
  test('signalling is CS3 (24) unless set; names and numbers; a listener may override it', () => {
    expect(loadConfig({ file: write('{}\n') }).config.listen.dscp).toBe(24);
    const { config } = loadConfig({
      file: write('listen:\n  dscp: AF31\n  udp: [{ address: "127.0.0.1:5060", dscp: EF }, "127.0.0.1:5070"]\n  tcp: [{ address: "127.0.0.1:5060", dscp: 0 }]\n'),
    });
    expect(config.listen.dscp).toBe(26);
    expect(config.listen.udp[0].dscp).toBe(46);
    expect(config.listen.udp[1].dscp).toBeUndefined();
    expect(config.listen.tcp[0].dscp).toBe(0);
  });

  test('a value out of range or an unknown name names the key', () => {
    const big = thrownBy(ConfigError, () => loadConfig({ file: write('listen:\n  dscp: 64\n') }));
    expect(big.keyPath).toBe('listen.dscp');
    expect(big.reason).toMatch(/expected a DSCP/);
    const name = thrownBy(ConfigError, () => loadConfig({ file: write('listen:\n  udp: [{ address: "127.0.0.1:5060", dscp: AF44 }]\n') }));
    expect(name.keyPath).toBe('listen.udp[0].dscp');
  });
});

describe('tls', () => {
  const pki = testPki();
  const listenTls = 'listen:\n  tls: ["127.0.0.1:5061"]\n';

  test('a TLS listener needs a certificate: the error names tls.certificate', () => {
    const err = thrownBy(ConfigError, () => loadConfig({ file: write(listenTls) }));
    expect(err.keyPath).toBe('tls.certificate');
    expect(err.reason).toMatch(/required when listen\.tls has listeners/);
  });

  test('certificate, key and CA files are read at load: the PEM text and the method come through', () => {
    const { config } = loadConfig({
      file: write(`${listenTls}tls:\n  certificate: ${pki.serverCertFile}\n  private_key: ${pki.serverKeyFile}\n  ca: ${pki.caFile}\n  method: TLSv1_3\n`),
    });
    expect(config.listen.tls).toEqual([{ host: '127.0.0.1', port: 5061, advertise: null }]);
    expect(config.tls.certificate?.pem).toContain('-----BEGIN CERTIFICATE-----');
    expect(config.tls.ca?.path).toBe(pki.caFile);
    expect(config.tls.method).toBe('TLSv1_3');
    expect(config.tls.verify_server).toBe(true);
  });

  test('an unreadable file is an error naming the key and the path', () => {
    const err = thrownBy(ConfigError, () => loadConfig({ file: write(`tls:\n  certificate: /nonexistent/cert.pem\n  private_key: ${pki.serverKeyFile}\n`) }));
    expect(err.keyPath).toBe('tls.certificate');
    expect(err.reason).toBe('cannot read /nonexistent/cert.pem: ENOENT');
  });

  test('a file without the PEM block the key needs is refused', () => {
    const err = thrownBy(ConfigError, () => loadConfig({ file: write(`tls:\n  certificate: ${pki.serverKeyFile}\n  private_key: ${pki.serverKeyFile}\n`) }));
    expect(err.keyPath).toBe('tls.certificate');
    expect(err.reason).toMatch(/holds no PEM certificate/);
  });

  test('a key that does not belong to the certificate is refused at load', () => {
    const err = thrownBy(ConfigError, () => loadConfig({ file: write(`tls:\n  certificate: ${pki.serverCertFile}\n  private_key: ${pki.clientKeyFile}\n`) }));
    expect(err.keyPath).toBe('tls');
    expect(err.reason).toMatch(/does not fit certificate/);
  });

  test('a WSS listener needs the certificate too; a WS listener does not', () => {
    const err = thrownBy(ConfigError, () => loadConfig({ file: write('listen:\n  wss: ["127.0.0.1:8089"]\n') }));
    expect(err.keyPath).toBe('tls.certificate');
    expect(err.reason).toMatch(/listen\.wss/);
    expect(loadConfig({ file: write('listen:\n  ws: ["127.0.0.1:8088"]\n') }).config.listen.ws).toEqual([{ host: '127.0.0.1', port: 8088, advertise: null }]);
  });

  test('verify_client without client_ca fails closed', () => {
    const err = thrownBy(ConfigError, () => loadConfig({ file: write(`tls:\n  verify_client: true\n`) }));
    expect(err.keyPath).toBe('tls');
    expect(err.reason).toMatch(/needs client_ca/);
  });

  describe('sni', () => {
    const base = `tls:\n  certificate: ${pki.serverCertFile}\n  private_key: ${pki.serverKeyFile}\n  sni:\n`;
    const entry = (name: string, cert = pki.tenantCertFile, key = pki.tenantKeyFile) =>
      `    - server_name: "${name}"\n      certificate: ${cert}\n      private_key: ${key}\n`;

    test('entries are read with their PEM files', () => {
      const { config } = loadConfig({ file: write(base + entry('pbx.tenant.test') + entry('*.wild.test', pki.wildCertFile, pki.wildKeyFile)) });
      expect(config.tls.sni.map((e) => e.server_name)).toEqual(['pbx.tenant.test', '*.wild.test']);
      expect(config.tls.sni[1].certificate?.path).toBe(pki.wildCertFile);
    });

    test('a key that does not fit its certificate names the entry', () => {
      const err = thrownBy(ConfigError, () => loadConfig({ file: write(base + entry('pbx.tenant.test', pki.tenantCertFile, pki.wildKeyFile)) }));
      expect(err.keyPath).toBe('tls.sni[0]');
      expect(err.reason).toMatch(/does not fit certificate/);
    });

    test('a server_name that is not a host name, a missing certificate, a name listed twice', () => {
      const bad = thrownBy(ConfigError, () => loadConfig({ file: write(base + entry('pbx.*.test')) }));
      expect(bad.keyPath).toBe('tls.sni[0]');
      expect(bad.reason).toMatch(/not a host name/);
      const missing = thrownBy(ConfigError, () => loadConfig({ file: write(`${base}    - server_name: a.test\n`) }));
      expect(missing.keyPath).toBe('tls.sni[0]');
      expect(missing.reason).toMatch(/certificate is required/);
      const twice = thrownBy(ConfigError, () => loadConfig({ file: write(base + entry('pbx.tenant.test') + entry('PBX.tenant.test')) }));
      expect(twice.keyPath).toBe('tls');
      expect(twice.reason).toMatch(/twice/);
    });

    test('sni without a default certificate is refused: clients sending no SNI need one', () => {
      const err = thrownBy(ConfigError, () => loadConfig({ file: write(`tls:\n  sni:\n${entry('pbx.tenant.test')}`) }));
      expect(err.keyPath).toBe('tls');
      expect(err.reason).toMatch(/sni needs certificate/);
    });
  });
});
