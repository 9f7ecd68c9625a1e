// Splitting list header values on top-level commas (RFC 3261 §7.3.1): commas inside quoted strings
// and <...> do not separate. splitTopLevel and firstTopLevel are checked against a plain
// character-by-character reading of that rule, over hand-picked and seeded random values.
import { firstTopLevel, splitTopLevel } from '../../../node/sip/syntax.js';
import { Headers } from '../../../node/sip/index.js';
import { seeded } from '../../helpers/seeded.js';

/** The rule read literally: one pass, one flag per construct; an unterminated quote swallows the rest. */
function referenceSplit(s: string): string[] {
  const out: string[] = [];
  let start = 0;
  let angle = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '"') {
      let j = i + 1;
      while (j < s.length && s[j] !== '"') j += s[j] === '\\' ? 2 : 1;
      if (j >= s.length) break;
      i = j;
    } else if (c === '<') angle = true;
    else if (c === '>') angle = false;
    else if (c === ',' && !angle) {
      out.push(s.slice(start, i).trim());
      start = i + 1;
    }
  }
  out.push(s.slice(start).trim());
  return out;
}


const PIECES = [',', ',', ' ', '<', '>', '"', '\\', 'a', 'sip:x@h', ';p=1', '\t'];

describe('top-level list splitting', () => {
  test.each([
    ['SIP/2.0/UDP a:5060;branch=z9hG4bK1, SIP/2.0/UDP b;branch=z9hG4bK2', ['SIP/2.0/UDP a:5060;branch=z9hG4bK1', 'SIP/2.0/UDP b;branch=z9hG4bK2']],
    ['"Doe, John" <sip:j@h>, <sip:a,b@h>;x=1', ['"Doe, John" <sip:j@h>', '<sip:a,b@h>;x=1']],
    [' , ,a', ['', '', 'a']],
    ['"open, quote', ['"open, quote']],
    ['', ['']],
  ])('%j', (value, parts) => {
    expect(splitTopLevel(value)).toEqual(parts);
    expect(firstTopLevel(value)).toBe(parts.find((p) => p !== '') ?? '');
  });

  test('random values: same elements as the literal reading of the rule (seeds 1..3000)', () => {
    for (let seed = 1; seed <= 3000; seed++) {
      const next = seeded(seed);
      let value = '';
      const n = Math.floor(next() * 12);
      for (let k = 0; k < n; k++) value += PIECES[Math.floor(next() * PIECES.length)];
      const expected = referenceSplit(value);
      expect({ seed, value, parts: splitTopLevel(value) }).toEqual({ seed, value, parts: expected });
      expect({ seed, value, first: firstTopLevel(value) }).toEqual({ seed, value, first: expected.find((p) => p !== '') ?? '' });
    }
  });

  test('Headers.get reads the first element of a multi-value line, skipping empty ones', () => {
    const h = Headers.from([['Via', ' , SIP/2.0/UDP a;branch=z9hG4bK1 , SIP/2.0/UDP b;branch=z9hG4bK2'], ['Route', ',,'], ['Route', '<sip:r@h;lr>']]);
    expect(h.get('Via')).toBe('SIP/2.0/UDP a;branch=z9hG4bK1');
    expect(h.get('Route')).toBe('<sip:r@h;lr>');
  });
});
