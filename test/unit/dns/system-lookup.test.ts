// With no dns.servers, addresses come from the system's lookup (getaddrinfo: /etc/hosts, then DNS),
// so a name only the hosts file knows still resolves; c-ares' resolve4 would not read that file.
import { SYSTEM_LOOKUP_TTL_S, nodeDnsQueries } from '../../../node/dns/dns-queries.js';

test('a() without configured servers answers from /etc/hosts, with the fixed system TTL', async () => {
  const queries = nodeDnsQueries({ servers: [], timeoutMs: 1000, tries: 1 });
  const answers = await queries.a('localhost');
  expect(answers).toContainEqual({ address: '127.0.0.1', ttl: SYSTEM_LOOKUP_TTL_S });
});

test('a() without configured servers reports an unknown name with a node:dns code', async () => {
  const queries = nodeDnsQueries({ servers: [], timeoutMs: 1000, tries: 1 });
  await expect(queries.a('no-such-host.invalid')).rejects.toHaveProperty('code', 'ENOTFOUND');
});
