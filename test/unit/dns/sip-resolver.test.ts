import {
  DEFAULT_RESOLVER_LIMITS,
  chooseNaptr,
  type NaptrRecord,
  SipResolver,
  type AddressAnswer,
  type DnsQueries,
  type NameQuery,
  type SipTarget,
  type SrvRecord,
} from '../../../node/dns/index.js';
import { seeded } from '../../helpers/seeded.js';

/** A scripted DNS: answers from tables, records every question asked. */
class FakeDns implements DnsQueries {
  readonly asked: string[] = [];
  srvTable = new Map<string, readonly SrvRecord[] | string>();
  aTable = new Map<string, readonly AddressAnswer[] | string>();
  aaaaTable = new Map<string, readonly AddressAnswer[] | string>();
  naptrTable = new Map<string, readonly NaptrRecord[] | string>();

  private answer<T>(kind: string, name: string, table: Map<string, readonly T[] | string>): Promise<readonly T[]> {
    this.asked.push(`${kind} ${name}`);
    const v = table.get(name) ?? 'ENOTFOUND';
    return typeof v === 'string' ? Promise.reject(Object.assign(new Error(v), { code: v })) : Promise.resolve(v);
  }
  srv(name: string) {
    return this.answer('SRV', name, this.srvTable);
  }
  naptr(name: string) {
    return this.answer('NAPTR', name, this.naptrTable);
  }
  a(name: string) {
    return this.answer('A', name, this.aTable);
  }
  aaaa(name: string) {
    return this.answer('AAAA', name, this.aaaaTable);
  }
}

function setup() {
  const dns = new FakeDns();
  const clock = { t: 1_000_000 };
  const resolver = new SipResolver({ queries: dns, now: () => clock.t, random: seeded(1), ...DEFAULT_RESOLVER_LIMITS });
  const lookup = (q: NameQuery): Promise<{ targets: readonly SipTarget[]; reason: string; sync: boolean }> =>
    new Promise((resolve) => {
      let sync = true;
      resolver.lookup(q, (targets, reason) => resolve({ targets, reason, sync }));
      sync = false;
    });
  return { dns, clock, resolver, lookup };
}

const srvQuery = (host: string, transport: 'udp' | 'tcp' = 'udp'): NameQuery => ({ host, port: 5060, transport, srv: true });
const portQuery = (host: string, port: number): NameQuery => ({ host, port, transport: 'udp', srv: false });

describe('SipResolver (RFC 3263 §4)', () => {
  test('no explicit port: SRV targets by priority, each resolved to its A records at the SRV port', async () => {
    const h = setup();
    h.dns.srvTable.set('_sip._udp.example.test', [
      { name: 'backup.example.test', port: 5080, priority: 20, weight: 0 },
      { name: 'main.example.test', port: 5070, priority: 10, weight: 10 },
    ]);
    h.dns.aTable.set('main.example.test', [{ address: '192.0.2.1', ttl: 300 }, { address: '192.0.2.2', ttl: 300 }]);
    h.dns.aTable.set('backup.example.test', [{ address: '192.0.2.9', ttl: 300 }]);
    const r = await h.lookup(srvQuery('Example.Test.'));
    expect(r.targets).toEqual([
      { address: '192.0.2.1', port: 5070 },
      { address: '192.0.2.2', port: 5070 },
      { address: '192.0.2.9', port: 5080 },
    ]);
    expect(h.dns.asked.sort()).toEqual(['A backup.example.test', 'A main.example.test', 'SRV _sip._udp.example.test']);
  });

  test('the SRV name follows the transport: _sip._tcp for TCP', async () => {
    const h = setup();
    h.dns.srvTable.set('_sip._tcp.example.test', [{ name: 't.example.test', port: 5090, priority: 0, weight: 0 }]);
    h.dns.aTable.set('t.example.test', [{ address: '192.0.2.5', ttl: 60 }]);
    expect((await h.lookup(srvQuery('example.test', 'tcp'))).targets).toEqual([{ address: '192.0.2.5', port: 5090 }]);
  });

  test('no SRV records: A of the name at the default port', async () => {
    const h = setup();
    h.dns.srvTable.set('_sip._udp.plain.test', 'ENODATA');
    h.dns.aTable.set('plain.test', [{ address: '198.51.100.7', ttl: 60 }]);
    expect((await h.lookup(srvQuery('plain.test'))).targets).toEqual([{ address: '198.51.100.7', port: 5060 }]);
  });

  test('explicit port: A only, never an SRV query', async () => {
    const h = setup();
    h.dns.srvTable.set('_sip._udp.example.test', [{ name: 'main.example.test', port: 5070, priority: 0, weight: 0 }]);
    h.dns.aTable.set('example.test', [{ address: '192.0.2.77', ttl: 60 }]);
    expect((await h.lookup(portQuery('example.test', 5099))).targets).toEqual([{ address: '192.0.2.77', port: 5099 }]);
    expect(h.dns.asked).toEqual(['A example.test']);
  });

  test('AAAA is asked only when the name has no A record', async () => {
    const h = setup();
    h.dns.aTable.set('v6only.test', 'ENODATA');
    h.dns.aaaaTable.set('v6only.test', [{ address: '2001:db8::5', ttl: 60 }]);
    expect((await h.lookup(portQuery('v6only.test', 5060))).targets).toEqual([{ address: '2001:db8::5', port: 5060 }]);
    expect(h.dns.asked).toEqual(['A v6only.test', 'AAAA v6only.test']);
  });

  test('answers come from the cache, synchronously, until the TTL (the smallest of the set) runs out', async () => {
    const h = setup();
    h.dns.aTable.set('ttl.test', [{ address: '192.0.2.1', ttl: 30 }, { address: '192.0.2.2', ttl: 10 }]);
    const first = await h.lookup(portQuery('ttl.test', 5060));
    expect(first.sync).toBe(false);
    h.clock.t += 9_999;
    const again = await h.lookup(portQuery('ttl.test', 5060));
    expect(again.sync).toBe(true);
    expect(again.targets).toEqual(first.targets);
    expect(h.dns.asked).toEqual(['A ttl.test']);
    h.clock.t += 1;
    h.dns.aTable.set('ttl.test', [{ address: '192.0.2.3', ttl: 30 }]);
    expect((await h.lookup(portQuery('ttl.test', 5060))).targets).toEqual([{ address: '192.0.2.3', port: 5060 }]);
    expect(h.dns.asked).toEqual(['A ttl.test', 'A ttl.test']);
  });

  test('an SRV set and its targets are served from the cache too', async () => {
    const h = setup();
    h.dns.srvTable.set('_sip._udp.example.test', [{ name: 'main.example.test', port: 5070, priority: 0, weight: 0 }]);
    h.dns.aTable.set('main.example.test', [{ address: '192.0.2.1', ttl: 300 }]);
    await h.lookup(srvQuery('example.test'));
    const r = await h.lookup(srvQuery('example.test'));
    expect(r.sync).toBe(true);
    expect(r.targets).toEqual([{ address: '192.0.2.1', port: 5070 }]);
    expect(h.dns.asked).toHaveLength(2);
  });

  test('NXDOMAIN: no targets with its reason, remembered for negativeTtlMs (no AAAA query after it)', async () => {
    const h = setup();
    const q = srvQuery('nothing.test');
    const r = await h.lookup(q);
    expect(r.targets).toEqual([]);
    expect(r.reason).toBe('ENOTFOUND');
    expect(h.dns.asked).toEqual(['SRV _sip._udp.nothing.test', 'A nothing.test']);
    h.clock.t += DEFAULT_RESOLVER_LIMITS.negativeTtlMs - 1;
    const cached = await h.lookup(q);
    expect(cached).toEqual({ targets: [], reason: 'ENOTFOUND', sync: true });
    expect(h.dns.asked).toHaveLength(2);
    h.clock.t += 1;
    await h.lookup(q);
    expect(h.dns.asked).toHaveLength(4);
  });

  test('a failed query (timeout) is remembered only failureTtlMs; an SRV failure falls back to A', async () => {
    const h = setup();
    h.dns.srvTable.set('_sip._udp.flaky.test', 'ETIMEOUT');
    h.dns.aTable.set('flaky.test', 'ETIMEOUT');
    const r = await h.lookup(srvQuery('flaky.test'));
    expect(r).toEqual({ targets: [], reason: 'ETIMEOUT', sync: false });
    expect(h.dns.asked).toEqual(['SRV _sip._udp.flaky.test', 'A flaky.test']);
    h.clock.t += DEFAULT_RESOLVER_LIMITS.failureTtlMs;
    h.dns.aTable.set('flaky.test', [{ address: '192.0.2.44', ttl: 60 }]);
    h.dns.srvTable.set('_sip._udp.flaky.test', 'ETIMEOUT');
    expect((await h.lookup(srvQuery('flaky.test'))).targets).toEqual([{ address: '192.0.2.44', port: 5060 }]);
  });

  test('an SRV target that does not resolve is skipped; "." declines the service', async () => {
    const h = setup();
    h.dns.srvTable.set('_sip._udp.mixed.test', [
      { name: 'gone.test', port: 5070, priority: 0, weight: 0 },
      { name: 'here.test', port: 5071, priority: 1, weight: 0 },
    ]);
    h.dns.aTable.set('here.test', [{ address: '192.0.2.8', ttl: 60 }]);
    expect((await h.lookup(srvQuery('mixed.test'))).targets).toEqual([{ address: '192.0.2.8', port: 5071 }]);
    h.dns.srvTable.set('_sip._udp.declined.test', [{ name: '.', port: 0, priority: 0, weight: 0 }]);
    h.dns.aTable.set('declined.test', [{ address: '192.0.2.9', ttl: 60 }]);
    expect(await h.lookup(srvQuery('declined.test'))).toEqual({ targets: [], reason: 'SRV_NO_SERVICE', sync: false });
  });

  test('concurrent lookups of one name share one query each', async () => {
    const h = setup();
    h.dns.srvTable.set('_sip._udp.busy.test', [{ name: 'b.test', port: 5070, priority: 0, weight: 0 }]);
    h.dns.aTable.set('b.test', [{ address: '192.0.2.3', ttl: 60 }]);
    const all = await Promise.all(Array.from({ length: 20 }, () => h.lookup(srvQuery('busy.test'))));
    for (const r of all) expect(r.targets).toEqual([{ address: '192.0.2.3', port: 5070 }]);
    expect(h.dns.asked).toEqual(['SRV _sip._udp.busy.test', 'A b.test']);
  });

  test('RFC 6761: localhost is loopback and *.invalid does not exist, without asking the DNS', async () => {
    const h = setup();
    expect(await h.lookup(srvQuery('localhost'))).toEqual({ targets: [{ address: '127.0.0.1', port: 5060 }], reason: '', sync: true });
    expect((await h.lookup(portQuery('host.invalid', 5060))).targets).toEqual([]);
    expect(h.dns.asked).toEqual([]);
  });

  test('bounded: a flood of distinct names keeps at most maxEntries answers', async () => {
    const dns = new FakeDns();
    const resolver = new SipResolver({ queries: dns, now: () => 0, random: seeded(2), ...DEFAULT_RESOLVER_LIMITS, maxEntries: 50 });
    for (let i = 0; i < 200; i++) {
      await new Promise<void>((r) => resolver.lookup(portQuery(`n${i}.test`, 5060), () => r()));
    }
    // The first names were evicted: asking again goes to the DNS.
    await new Promise<void>((r) => resolver.lookup(portQuery('n0.test', 5060), () => r()));
    expect(dns.asked.filter((q) => q === 'A n0.test')).toHaveLength(2);
    await new Promise<void>((r) => resolver.lookup(portQuery('n199.test', 5060), () => r()));
    expect(dns.asked.filter((q) => q === 'A n199.test')).toHaveLength(1);
  });
});

const naptr = (order: number, preference: number, service: string, replacement: string, flags = 's'): NaptrRecord =>
  ({ flags, service, regexp: '', replacement, order, preference });

describe('chooseNaptr (RFC 3263 §4.1, RFC 3403 order/preference)', () => {
  test('lowest order, then lowest preference, among the services this node sends on', () => {
    expect(chooseNaptr([
      naptr(20, 10, 'SIP+D2U', '_sip._udp.example.test'),
      naptr(10, 20, 'SIP+D2U', '_sip._udp.b.example.test'),
      naptr(10, 10, 'SIP+D2T', '_sip._tcp.example.test.'),
    ], false)).toEqual({ transport: 'tcp', srvName: '_sip._tcp.example.test' });
  });

  test('discards TLS, SCTP, WebSocket services, non-"s" flags and empty replacements; null when nothing is left', () => {
    expect(chooseNaptr([
      naptr(1, 1, 'SIPS+D2T', '_sips._tcp.example.test'),
      naptr(2, 1, 'SIP+D2S', '_sip._sctp.example.test'),
      naptr(3, 1, 'SIP+D2W', '_sip._ws.example.test'),
      naptr(4, 1, 'SIP+D2U', '_sip._udp.example.test', 'a'),
      naptr(5, 1, 'SIP+D2U', '.'),
    ], false)).toBeNull();
    expect(chooseNaptr([naptr(9, 1, 'sip+d2u', '_sip._udp.Example.Test', 'S')], false)).toEqual({ transport: 'udp', srvName: '_sip._udp.example.test' });
  });

  test('a SIPS URI never selects a record (TLS is not offered)', () => {
    expect(chooseNaptr([naptr(1, 1, 'SIP+D2T', '_sip._tcp.example.test')], true)).toBeNull();
  });
});

describe('SipResolver.locate (RFC 3263 §4.1)', () => {
  test('asks NAPTR once, answers from the cache after, and the chosen SRV name is what lookup asks', async () => {
    const h = setup();
    h.dns.naptrTable.set('example.test', [naptr(10, 10, 'SIP+D2T', '_sip._tcp.pool.example.test')]);
    h.dns.srvTable.set('_sip._tcp.pool.example.test', [{ name: 'pbx.example.test', port: 5070, priority: 1, weight: 0 }]);
    h.dns.aTable.set('pbx.example.test', [{ address: '192.0.2.7', ttl: 300 }]);
    expect(h.resolver.locatedNow('Example.Test', false)).toBeUndefined();
    const choice = await new Promise((resolve) => h.resolver.locate('Example.Test', false, resolve));
    expect(choice).toEqual({ transport: 'tcp', srvName: '_sip._tcp.pool.example.test' });
    expect(h.resolver.locatedNow('example.test', false)).toEqual(choice);
    const r = await h.lookup({ host: 'example.test', port: 5060, transport: 'tcp', srv: true, srvName: '_sip._tcp.pool.example.test' });
    expect(r.targets).toEqual([{ address: '192.0.2.7', port: 5070 }]);
    expect(h.dns.asked).toEqual(['NAPTR example.test', 'SRV _sip._tcp.pool.example.test', 'A pbx.example.test']);
  });

  test('no NAPTR records or a failed query: null, remembered for the negative / failure TTL', async () => {
    const h = setup();
    h.dns.naptrTable.set('broken.test', 'ETIMEOUT');
    const none = await new Promise((resolve) => h.resolver.locate('none.test', false, resolve));
    const broken = await new Promise((resolve) => h.resolver.locate('broken.test', false, resolve));
    expect([none, broken]).toEqual([null, null]);
    expect(h.resolver.locatedNow('none.test', false)).toBeNull();
    h.clock.t += DEFAULT_RESOLVER_LIMITS.failureTtlMs + 1;
    expect(h.resolver.locatedNow('broken.test', false)).toBeUndefined(); // a failure is retried sooner
    expect(h.resolver.locatedNow('none.test', false)).toBeNull();
    h.clock.t += DEFAULT_RESOLVER_LIMITS.negativeTtlMs;
    expect(h.resolver.locatedNow('none.test', false)).toBeUndefined();
  });

  test('concurrent askers share one query; a special name (localhost, RFC 6761) is never asked about', async () => {
    const h = setup();
    const both = Promise.all([
      new Promise((resolve) => h.resolver.locate('shared.test', false, resolve)),
      new Promise((resolve) => h.resolver.locate('shared.test', false, resolve)),
    ]);
    expect(await both).toEqual([null, null]);
    expect(h.dns.asked).toEqual(['NAPTR shared.test']);
    expect(h.resolver.locatedNow('localhost', false)).toBeNull();
  });
});
