import { ConfigError, decodeConfig } from '../../../config/index.js';
import { serversFromEnv } from '../../../node/dns/index.js';
import { thrownBy } from '../../helpers/thrown-by.js';


describe('dns.servers', () => {
  test('absent: empty (the environment, then the system, decide)', () => {
    expect(decodeConfig({}, 'x.yaml').dns.servers).toEqual([]);
  });

  test('ip, ip:port and [v6]:port are accepted; a missing port means 53', () => {
    const cfg = decodeConfig({ dns: { servers: ['192.0.2.53', '127.0.0.1:5353', '[2001:db8::53]:5300', '::1'] } }, 'x.yaml');
    expect(cfg.dns.servers).toEqual(['192.0.2.53:53', '127.0.0.1:5353', '[2001:db8::53]:5300', '[::1]:53']);
  });

  test.each([['dns.example.net'], ['127.0.0.1:0'], ['127.0.0.1:70000'], [53]])('%j is refused with the key path', (bad) => {
    const err = thrownBy(ConfigError, () => decodeConfig({ dns: { servers: [bad] } }, 'x.yaml'));
    expect(err.message).toContain('dns.servers[0]');
  });

  test('SIPHON_DNS_SERVERS: comma-separated, blanks ignored', () => {
    expect(serversFromEnv(undefined)).toEqual([]);
    expect(serversFromEnv(' 127.0.0.1:5353 , ,192.0.2.1')).toEqual(['127.0.0.1:5353', '192.0.2.1']);
  });
});
