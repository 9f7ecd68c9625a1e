// sip/sips/tel URIs (RFC 3261 §19.1, §25.1; RFC 3966).
import { SipParseError, formatUri, parseUri, uriEquals, uriUnescape } from '../../../node/sip/index.js';
import { thrownBy } from '../../helpers/thrown-by.js';

const err = (f: () => unknown): SipParseError => thrownBy(SipParseError, f);

describe('parseUri: sip and sips', () => {
  it('splits user, password, host, port, params and headers', () => {
    const u = parseUri('sip:alice:secret@atlanta.com:5061;transport=tcp;lr?subject=project%20x&priority=urgent');
    expect(u).toEqual({
      scheme: 'sip', user: 'alice', password: 'secret', host: 'atlanta.com', port: 5061,
      params: new Map([['transport', 'tcp'], ['lr', null]]),
      headers: new Map([['subject', 'project x'], ['priority', 'urgent']]),
    });
  });

  it('parses a host-only sips URI', () => {
    const u = parseUri('sips:biloxi.com');
    expect(u.scheme).toBe('sips');
    expect(u.user).toBeUndefined();
    expect(u.host).toBe('biloxi.com');
    expect(u.port).toBeUndefined();
  });

  it('keeps IPv6 references with their brackets and reads the port after them', () => {
    const u = parseUri('sip:[2001:db8::10]:5070;maddr=[2001:db8::1]');
    expect(u.host).toBe('[2001:db8::10]');
    expect(u.port).toBe(5070);
    expect(u.params.get('maddr')).toBe('[2001:db8::1]');
    expect(parseUri('sip:user@[::1]').host).toBe('[::1]');
  });

  it('decodes %-escapes in user, params and headers (RFC 4475 esc01)', () => {
    expect(parseUri('sip:sips%3Auser%40example.com@example.net').user).toBe('sips:user@example.com');
    const c = parseUri('sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31');
    expect(c.user).toBe('caller');
    expect(c.params.get('lr')).toBeNull();
    expect(c.params.get('name')).toBe('value%41');
    expect(parseUri('sip:null-%00-null@example.com').user).toBe('null-\u0000-null');
  });

  it('keeps ; inside the user part (RFC 4475 semiuri)', () => {
    const u = parseUri('sip:user;par=u%40example.net@example.com');
    expect(u.user).toBe('user;par=u@example.net');
    expect(u.host).toBe('example.com');
    expect(u.params.size).toBe(0);
  });

  it('lower-cases the scheme and parameter names', () => {
    const u = parseUri('SIP:Bob@Biloxi.COM;Transport=UDP');
    expect(u.scheme).toBe('sip');
    expect(u.host).toBe('Biloxi.COM');
    expect(u.params.get('transport')).toBe('UDP');
  });

  it('rejects malformed URIs with 400 and foreign schemes with 416', () => {
    expect(err(() => parseUri('sip:user@')).status).toBe(400);
    expect(err(() => parseUri('sip:user@host:99999')).reason).toMatch(/Port/);
    expect(err(() => parseUri('sip:user@host:')).status).toBe(400);
    expect(err(() => parseUri('sip:bad%zzescape@host')).reason).toMatch(/escape/);
    expect(err(() => parseUri('sip:user@exa mple.com')).status).toBe(400);
    expect(err(() => parseUri('sip:[2001:db8::1')).status).toBe(400);
    expect(err(() => parseUri('sip:host;;lr')).status).toBe(400);
    expect(err(() => parseUri('<sip:host>')).status).toBe(400);
    const foreign = err(() => parseUri('nobodyknowsthisscheme:totallyopaquecontent'));
    expect([foreign.status, foreign.reason]).toEqual([416, 'Unsupported URI Scheme']);
    expect(err(() => parseUri('http://www.example.com')).status).toBe(416);
  });
});

describe('parseUri: repeated texts', () => {
  it('returns the earlier result for a text parsed a moment ago (one parse per URI per message)', () => {
    const to = 'sip:repeat1@example.com:5060;transport=udp';
    const first = parseUri(to);
    // The same characters in another string object (a slice of a different header) hit too.
    const again = parseUri(`x${to}`.slice(1));
    expect(again).toBe(first);
    expect([again.scheme, again.user, again.host, again.port, [...again.params], again.headers.size])
      .toEqual(['sip', 'repeat1', 'example.com', 5060, [['transport', 'udp']], 0]);
  });

  it('parses a different text anew, and forgets the oldest once enough others were parsed', () => {
    const first = parseUri('sip:repeat2@example.com');
    expect(parseUri('sip:repeat3@example.com')).not.toBe(first);
    for (let i = 0; i < 16; i++) parseUri(`sip:filler${i}@example.com`);
    const later = parseUri('sip:repeat2@example.com');
    expect(later).not.toBe(first);
    expect([later.user, later.host]).toEqual([first.user, first.host]);
  });

  it('rejects a malformed text every time (failures are not remembered as results)', () => {
    expect(err(() => parseUri('sip:bad host@example.com')).status).toBe(400);
    expect(err(() => parseUri('sip:bad host@example.com')).status).toBe(400);
    expect(err(() => parseUri('mailto:a@example.com')).status).toBe(416);
    // The empty text must not match an unused slot.
    expect(err(() => parseUri('')).status).toBe(400);
  });

  it('parses long texts as usual without keeping them', () => {
    const long = `sip:u@example.com;x=${'a'.repeat(400)}`;
    const a = parseUri(long);
    const b = parseUri(long);
    expect(b).not.toBe(a);
    expect([...b.params]).toEqual([...a.params]);
    expect(a.params.get('x')).toHaveLength(400);
  });
});

describe('parseUri: tel', () => {
  it('reads the number and its parameters (RFC 3966 §3)', () => {
    const u = parseUri('tel:+1-201-555-0123;ext=1234;phone-context=example.com');
    expect(u.scheme).toBe('tel');
    expect(u.user).toBe('+1-201-555-0123');
    expect(u.host).toBe('');
    expect(u.params.get('ext')).toBe('1234');
    expect(u.params.get('phone-context')).toBe('example.com');
    expect(formatUri(u)).toBe('tel:+1-201-555-0123;ext=1234;phone-context=example.com');
  });

  it('rejects an empty number', () => {
    expect(err(() => parseUri('tel:;foo=bar')).status).toBe(400);
  });
});

describe('formatUri', () => {
  it('round-trips and re-escapes what the grammar forbids', () => {
    for (const text of [
      'sip:alice@atlanta.com', 'sips:alice:pw@atlanta.com:5061;transport=tcp;lr', 'sip:[2001:db8::10]:5070',
      'sip:user;par=u%40example.net@example.com', 'sip:host?subject=project%20x&priority=urgent',
    ]) {
      expect(formatUri(parseUri(text))).toBe(text);
    }
    expect(formatUri({ scheme: 'sip', user: 'I have spaces', host: 'example.net', params: new Map(), headers: new Map() }))
      .toBe('sip:I%20have%20spaces@example.net');
    expect(formatUri(parseUri('sip:%75se%72@example.com'))).toBe('sip:user@example.com');
  });

  it('uriUnescape decodes UTF-8 sequences', () => {
    expect(uriUnescape('J%C3%BCrgen')).toBe('Jürgen');
    expect(uriUnescape('a%20😀b')).toBe('a 😀b');
    expect(formatUri(parseUri('sip:%F0%9F%98%80@example.com'))).toBe('sip:%F0%9F%98%80@example.com');
  });
});

describe('uriEquals (RFC 3261 §19.1.4)', () => {
  const eq = (a: string, b: string): boolean => uriEquals(parseUri(a), parseUri(b));

  it('equal pairs from §19.1.4', () => {
    expect(eq('sip:%61lice@atlanta.com;transport=TCP', 'sip:alice@AtLanTa.CoM;Transport=tcp')).toBe(true);
    expect(eq('sip:carol@chicago.com', 'sip:carol@chicago.com;newparam=5')).toBe(true);
    expect(eq('sip:carol@chicago.com;security=on', 'sip:carol@chicago.com;newparam=5')).toBe(true);
    expect(eq('sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com',
      'sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com')).toBe(true);
    expect(eq('tel:+1-201-555-0123', 'tel:+12015550123')).toBe(true);
  });

  it('unequal pairs from §19.1.4', () => {
    expect(eq('SIP:ALICE@AtLanTa.CoM;Transport=udp', 'sip:alice@AtLanTa.CoM;Transport=UDP')).toBe(false);
    expect(eq('sip:bob@biloxi.com', 'sip:bob@biloxi.com:5060')).toBe(false);
    expect(eq('sip:bob@biloxi.com', 'sip:bob@biloxi.com;transport=udp')).toBe(false);
    expect(eq('sip:carol@chicago.com', 'sip:carol@chicago.com?Subject=next%20meeting')).toBe(false);
    expect(eq('sip:carol@chicago.com;security=on', 'sip:carol@chicago.com;security=off')).toBe(false);
    expect(eq('sip:bob@phone21.boxesbybob.com', 'sip:bob@192.0.2.4')).toBe(false);
  });
});

describe('parseUri of an empty text', () => {
  it('is a 400 every time, also before any URI filled the recent-parse slots', () => {
    expect(() => parseUri('')).toThrow(SipParseError);
    expect(() => parseUri('')).toThrow(SipParseError);
  });
});
