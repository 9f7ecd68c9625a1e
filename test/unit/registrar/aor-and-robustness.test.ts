import { aorOfHeader, canonicalAor, parseSipUri, processRegister, DEFAULT_REGISTRAR_SETTINGS, parseContacts, ContactParseError } from '../../../node/registrar/index.js';
import { req, T0 } from './register-helpers.js';

describe('AoR canonicalisation (§10.3 step 5)', () => {
  test.each([
    ['sip:alice@example.com', 'sip:alice@example.com'],
    ['SIP:Alice@Example.COM', 'sip:Alice@example.com'],
    ['sips:alice@example.com:5061;transport=tls', 'sips:alice@example.com'],
    ['sip:alice:secret@example.com', 'sip:alice@example.com'],
    ['sip:%61lice@example.com', 'sip:alice@example.com'],
    ['sip:+15551234;phone-context=x@example.com;user=phone', 'sip:+15551234;phone-context=x@example.com'],
    ['"Alice" <sip:alice@example.com;lr>;tag=abc', 'sip:alice@example.com'],
    ['sip:alice@[2001:DB8::1]:5060', 'sip:alice@[2001:db8::1]'],
    ['sip:example.com', 'sip:example.com'],
    ['sip:a%20b@example.com', 'sip:a%20b@example.com'],
  ])('%s → %s', (input, aor) => {
    expect(canonicalAor(input)).toBe(aor);
  });

  test('a quoted display name containing "<" does not hide the real URI', () => {
    expect(aorOfHeader('"Evil <sip:victim@example.com>" <sip:mallory@example.com>;tag=1')).toBe('sip:mallory@example.com');
    expect(aorOfHeader('"a\\"<b" <sip:bob@example.com>')).toBe('sip:bob@example.com');
    expect(aorOfHeader('sip:bob@example.com;tag=1')).toBe('sip:bob@example.com');
  });

  test.each(['tel:+15551234', 'http://example.com', 'sip:', 'sip:alice@', 'sip:alice@-bad', 'sip:alice@host:99999', 'sip:alice@host:x', 'sip:a@[zz]', 'sip:%zz@example.com', `sip:${'a'.repeat(3000)}@x`])(
    '%s is not a SIP AoR',
    (input) => {
      expect(canonicalAor(input)).toBeNull();
    },
  );

  test('URI params and port are split out', () => {
    expect(parseSipUri('sip:bob@Host.Example:5070;Transport=TCP;lr;ob?subject=x')).toEqual({
      scheme: 'sip',
      user: 'bob',
      host: 'host.example',
      port: 5070,
      params: [
        ['transport', 'TCP'],
        ['lr', null],
        ['ob', null],
      ],
    });
  });
});

describe('hostile input never throws out of the processor', () => {
  const ctx = { settings: DEFAULT_REGISTRAR_SETTINGS, now: T0, authUser: null, newToken: () => 't' };

  test('Contact parser raises only ContactParseError', () => {
    for (const bad of ['<', '>', '"', '<sip:a@b>;=1', '<sip:a@b>;q', '<sip:a@b>;expires', 'sip:a@b;+sip.instance=nope', '<sip:a@b> junk']) {
      expect(() => parseContacts([bad])).toThrow(ContactParseError);
    }
  });

  test('random Contact / Expires / To / Path soup yields a decision, never an exception', () => {
    let seed = 42;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const alphabet = ['<', '>', '"', ';', ',', '=', '*', ' ', 'sip:', 'a', '@', 'b.c', ':5060', 'expires', 'q', '0.5', '\\', '+sip.instance', 'reg-id', '1', '\t', '%'];
    const soup = (): string => Array.from({ length: rnd(12) }, () => alphabet[rnd(alphabet.length)]).join('');
    for (let i = 0; i < 3000; i++) {
      const d = processRegister(
        req({ contacts: [soup()], expires: rnd(3) === 0 ? soup() : null, to: rnd(4) === 0 ? soup() : '<sip:alice@example.com>', path: rnd(3) === 0 ? [soup()] : [], supported: [soup()] }),
        [],
        ctx,
      );
      expect([200, 400, 403, 420, 423, 439, 503]).toContain(d.status);
    }
  });
});

test('a Contact URI that is its own comparison key is kept as that one string', () => {
  const list = parseContacts(['<sip:alice@192.0.2.1:5061;transport=udp>;expires=60']);
  if (list.wildcard) throw new Error('expected contacts');
  const [c] = list.contacts;
  expect(c.uri).toBe('sip:alice@192.0.2.1:5061;transport=udp');
  expect(c.uriKey).toBe(c.uri);
  const mixed = parseContacts(['<sip:alice@Example.COM;transport=UDP>']);
  if (mixed.wildcard) throw new Error('expected contacts');
  expect(mixed.contacts[0].uri).toBe('sip:alice@Example.COM;transport=UDP');
});
