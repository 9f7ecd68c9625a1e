import { processRegister, DEFAULT_REGISTRAR_SETTINGS } from '../../../node/registrar/index.js';
import { accepted, headerValues, req, setup, T0 } from './register-helpers.js';

describe('RFC 3261 §10.3 add / refresh / query / remove trace', () => {
  test('a UA registers, refreshes, queries and removes its contact', async () => {
    const { registrar, events } = setup();
    // §10.2.1: add a binding; no expires anywhere → default_expires.
    let d = accepted(await registrar.register(req({ cseq: 1 }), T0, null));
    expect(d.changes.map((c) => c.op)).toEqual(['insert']);
    expect(headerValues(d, 'Contact')).toEqual(['<sip:alice@192.0.2.10:5060>;expires=3600']);
    expect(headerValues(d, 'Date')).toEqual(['Thu, 26 Nov 2026 12:00:00 GMT']);

    // §10.2.1.1: refresh 10 minutes later with Expires header.
    d = accepted(await registrar.register(req({ cseq: 2, expires: '1800' }), T0 + 600_000, null));
    expect(d.changes.map((c) => c.op)).toEqual(['refresh']);
    expect(headerValues(d, 'Contact')).toEqual(['<sip:alice@192.0.2.10:5060>;expires=1800']);

    // §10.2.3: a REGISTER without Contact is a query; nothing changes.
    d = accepted(await registrar.register(req({ cseq: 3, contacts: [] }), T0 + 1_200_000, null));
    expect(d.changes).toEqual([]);
    expect(headerValues(d, 'Contact')).toEqual(['<sip:alice@192.0.2.10:5060>;expires=1200']);

    // §10.2.2: expires=0 on the contact removes it.
    d = accepted(await registrar.register(req({ cseq: 4, contacts: ['<sip:alice@192.0.2.10:5060>;expires=0'] }), T0 + 1_300_000, null));
    expect(d.changes.map((c) => c.op)).toEqual(['delete']);
    expect(headerValues(d, 'Contact')).toEqual([]);
    expect(events).toEqual([
      'insert sip:alice@example.com sip:alice@192.0.2.10:5060',
      'refresh sip:alice@example.com sip:alice@192.0.2.10:5060',
      'delete sip:alice@example.com sip:alice@192.0.2.10:5060 (unregistered)',
    ]);
  });

  test('§10.3 step 5: AoR canonicalised (scheme/host lowercase, params and port dropped, user case kept)', async () => {
    const { registrar } = setup();
    const d = accepted(await registrar.register(req({ to: '"A" <SIP:Alice@EXAMPLE.com:5060;transport=tcp>;tag=x' }), T0, null));
    expect(d.aor).toBe('sip:Alice@example.com');
    expect(registrar.lookup('sip:Alice@example.com;user=phone', T0)).toHaveLength(1);
    expect(registrar.lookup('sip:alice@example.com', T0)).toHaveLength(0);
  });

  test('To that is not a SIP URI → 400', () => {
    const d = processRegister(req({ to: '<tel:+15551234>' }), [], { settings: DEFAULT_REGISTRAR_SETTINGS, now: T0, authUser: null, newToken: () => 't' });
    expect(d).toMatchObject({ kind: 'reject', status: 400 });
  });

  test('several contacts in one REGISTER, comma-separated and in separate headers', async () => {
    const { registrar } = setup();
    const d = accepted(
      await registrar.register(req({ contacts: ['<sip:a@192.0.2.1>, "Desk, phone" <sip:b@192.0.2.2>;expires=120', 'sip:c@192.0.2.3'] }), T0, null),
    );
    expect(d.bindings.map((b) => [b.contactUri, b.expires])).toEqual(
      expect.arrayContaining([
        ['sip:a@192.0.2.1', 3600],
        ['sip:b@192.0.2.2', 120],
        ['sip:c@192.0.2.3', 3600],
      ]),
    );
  });
});

test('§10.2.1: non-SIP contacts (mailto:, tel:) are stored and listed but are not fork targets', async () => {
  const { registrar } = setup();
  const d = accepted(
    await registrar.register(req({ contacts: ['<sip:carol@192.0.2.7>;q=0.9, <mailto:carol@chicago.com>;q=0.1, <tel:+15551234>;q=0.2'] }), T0, null),
  );
  expect(headerValues(d, 'Contact')).toEqual([
    '<sip:carol@192.0.2.7>;q=0.9;expires=3600',
    '<tel:+15551234>;q=0.2;expires=3600',
    '<mailto:carol@chicago.com>;q=0.1;expires=3600',
  ]);
  expect(registrar.targets('sip:alice@example.com', T0).map((t) => t.uri)).toEqual(['sip:carol@192.0.2.7']);
  const again = accepted(await registrar.register(req({ cseq: 2, contacts: ['<MAILTO:carol@chicago.com>;expires=0'] }), T0, null));
  expect(again.changes.map((c) => c.op)).toEqual(['delete']);
});

describe('Contact: * (§10.2.2, §10.3 step 6)', () => {
  test.each([
    ['no Expires header', null, ['*']],
    ['non-zero Expires', '3600', ['*']],
    ['with another Contact', '0', ['*', '<sip:a@192.0.2.1>']],
    ['in a list', '0', ['*, <sip:a@192.0.2.1>']],
  ])('%s → 400', async (_name, expires, contacts) => {
    const { registrar, store } = setup();
    await registrar.register(req(), T0, null);
    const d = await registrar.register(req({ cseq: 2, expires, contacts }), T0, null);
    expect(d).toMatchObject({ kind: 'reject', status: 400 });
    expect(store.count()).toBe(1);
  });

  test('* with Expires: 0 removes every binding of the AoR', async () => {
    const { registrar, store, events } = setup();
    await registrar.register(req({ contacts: ['<sip:a@192.0.2.1>', '<sip:b@192.0.2.2>'] }), T0, null);
    await registrar.register(req({ callId: 'other', cseq: 7, contacts: ['<sip:c@192.0.2.3>'] }), T0, null);
    const d = accepted(await registrar.register(req({ callId: 'third', cseq: 1, contacts: ['*'], expires: '0' }), T0 + 1000, null));
    expect(d.changes).toHaveLength(3);
    expect(headerValues(d, 'Contact')).toEqual([]);
    expect(store.count()).toBe(0);
    expect(events.filter((e) => e.endsWith('(wildcard)'))).toHaveLength(3);
  });
});

describe('expiry bounds', () => {
  test('0 < expires < min_expires → 423 with Min-Expires, nothing applied', async () => {
    const { registrar, store } = setup({ minExpires: 60 });
    const d = await registrar.register(req({ contacts: ['<sip:a@192.0.2.1>', '<sip:b@192.0.2.2>;expires=30'] }), T0, null);
    expect(d).toMatchObject({ kind: 'reject', status: 423, reason: 'Interval Too Brief' });
    expect(headerValues(d, 'Min-Expires')).toEqual(['60']);
    expect(store.count()).toBe(0);
  });

  test('§10.3 step 7: an interval of an hour or more is never 423, it is raised to a higher minimum', async () => {
    const { registrar } = setup({ minExpires: 7200, defaultExpires: 7200, maxExpires: 86_400 });
    const d = accepted(await registrar.register(req({ expires: '3600' }), T0, null));
    expect(d.bindings[0].expires).toBe(7200);
    expect(await registrar.register(req({ cseq: 2, expires: '3599' }), T0, null)).toMatchObject({ status: 423 });
  });

  test('Expires header below minimum → 423 too', async () => {
    const { registrar } = setup({ minExpires: 60 });
    expect(await registrar.register(req({ expires: '59' }), T0, null)).toMatchObject({ status: 423 });
  });

  test('above max_expires is clamped, contact param beats Expires header', async () => {
    const { registrar } = setup({ maxExpires: 7200 });
    const d = accepted(
      await registrar.register(req({ expires: '100000', contacts: ['<sip:a@192.0.2.1>', '<sip:b@192.0.2.2>;expires=600'] }), T0, null),
    );
    expect(Object.fromEntries(d.bindings.map((b) => [b.contactUri, b.expires]))).toEqual({ 'sip:a@192.0.2.1': 7200, 'sip:b@192.0.2.2': 600 });
  });

  test.each([
    ['expires param', { contacts: ['<sip:a@192.0.2.1>;expires=soon'] }],
    ['Expires header', { expires: '-1' }],
    ['q value', { contacts: ['<sip:a@192.0.2.1>;q=1.5'] }],
    ['reg-id', { contacts: ['<sip:a@192.0.2.1>;+sip.instance="<urn:uuid:1>";reg-id=0'] }],
    ['Contact URI', { contacts: ['<sip:a@bad host>'] }],
    ['Contact URI without scheme', { contacts: ['<alice@example.com>'] }],
    ['unclosed <', { contacts: ['<sip:a@192.0.2.1'] }],
    ['unterminated quote', { contacts: ['"Alice <sip:a@192.0.2.1>'] }],
    ['duplicate param', { contacts: ['<sip:a@192.0.2.1>;expires=1;expires=2'] }],
  ])('malformed %s → 400', async (_n, over) => {
    const { registrar } = setup();
    expect(await registrar.register(req(over), T0, null)).toMatchObject({ kind: 'reject', status: 400 });
  });
});

describe('Call-ID / CSeq ordering (§10.3 step 7)', () => {
  test('same Call-ID with equal or lower CSeq is ignored: 200 with the current binding, no change', async () => {
    const { registrar, events } = setup();
    await registrar.register(req({ cseq: 5, expires: '600' }), T0, null);
    for (const cseq of [5, 4]) {
      const d = accepted(await registrar.register(req({ cseq, contacts: ['<sip:alice@192.0.2.10:5060>;expires=0'] }), T0 + 1000, null));
      expect(d.changes).toEqual([]);
      expect(headerValues(d, 'Contact')).toEqual(['<sip:alice@192.0.2.10:5060>;expires=599']);
    }
    expect(events).toHaveLength(1);
  });

  test('a different Call-ID updates the binding whatever its CSeq', async () => {
    const { registrar } = setup();
    await registrar.register(req({ cseq: 50 }), T0, null);
    const d = accepted(await registrar.register(req({ callId: 'rebooted', cseq: 1, expires: '0' }), T0, null));
    expect(d.changes.map((c) => c.op)).toEqual(['delete']);
  });

  test('out-of-order * leaves the bindings it may not touch', async () => {
    const { registrar, store } = setup();
    await registrar.register(req({ cseq: 9 }), T0, null);
    await registrar.register(req({ callId: 'b', cseq: 1, contacts: ['<sip:b@192.0.2.2>'] }), T0, null);
    await registrar.register(req({ cseq: 3, contacts: ['*'], expires: '0' }), T0, null);
    expect(store.lookup('sip:alice@example.com').map((b) => b.contactUri)).toEqual(['sip:alice@192.0.2.10:5060']);
  });
});

describe('max_contacts', () => {
  test('adding beyond max_contacts → 503 Too many registered contacts; refresh of existing still works', async () => {
    const { registrar, store } = setup({ maxContacts: 2 });
    await registrar.register(req({ contacts: ['<sip:a@192.0.2.1>', '<sip:b@192.0.2.2>'] }), T0, null);
    const d = await registrar.register(req({ cseq: 2, contacts: ['<sip:c@192.0.2.3>'] }), T0, null);
    expect(d).toMatchObject({ kind: 'reject', status: 503, reason: 'Too many registered contacts' });
    expect(headerValues(d, 'P-Registrar-Error')).toEqual(['Too many registered contacts']);
    expect(store.count()).toBe(2);
    accepted(await registrar.register(req({ cseq: 3, contacts: ['<sip:a@192.0.2.1>'] }), T0, null));
  });

  test('replacing one contact by another within the limit is fine', async () => {
    const { registrar } = setup({ maxContacts: 1 });
    await registrar.register(req({ contacts: ['<sip:a@192.0.2.1>'] }), T0, null);
    const d = accepted(await registrar.register(req({ cseq: 2, contacts: ['<sip:a@192.0.2.1>;expires=0', '<sip:b@192.0.2.2>'] }), T0, null));
    expect(d.bindings.map((b) => b.contactUri)).toEqual(['sip:b@192.0.2.2']);
  });
});

describe('max_bindings (all AoRs together)', () => {
  const of = (user: string, n: number, ...contacts: string[]) =>
    req({ to: `<sip:${user}@example.com>`, callId: `${user}-reg`, cseq: n, contacts });

  test('past the budget a REGISTER adding a binding gets 503 + Retry-After and changes nothing; refreshes and removals pass', async () => {
    const { registrar, store, events } = setup({ maxBindings: 2 });
    accepted(await registrar.register(of('a', 1, '<sip:a@192.0.2.1>'), T0, null));
    accepted(await registrar.register(of('b', 1, '<sip:b@192.0.2.2>'), T0, null));
    const full = await registrar.register(of('c', 1, '<sip:c@192.0.2.3>'), T0, null);
    expect(full).toMatchObject({ kind: 'reject', status: 503, reason: 'Registrar Full' });
    expect(headerValues(full, 'Retry-After')).toEqual(['60']);
    // A second contact for a registered AoR grows the set too: refused whole, the first one kept.
    expect(await registrar.register(of('a', 2, '<sip:a@192.0.2.1>', '<sip:a2@192.0.2.9>'), T0, null)).toMatchObject({ status: 503 });
    expect(store.count()).toBe(2);
    // A refresh, and a swap of one contact for another, do not grow it.
    accepted(await registrar.register(of('a', 3, '<sip:a@192.0.2.1>;expires=600'), T0, null));
    accepted(await registrar.register(of('b', 2, '<sip:b@192.0.2.2>;expires=0', '<sip:b-new@192.0.2.2>'), T0, null));
    // A removal frees room for the next new AoR.
    accepted(await registrar.register(of('a', 4, '<sip:a@192.0.2.1>;expires=0'), T0, null));
    accepted(await registrar.register(of('c', 2, '<sip:c@192.0.2.3>'), T0, null));
    expect(store.count()).toBe(2);
    expect(events.filter((e) => e.startsWith('insert')).map((e) => e.split(' ')[2])).toEqual(['sip:a@192.0.2.1', 'sip:b@192.0.2.2', 'sip:b-new@192.0.2.2', 'sip:c@192.0.2.3']);
  });

  test('0 means no limit', async () => {
    const { registrar, store } = setup({ maxBindings: 0, maxContacts: 100 });
    for (let i = 0; i < 50; i++) accepted(await registrar.register(of(`u${i}`, 1, `<sip:u${i}@192.0.2.1>`), T0, null));
    expect(store.count()).toBe(50);
  });
});

describe('q ordering and parameters', () => {
  test('lookup and the 200 OK order contacts by q desc, then most recent', async () => {
    const { registrar } = setup();
    await registrar.register(req({ contacts: ['<sip:low@192.0.2.1>;q=0.1'] }), T0, null);
    await registrar.register(req({ cseq: 2, contacts: ['<sip:old@192.0.2.2>'] }), T0 + 1000, null);
    await registrar.register(req({ cseq: 3, contacts: ['<sip:new@192.0.2.3>;q=1.0'] }), T0 + 2000, null);
    const d = accepted(await registrar.register(req({ cseq: 4, contacts: ['<sip:mid@192.0.2.4>;q=0.5'] }), T0 + 3000, null));
    expect(registrar.lookup('sip:alice@example.com', T0 + 3000).map((b) => b.contactUri)).toEqual([
      'sip:new@192.0.2.3',
      'sip:old@192.0.2.2',
      'sip:mid@192.0.2.4',
      'sip:low@192.0.2.1',
    ]);
    expect(headerValues(d, 'Contact')[3]).toBe('<sip:low@192.0.2.1>;q=0.1;expires=3597');
  });

  test('unknown Contact params (RFC 3840 feature tags) are kept, names lowercased, values verbatim', async () => {
    const { registrar } = setup();
    const d = accepted(
      await registrar.register(
        req({ contacts: ['<sip:a@192.0.2.1;transport=tcp>;+G.3GPP.ICSI-REF="urn%3Aurn-7%3A3gpp-service.ims.icsi.mmtel";Video;X-Foo=Bar'] }),
        T0,
        null,
      ),
    );
    expect(d.bindings[0].params).toEqual([
      ['+g.3gpp.icsi-ref', '"urn%3Aurn-7%3A3gpp-service.ims.icsi.mmtel"'],
      ['video', null],
      ['x-foo', 'Bar'],
    ]);
    expect(headerValues(d, 'Contact')[0]).toBe(
      '<sip:a@192.0.2.1;transport=tcp>;+g.3gpp.icsi-ref="urn%3Aurn-7%3A3gpp-service.ims.icsi.mmtel";video;x-foo=Bar;expires=3600',
    );
  });

  test('contact URIs compare case-insensitively in scheme/host and ignore param order', async () => {
    const { registrar, store } = setup();
    await registrar.register(req({ contacts: ['<sip:a@HOST.example;transport=tcp;lr>'] }), T0, null);
    const d = accepted(await registrar.register(req({ cseq: 2, contacts: ['<SIP:a@host.example;lr;transport=TCP>'] }), T0, null));
    expect(d.changes.map((c) => c.op)).toEqual(['refresh']);
    expect(store.count()).toBe(1);
  });
});

describe('Require / Supported', () => {
  test('unknown Require option tag → 420 with Unsupported', async () => {
    const { registrar } = setup();
    const d = await registrar.register(req({ require: ['path, foo-bar'] }), T0, null);
    expect(d).toMatchObject({ status: 420, reason: 'Bad Extension' });
    expect(headerValues(d, 'Unsupported')).toEqual(['foo-bar']);
  });

  test('Require: path, gruu, outbound are accepted', async () => {
    const { registrar } = setup();
    accepted(await registrar.register(req({ require: ['path', 'gruu,outbound'] }), T0, null));
  });
});

describe('many bindings in one AoR (past the per-request scan limit)', () => {
  // Each case is decided once with a few bindings (scanned) and once with many (looked up through a
  // Map): the outcome must read the same, in the same order.
  const contact = (i: number, expires?: number): string => `<sip:dev${i}@192.0.2.${i}>${expires === undefined ? '' : `;expires=${expires}`}`;

  async function trace(n: number): Promise<{ ops: string[]; contacts: string[] }> {
    const { registrar } = setup({ maxContacts: 0 });
    const all = Array.from({ length: n }, (_, i) => contact(i + 1));
    accepted(await registrar.register(req({ contacts: all, expires: '600' }), T0, null));
    // One REGISTER refreshes the first, removes the second, adds a new one, and names the third
    // twice (the later expiry wins, at the earlier position).
    const d = accepted(await registrar.register(req({
      cseq: 2,
      contacts: [contact(1, 900), contact(2, 0), contact(99, 300), contact(3, 100), contact(3, 200)],
    }), T0 + 1000, null));
    return {
      ops: d.changes.map((c) => (c.op === 'delete' || c.op === 'expire' ? `${c.op} ${c.key}` : `${c.op} ${c.binding.contactUri} ${c.binding.expires}`)),
      contacts: d.bindings.map((b) => `${b.contactUri} ${b.expires}`),
    };
  }

  test.each([3, 12])('%i bindings: deletes first, then refreshes/inserts in request order; fork order by recency', async (n) => {
    const { ops, contacts } = await trace(n);
    expect(ops).toEqual([
      'delete uri:sip:dev2@192.0.2.2:;',
      'refresh sip:dev1@192.0.2.1 900',
      'insert sip:dev99@192.0.2.99 300',
      'refresh sip:dev3@192.0.2.3 200',
    ]);
    // Updated ones (newest first, stable among equals), then the untouched ones as stored.
    expect(contacts.slice(0, 3)).toEqual(['sip:dev1@192.0.2.1 900', 'sip:dev3@192.0.2.3 200', 'sip:dev99@192.0.2.99 300']);
    expect(contacts).toHaveLength(n);
    expect(contacts.slice(3)).toEqual(Array.from({ length: n - 3 }, (_, i) => `sip:dev${i + 4}@192.0.2.${i + 4} 600`));
  });
});
