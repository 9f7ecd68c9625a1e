import { DigestHeaderError, parseDigestCredentials } from '../../../node/auth/index.js';

const base = 'username="bob", realm="r", nonce="n", uri="sip:r", response="0123abcd"';

describe('Authorization header parsing', () => {
  test('any parameter order, mixed case names, tokens and quoted strings', () => {
    const c = parseDigestCredentials(
      'digest RESPONSE="0123ABCD",URI="sip:example.com" ,  Realm="r", nonce=abc, Username="bob", qop=auth, nc=0000000A, cnonce="x"',
    );
    expect(c).toMatchObject({ username: 'bob', realm: 'r', nonce: 'abc', uri: 'sip:example.com', response: '0123abcd', qop: 'auth', nc: '0000000A' });
  });

  test('escaped quotes and backslashes inside quoted strings', () => {
    const c = parseDigestCredentials('Digest username="bo\\"b\\\\x", realm="r, with comma", nonce="n", uri="sip:r", response="00"');
    expect(c.username).toBe('bo"b\\x');
    expect(c.realm).toBe('r, with comma');
  });

  test('line folding and empty list elements are tolerated', () => {
    const c = parseDigestCredentials(`Digest ,${base.replace(', realm', ',\r\n\trealm')},,`);
    expect(c.realm).toBe('r');
  });

  test('unknown extension parameters are kept', () => {
    const c = parseDigestCredentials(`Digest ${base}, x-ext="v"`);
    expect(c.params.get('x-ext')).toBe('v');
  });

  const malformed: Array<[string, string]> = [
    ['empty', ''],
    ['basic scheme', 'Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=='],
    ['unterminated quote', 'Digest username="bob, realm="r'],
    ['missing value', 'Digest username=, realm="r"'],
    ['missing =', 'Digest username "bob"'],
    ['duplicate param', `Digest ${base}, username="eve"`],
    ['missing response', 'Digest username="bob", realm="r", nonce="n", uri="sip:r"'],
    ['bad nc', `Digest ${base}, nc=1`],
    ['non-hex response', 'Digest username="bob", realm="r", nonce="n", uri="sip:r", response="zz"'],
    ['garbage', 'Digest \u0000\u0001\u0002'],
    ['trailing backslash', 'Digest username="bob\\'],
    ['oversized', `Digest ${base}, x="${'a'.repeat(9000)}"`],
  ];
  test.each(malformed)('%s → typed DigestHeaderError', (_name, value) => {
    expect(() => parseDigestCredentials(value)).toThrow(DigestHeaderError);
  });

  test('random byte soup never throws anything but DigestHeaderError', () => {
    let seed = 12345;
    const rnd = (): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed;
    };
    const alphabet = 'Digest ,="\\abc=xyz\t\r\n\u00ff';
    for (let i = 0; i < 2000; i++) {
      let s = '';
      const len = rnd() % 60;
      for (let j = 0; j < len; j++) s += alphabet[rnd() % alphabet.length];
      try {
        parseDigestCredentials(s);
      } catch (err) {
        expect(err).toBeInstanceOf(DigestHeaderError);
      }
    }
  });
});
