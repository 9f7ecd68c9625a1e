// Structured header values: name-addr/addr-spec, Via, CSeq, parameters.
import {
  SipParseError, formatNameAddr, formatVia, parseCSeq, parseNameAddr, parseParams, parseVia, tagOf, unquoteParam,
} from '../../../node/sip/index.js';
import { thrownBy } from '../../helpers/thrown-by.js';

const err = (f: () => unknown): SipParseError => thrownBy(SipParseError, f);

describe('parseNameAddr (RFC 3261 §20.10, §25.1)', () => {
  it('reads quoted display names with escapes', () => {
    const na = parseNameAddr('"J Rosenberg \\\\\\""       <sip:jdrosen@example.com> ;  tag = 98asjd8');
    expect(na.displayName).toBe('J Rosenberg \\"');
    expect(na.uri).toBe('sip:jdrosen@example.com');
    expect(tagOf(na)).toBe('98asjd8');
  });

  it('reads token display names, also without LWS before < (RFC 4475 lwsdisp)', () => {
    expect(parseNameAddr('caller<sip:caller@example.com>;tag=323')).toEqual({
      displayName: 'caller', uri: 'sip:caller@example.com', params: new Map([['tag', '323']]),
    });
    expect(parseNameAddr('Bob  Smith <sip:bob@x>').displayName).toBe('Bob Smith');
  });

  it('in addr-spec form, parameters after the URI belong to the header (§20.10)', () => {
    const na = parseNameAddr('sip:j.user@example.com;tag=134161461246');
    expect(na.uri).toBe('sip:j.user@example.com');
    expect(na.params.get('tag')).toBe('134161461246');
    expect(na.displayName).toBeUndefined();
  });

  it('in name-addr form, URI parameters stay inside <>', () => {
    const na = parseNameAddr('<sip:user@host;transport=tcp>;expires=60;+sip.instance="<urn:uuid:1>"');
    expect(na.uri).toBe('sip:user@host;transport=tcp');
    expect(na.params.get('expires')).toBe('60');
    expect(unquoteParam(na.params.get('+sip.instance'))).toBe('<urn:uuid:1>');
  });

  it('accepts URIs of any scheme (RFC 4475 unksm2)', () => {
    expect(parseNameAddr('<name:John_Smith>').uri).toBe('name:John_Smith');
    expect(parseNameAddr('isbn:2983792873').uri).toBe('isbn:2983792873');
  });

  it('rejects the RFC 4475 malformed forms with specific reasons', () => {
    expect(err(() => parseNameAddr('"Mr. J. User <sip:j.user@example.com>')).reason).toMatch(/Unterminated quoted string/);
    expect(err(() => parseNameAddr('Bell, Alexander <sip:a.g.bell@example.com>;tag=43')).reason).toMatch(/display name/);
    expect(err(() => parseNameAddr('"Watson, Thomas" < sip:t.watson@example.org >')).reason).toMatch(/Malformed URI/);
    expect(err(() => parseNameAddr('sip:user@example.com?Route=%3Csip:sip.example.com%3E')).reason).toMatch(/enclosed in <>/);
    expect(err(() => parseNameAddr('"Joe" <sip:joe@example.org>;;;;')).reason).toMatch(/Empty header parameter/);
    expect(err(() => parseNameAddr('<sip:a@b')).status).toBe(400);
    expect(err(() => parseNameAddr('')).status).toBe(400);
  });

  it('formatNameAddr always writes the <> form and quotes the display name', () => {
    const na = parseNameAddr('Bob <sip:bob@x>;tag=1');
    expect(formatNameAddr(na)).toBe('"Bob" <sip:bob@x>;tag=1');
    na.params.set('tag', 'new');
    expect(formatNameAddr(parseNameAddr(formatNameAddr({ displayName: 'a "b"', uri: 'sip:x@y', params: na.params })))).toBe(
      '"a \\"b\\"" <sip:x@y>;tag=new');
  });
});

describe('parseVia (RFC 3261 §20.42, RFC 3581)', () => {
  it('tolerates LWS around the / separators and folded parameters (RFC 4475 wsinv)', () => {
    const v = parseVia('SIP  / 2.0  / TCP     spindle.example.com   ;  branch  =   z9hG4bK9ikj8');
    expect(v.protocol).toBe('SIP/2.0');
    expect(v.transport).toBe('TCP');
    expect(v.host).toBe('spindle.example.com');
    expect(v.branch).toBe('z9hG4bK9ikj8');
    expect(v.hasRfc3261Branch).toBe(true);
  });

  it('reads ports, IPv6 sent-by, received and rport', () => {
    const v = parseVia('SIP/2.0/UDP [2001:db8::9]:5070;branch=z9hG4bKx;received=[2001:db8::1];rport=5080');
    expect(v.host).toBe('[2001:db8::9]');
    expect(v.port).toBe(5070);
    expect(v.received).toBe('[2001:db8::1]');
    expect(v.rport).toBe(5080);
    const w = parseVia('SIP/2.0/udp 192.0.2.1;rport;branch=390skdjuw');
    expect(w.transport).toBe('UDP');
    expect(w.rport).toBeNull();
    expect(w.hasRfc3261Branch).toBe(false);
    expect(parseVia('SIP/2.0/UDP h').rport).toBeUndefined();
  });

  it('formatVia writes the canonical form', () => {
    const v = parseVia('SIP / 2.0 / UDP host.example.com : 5060 ; branch=z9hG4bK1 ; rport');
    expect(formatVia(v)).toBe('SIP/2.0/UDP host.example.com:5060;branch=z9hG4bK1;rport');
    v.params.set('received', '192.0.2.7');
    v.params.set('rport', '6000');
    expect(formatVia(v)).toBe('SIP/2.0/UDP host.example.com:5060;branch=z9hG4bK1;rport=6000;received=192.0.2.7');
  });

  it('rejects malformed values', () => {
    for (const bad of ['SIP/2.0 host', 'SIP/2.0/UDP', 'SIP/2.0/UDP 192.0.2.15;;', 'SIP/2.0/UDP h:99999', 'SIP/2.0/UDP [::1', 'garbage']) {
      expect(err(() => parseVia(bad)).status).toBe(400);
    }
  });
});

describe('parseCSeq (RFC 3261 §20.16)', () => {
  it('reads number and method, ignoring leading zeros and folding whitespace', () => {
    expect(parseCSeq('0009\r\n  INVITE')).toEqual({ seq: 9, method: 'INVITE' });
    expect(parseCSeq('4294967295 OPTIONS')).toEqual({ seq: 4294967295, method: 'OPTIONS' });
  });

  it('rejects numbers beyond 2^32-1 and malformed values', () => {
    expect(err(() => parseCSeq('36893488147419103232 REGISTER')).reason).toMatch(/out of range/);
    expect(err(() => parseCSeq('4294967296 INVITE')).reason).toMatch(/out of range/);
    expect(err(() => parseCSeq('INVITE')).status).toBe(400);
    expect(err(() => parseCSeq('1')).status).toBe(400);
    expect(err(() => parseCSeq('1 IN VITE')).status).toBe(400);
  });
});

describe('parseParams', () => {
  it('reads valueless, token, host and quoted values with SWS', () => {
    expect(parseParams(' ; lr ; q = 0.33;maddr=[::1] ; x="a;b"')).toEqual(new Map<string, string | null>([
      ['lr', null], ['q', '0.33'], ['maddr', '[::1]'], ['x', '"a;b"'],
    ]));
  });

  it('rejects empty names, empty values and unterminated quotes', () => {
    expect(err(() => parseParams(';;')).status).toBe(400);
    expect(err(() => parseParams(';a=')).status).toBe(400);
    expect(err(() => parseParams(';a="x')).status).toBe(400);
  });
});
