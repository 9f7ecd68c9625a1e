// What a name-addr's URI may not hold raw, and how an unquoted display name is normalised
// (RFC 3261 §25.1 name-addr / addr-spec; RFC 4475 §3.1.2.14: no LWS inside an addr-spec).
import { SipParseError, parseNameAddr } from '../../../node/sip/index.js';

function rejects(text: string): boolean {
  try {
    parseNameAddr(text);
    return false;
  } catch (e) {
    if (e instanceof SipParseError && e.status === 400) return true;
    throw e;
  }
}

describe('name-addr URI characters', () => {
  test.each(['<sip:a b@h>', '<sip:a\tb@h>', '<sip:a\u0000@h>', '<sip:a\u007f@h>', '<sip:a"b@h>', '<sip:a\u0001b@h>'])('%j is a 400', (text) => {
    expect(rejects(text)).toBe(true);
  });

  test('non-ASCII and every other printable character are left to the URI grammar', () => {
    expect(parseNameAddr('<sip:jürgen@h>').uri).toBe('sip:jürgen@h');
    expect(parseNameAddr('<sip:a!$&\'()*+,;=:@h;x=[1]?h=%20>').uri).toBe('sip:a!$&\'()*+,;=:@h;x=[1]?h=%20');
  });
});

describe('unquoted display names', () => {
  test.each([
    ['sipp <sip:a@h>', 'sipp'],
    ['Bob  Smith <sip:a@h>', 'Bob Smith'],
    ['Bob \t Smith\t<sip:a@h>', 'Bob Smith'],
    ['A B C <sip:a@h>', 'A B C'],
  ])('%j → %j', (text, name) => {
    expect(parseNameAddr(text).displayName).toBe(name);
  });
});
