import { Registry } from 'prom-client';
import { createRegistrationsGauge, handleRegistrationsAdmin } from '../../../node/registrar/index.js';
import { accepted, headerValues, req, setup, T0 } from './register-helpers.js';

const INSTANCE = '<urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>';
const withInstance = (uri: string, extra = ''): string => `<${uri}>;+sip.instance="${INSTANCE}"${extra}`;

describe('registrar.enforce_auth_aor_match', () => {
  test('authenticated user ≠ To user → 403, checked before Contact: * can clear anything', async () => {
    const { registrar, store } = setup({ enforceAuthAorMatch: true });
    await registrar.register(req(), T0, 'alice');
    const d = await registrar.register(req({ callId: 'evil', contacts: ['*'], expires: '0' }), T0, 'mallory');
    expect(d).toMatchObject({ kind: 'reject', status: 403 });
    expect(store.count()).toBe(1);
  });

  test('even a malformed wildcard from the wrong user gets 403, not 400', async () => {
    const { registrar } = setup({ enforceAuthAorMatch: true });
    expect(await registrar.register(req({ contacts: ['*'], expires: '60' }), T0, 'mallory')).toMatchObject({ status: 403 });
  });

  test('no authenticated identity → 403; matching user → 200', async () => {
    const { registrar } = setup({ enforceAuthAorMatch: true });
    expect(await registrar.register(req(), T0, null)).toMatchObject({ status: 403 });
    accepted(await registrar.register(req(), T0, 'alice'));
  });

  test('off by default: third-party registration allowed', async () => {
    const { registrar } = setup();
    accepted(await registrar.register(req(), T0, 'bob'));
  });
});

describe('Path (RFC 3327) and Service-Route (RFC 3608)', () => {
  test('Path is stored, echoed in the 200 and becomes the route towards the contact', async () => {
    const { registrar } = setup({ serviceRoute: ['<sip:orig@scscf.example.com;lr>'] });
    const d = accepted(
      await registrar.register(req({ path: ['<sip:p1.example.com;lr>, <sip:p2.example.com;lr>'], supported: ['path'] }), T0, null),
    );
    expect(headerValues(d, 'Path')).toEqual(['<sip:p1.example.com;lr>', '<sip:p2.example.com;lr>']);
    expect(headerValues(d, 'Service-Route')).toEqual(['<sip:orig@scscf.example.com;lr>']);
    const [t] = registrar.targets('sip:alice@example.com', T0);
    expect(t.uri).toBe('sip:alice@192.0.2.10:5060');
    expect(t.route).toEqual(['<sip:p1.example.com;lr>', '<sip:p2.example.com;lr>']);
    expect(t.flow).toMatchObject({ transport: 'udp', address: '192.0.2.10', port: 5060 });
  });

  test('no Service-Route configured → none returned', async () => {
    const { registrar } = setup();
    expect(headerValues(accepted(await registrar.register(req(), T0, null)), 'Service-Route')).toEqual([]);
  });
});

describe('GRUU (RFC 5627)', () => {
  test('Supported: gruu + +sip.instance → pub-gruu and temp-gruu in the 200', async () => {
    const { registrar } = setup();
    const d = accepted(await registrar.register(req({ supported: ['gruu'], contacts: [withInstance('sip:alice@192.0.2.10')] }), T0, null));
    expect(headerValues(d, 'Contact')).toEqual([
      `<sip:alice@192.0.2.10>;+sip.instance="${INSTANCE}";expires=3600;` +
        'pub-gruu="sip:alice@example.com;gr=urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6";temp-gruu="sip:tgruu.tok1@example.com;gr"',
    ]);
  });

  test('no Supported: gruu → no GRUU params', async () => {
    const { registrar } = setup();
    const d = accepted(await registrar.register(req({ contacts: [withInstance('sip:alice@192.0.2.10')] }), T0, null));
    expect(headerValues(d, 'Contact')[0]).not.toContain('gruu');
  });

  test('each refresh mints a new temp-gruu; earlier ones keep resolving; pub-gruu reaches the instance only', async () => {
    const { registrar } = setup();
    await registrar.register(req({ supported: ['gruu'], contacts: [withInstance('sip:alice@192.0.2.10')] }), T0, null);
    await registrar.register(req({ callId: 'other-ua', contacts: ['<sip:alice@198.51.100.7>'] }), T0, null);
    const d = accepted(await registrar.register(req({ cseq: 2, supported: ['gruu'], contacts: [withInstance('sip:alice@192.0.2.10')] }), T0 + 1000, null));
    expect(headerValues(d, 'Contact').find((c) => c.includes('+sip.instance'))).toContain('temp-gruu="sip:tgruu.tok2@example.com;gr"');
    for (const gruu of ['sip:tgruu.tok1@example.com;gr', 'sip:tgruu.tok2@example.com;gr', 'sip:alice@example.com;gr=urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6']) {
      expect(registrar.targets(gruu, T0 + 1000).map((t) => t.uri)).toEqual(['sip:alice@192.0.2.10']);
    }
    expect(registrar.targets('sip:alice@example.com', T0 + 1000)).toHaveLength(2);
    expect(registrar.targets('sip:tgruu.unknown@example.com;gr', T0)).toEqual([]);
  });

  test('same instance with a new Contact URI replaces the old binding (keyed by instance)', async () => {
    const { registrar, store } = setup();
    await registrar.register(req({ contacts: [withInstance('sip:alice@192.0.2.10')] }), T0, null);
    const d = accepted(await registrar.register(req({ callId: 'after-reboot', contacts: [withInstance('sip:alice@192.0.2.99')] }), T0, null));
    expect(d.changes.map((c) => c.op)).toEqual(['refresh']);
    expect(store.lookup('sip:alice@example.com').map((b) => b.contactUri)).toEqual(['sip:alice@192.0.2.99']);
  });

  test('temp-gruus die with the binding', async () => {
    const { registrar } = setup();
    await registrar.register(req({ supported: ['gruu'], contacts: [withInstance('sip:alice@192.0.2.10')] }), T0, null);
    await registrar.register(req({ cseq: 2, contacts: [withInstance('sip:alice@192.0.2.10', ';expires=0')] }), T0, null);
    expect(registrar.targets('sip:tgruu.tok1@example.com;gr', T0)).toEqual([]);
  });
});

describe('outbound (RFC 5626 §6): +sip.instance + reg-id', () => {
  const flow = (uri: string, regId: number): string => withInstance(uri, `;reg-id=${regId}`);

  test('two flows of one instance are two bindings; the 200 carries Require: outbound', async () => {
    const { registrar, store } = setup();
    const d = accepted(
      await registrar.register(req({ supported: ['outbound', 'path'], contacts: [flow('sip:alice@192.0.2.10;ob', 1)] }), T0, null),
    );
    expect(headerValues(d, 'Require')).toEqual(['outbound']);
    await registrar.register(req({ callId: 'c2', supported: ['outbound'], contacts: [flow('sip:alice@192.0.2.10;ob', 2)] }), T0, null);
    expect(store.count()).toBe(2);
    expect(store.lookup('sip:alice@example.com').every((b) => b.outbound)).toBe(true);
  });

  test('a new registration with the same instance+reg-id replaces the old flow', async () => {
    const { registrar, store, events } = setup();
    const src1 = { transport: 'tcp', address: '192.0.2.10', port: 40001, connectionId: 'c1', localAddress: null };
    const src2 = { transport: 'tcp', address: '192.0.2.10', port: 40002, connectionId: 'c2', localAddress: null };
    await registrar.register(req({ source: src1, contacts: [flow('sip:alice@192.0.2.10:40001;transport=tcp;ob', 1)] }), T0, null);
    await registrar.register(
      req({ callId: 'new-flow', source: src2, contacts: [flow('sip:alice@192.0.2.10:40002;transport=tcp;ob', 1)] }),
      T0 + 5000,
      null,
    );
    const [b] = store.lookup('sip:alice@example.com');
    expect(store.count()).toBe(1);
    expect(b.flow?.connectionId).toBe('c2');
    expect(b.contactUri).toBe('sip:alice@192.0.2.10:40002;transport=tcp;ob');
    expect(events.map((e) => e.split(' ')[0])).toEqual(['insert', 'refresh']);
  });

  test('via an edge proxy whose Path lacks ;ob, with Supported: outbound → 439', async () => {
    const { registrar } = setup();
    const d = await registrar.register(
      req({ viaCount: 2, supported: ['outbound', 'path'], path: ['<sip:edge.example.com;lr>'], contacts: [flow('sip:alice@192.0.2.10', 1)] }),
      T0,
      null,
    );
    expect(d).toMatchObject({ status: 439, reason: 'First Hop Lacks Outbound Support' });
  });

  test('via a proxy that added no Path at all → 439 as well (we are not the first hop)', async () => {
    const { registrar } = setup();
    const d = await registrar.register(req({ viaCount: 2, supported: ['outbound'], contacts: [flow('sip:alice@192.0.2.10', 1)] }), T0, null);
    expect(d).toMatchObject({ status: 439 });
  });

  test('without Supported: outbound the reg-id is ignored: binding keyed by instance, no Require', async () => {
    const { registrar, store } = setup();
    const d = accepted(await registrar.register(req({ viaCount: 3, contacts: [flow('sip:alice@192.0.2.10', 1)] }), T0, null));
    expect(headerValues(d, 'Require')).toEqual([]);
    expect(store.lookup('sip:alice@example.com')[0]).toMatchObject({ outbound: false, regId: null, key: `instance:${INSTANCE}` });
  });

  test('first hop with ;ob → outbound accepted through the edge proxy', async () => {
    const { registrar } = setup();
    const d = accepted(
      await registrar.register(
        req({ viaCount: 2, supported: ['outbound', 'path'], path: ['<sip:edge.example.com;lr;ob>'], contacts: [flow('sip:alice@192.0.2.10', 1)] }),
        T0,
        null,
      ),
    );
    expect(headerValues(d, 'Require')).toEqual(['outbound']);
  });

  test('two Contacts for the same instance+reg-id in one REGISTER → 400', async () => {
    const { registrar } = setup();
    const d = await registrar.register(req({ contacts: [flow('sip:a@192.0.2.1', 1), flow('sip:b@192.0.2.2', 1)] }), T0, null);
    expect(d).toMatchObject({ status: 400 });
  });
});

describe('expiry sweep and hooks', () => {
  test('sweep(now) removes only expired bindings and fires the expire hook', async () => {
    const { registrar, store, events } = setup({ minExpires: 0 });
    await registrar.register(req({ contacts: ['<sip:short@192.0.2.1>;expires=30', '<sip:long@192.0.2.2>;expires=300'] }), T0, null);
    expect(await registrar.sweep(T0 + 29_999)).toEqual([]);
    const expired = await registrar.sweep(T0 + 30_000);
    expect(expired).toEqual([{ op: 'expire', aor: 'sip:alice@example.com', key: 'uri:sip:short@192.0.2.1:;' }]);
    expect(events.slice(-1)).toEqual(['expire sip:alice@example.com sip:short@192.0.2.1']);
    expect(store.count()).toBe(1);
  });

  test('expired-but-unswept bindings are invisible to lookup and to the next REGISTER', async () => {
    const { registrar } = setup({ minExpires: 0, maxContacts: 1 });
    await registrar.register(req({ contacts: ['<sip:a@192.0.2.1>;expires=10'] }), T0, null);
    expect(registrar.lookup('sip:alice@example.com', T0 + 11_000)).toEqual([]);
    const d = accepted(await registrar.register(req({ callId: 'x', contacts: ['<sip:b@192.0.2.2>'] }), T0 + 11_000, null));
    expect(d.bindings.map((b) => b.contactUri)).toEqual(['sip:b@192.0.2.2']);
  });

  test('a throwing listener does not break the registrar or other listeners', async () => {
    const { registrar, events } = setup();
    registrar.onChange(() => {
      throw new Error('script bug');
    });
    accepted(await registrar.register(req(), T0, null));
    expect(events).toHaveLength(1);
  });

  test('concurrent REGISTERs for one AoR are serialised in arrival order', async () => {
    const { registrar, store } = setup();
    const all = await Promise.all([
      registrar.register(req({ cseq: 1, contacts: ['<sip:a@192.0.2.1>'] }), T0, null),
      registrar.register(req({ cseq: 2, contacts: ['<sip:a@192.0.2.1>;expires=0'] }), T0, null),
      registrar.register(req({ cseq: 3, contacts: ['<sip:b@192.0.2.2>'] }), T0, null),
    ]);
    expect(all.map((d) => d.kind)).toEqual(['accept', 'accept', 'accept']);
    expect(store.lookup('sip:alice@example.com').map((b) => b.contactUri)).toEqual(['sip:b@192.0.2.2']);
  });
});

describe('admin API and gauge', () => {
  test('list, detail, delete, 404 and 405', async () => {
    const { registrar, events } = setup();
    await registrar.register(req(), T0, null);
    await registrar.register(req({ to: 'sip:bob@example.com', callId: 'b', contacts: ['<sip:bob@192.0.2.20>;q=0.7'] }), T0, null);

    const list = await handleRegistrationsAdmin(registrar, 'GET', '/admin/registrations', T0 + 1000);
    expect(list.status).toBe(200);
    expect(list.json).toMatchObject({ count: 2 });

    const one = await handleRegistrationsAdmin(registrar, 'GET', `/admin/registrations/${encodeURIComponent('sip:bob@example.com')}`, T0 + 1000);
    expect(one).toMatchObject({ status: 200, json: { aor: 'sip:bob@example.com', contacts: [{ contact: 'sip:bob@192.0.2.20', q: 0.7, expires: 3599 }] } });
    expect((await handleRegistrationsAdmin(registrar, 'GET', '/admin/registrations/bob@example.com', T0)).status).toBe(200);

    const del = await handleRegistrationsAdmin(registrar, 'DELETE', '/admin/registrations/sip%3Abob%40example.com', T0);
    expect(del).toEqual({ status: 200, json: { aor: 'sip:bob@example.com', removed: 1 } });
    expect(events.slice(-1)).toEqual(['delete sip:bob@example.com sip:bob@192.0.2.20 (admin)']);
    expect((await handleRegistrationsAdmin(registrar, 'GET', '/admin/registrations/sip%3Abob%40example.com', T0)).status).toBe(404);
    expect((await handleRegistrationsAdmin(registrar, 'DELETE', '/admin/registrations/sip%3Abob%40example.com', T0)).status).toBe(404);
    expect((await handleRegistrationsAdmin(registrar, 'POST', '/admin/registrations', T0)).status).toBe(405);
    expect((await handleRegistrationsAdmin(registrar, 'GET', '/admin/registrations/%E0%A4%A', T0)).status).toBe(400);
  });

  test('siphon_registrations_active follows the store', async () => {
    const { registrar, store } = setup();
    const registry = new Registry();
    createRegistrationsGauge(store, registry);
    await registrar.register(req({ contacts: ['<sip:a@192.0.2.1>', '<sip:b@192.0.2.2>'] }), T0, null);
    expect(await registry.metrics()).toContain('siphon_registrations_active 2');
    await registrar.register(req({ cseq: 2, contacts: ['*'], expires: '0' }), T0, null);
    expect(await registry.metrics()).toContain('siphon_registrations_active 0');
  });
});

describe('flow failure (RFC 5626 §4.2.2)', () => {
  test('closing a connection removes exactly the bindings registered over it', async () => {
    const { registrar, store, events } = setup();
    const over = (conn: string | null, port: number) => ({ transport: conn === null ? 'udp' : 'tcp', address: '192.0.2.10', port, connectionId: conn, localAddress: null });
    await registrar.register(req({ source: over('c1', 40001), contacts: ['<sip:alice@192.0.2.10:40001;transport=tcp>'] }), T0, null);
    await registrar.register(req({ to: 'sip:bob@example.com', callId: 'b', source: over('c1', 40001), contacts: ['<sip:bob@192.0.2.10:40001;transport=tcp>'] }), T0, null);
    await registrar.register(req({ callId: 'u', source: over(null, 5060), contacts: ['<sip:alice@192.0.2.10:5060>'] }), T0, null);
    await registrar.register(req({ callId: 't2', source: over('c2', 40002), contacts: ['<sip:alice@192.0.2.10:40002;transport=tcp>'] }), T0, null);
    expect(await registrar.flowClosed('c1', T0)).toBe(2);
    expect(store.findByConnection('c1')).toEqual([]);
    expect(store.lookup('sip:alice@example.com').map((b) => b.contactUri).sort()).toEqual([
      'sip:alice@192.0.2.10:40002;transport=tcp',
      'sip:alice@192.0.2.10:5060',
    ]);
    expect(events.filter((e) => e.endsWith('(flow-failed)'))).toHaveLength(2);
    expect(await registrar.flowClosed('unknown', T0)).toBe(0);
  });

  test('a binding that moved to a new connection is not removed when the old one closes', async () => {
    const { registrar, store } = setup();
    const src = (conn: string) => ({ transport: 'tcp', address: '192.0.2.10', port: 40001, connectionId: conn, localAddress: null });
    await registrar.register(req({ source: src('old') }), T0, null);
    await registrar.register(req({ cseq: 2, source: src('new') }), T0, null);
    expect(await registrar.flowClosed('old', T0)).toBe(0);
    expect(store.count()).toBe(1);
  });
});

describe('expiry index', () => {
  test('expiring(now) agrees with a full scan at every second, including sub-second expiries', async () => {
    const { registrar, store } = setup({ minExpires: 0 });
    // Registered at staggered sub-second offsets so bindings share and straddle buckets.
    for (let i = 0; i < 40; i++) {
      await registrar.register(
        req({ to: `sip:u${i}@example.com`, callId: `c${i}`, contacts: [`<sip:u${i}@192.0.2.1>;expires=${1 + (i % 7)}`] }),
        T0 + i * 137,
        null,
      );
    }
    const { expiredChanges } = await import('../../../node/registrar/index.js');
    for (let t = T0; t <= T0 + 15_000; t += 250) {
      const viaIndex = store.expiring(t).map((c) => (c.op === 'expire' ? c.aor : '')).sort();
      const viaScan = expiredChanges(store, t).map((c) => (c.op === 'expire' ? c.aor : '')).sort();
      expect(viaIndex).toEqual(viaScan);
      if (t % 1000 === 0) await registrar.sweep(t);
    }
    expect(store.count()).toBe(0);
  });

  test('a refreshed binding moves to its new expiry bucket', async () => {
    const { registrar, store } = setup({ minExpires: 0 });
    await registrar.register(req({ contacts: ['<sip:a@192.0.2.1>;expires=10'] }), T0, null);
    await registrar.register(req({ cseq: 2, contacts: ['<sip:a@192.0.2.1>;expires=100'] }), T0 + 5000, null);
    expect(store.expiring(T0 + 20_000)).toEqual([]);
    expect(store.expiring(T0 + 105_000)).toHaveLength(1);
  });
});
