// Header line framing (RFC 3261 §7.3.1: field-name HCOLON field-value, HCOLON = *( SP / HTAB ) ":" SWS).
import { SipParseError, parseMessage } from '../../../node/sip/index.js';

const head = 'REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n';
const tail = 'Call-ID: c1\r\nCSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n';

function verdict(line: string): string {
  try {
    const m = parseMessage(Buffer.from(`${head}${line}\r\n${tail}`));
    return `ok ${m.headers.list()[1].name}=${m.headers.list()[1].value}`;
  } catch (e) {
    if (e instanceof SipParseError) return e.reason;
    throw e;
  }
}

describe('header name and colon', () => {
  test.each([
    ['From: <sip:a@b>', 'ok From=<sip:a@b>'],
    ['fRoM:<sip:a@b>', 'ok From=<sip:a@b>'],
    ['f: <sip:a@b>', 'ok From=<sip:a@b>'],
    ['From \t : <sip:a@b>', 'ok From=<sip:a@b>'],
    ['X-Custom.Name~1: v', 'ok X-Custom.Name~1=v'],
    ['From <a@b>', 'Bad Request - Malformed header line'],
    // The first colon ends the name, even one meant for a URI.
    ['From <sip:a@b>', 'Bad Request - Malformed header name'],
    [': value', 'Bad Request - Empty header name'],
    ['Fr om: v', 'Bad Request - Malformed header name'],
    ['From@: v', 'Bad Request - Malformed header name'],
    ['Fröm: v', 'Bad Request - Malformed header name'],
  ])('%j → %s', (line, expected) => {
    expect(verdict(line)).toBe(expected);
  });
});
