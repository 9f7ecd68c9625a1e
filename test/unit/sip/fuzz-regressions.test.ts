// Cases the fuzz campaign (test/fuzz/campaign) found, kept as plain unit cases of the owning parsers.
import {
  SipParseError, createErrorResponse, parseMessage, parseUri, parseVia, serialize, validateRequest, type SipRequest,
} from '../../../node/sip/index.js';
import { cachedHeaderNames } from '../../../node/sip/header-names.js';

function request(via: string): SipRequest {
  return parseMessage(Buffer.from([
    'OPTIONS sip:127.0.0.1:5060 SIP/2.0', `Via: ${via}`, 'Max-Forwards: 70', 'From: <sip:a@b>;tag=1', 'To: <sip:127.0.0.1:5060>',
    'Call-ID: port0@fuzz', 'CSeq: 1 OPTIONS', 'Content-Length: 0', '', '',
  ].join('\r\n'))) as SipRequest;
}

describe('Via sent-by port 0 (live campaign, seed 3)', () => {
  it('is a malformed Via port: a response along it could not be sent anywhere (RFC 3261 §18.2.2)', () => {
    expect(() => parseVia('SIP/2.0/UDP 127.0.0.1:0;branch=z9hG4bKx')).toThrow(SipParseError);
    expect(() => parseVia('SIP/2.0/UDP 127.0.0.1:00000;branch=z9hG4bKx')).toThrow('Malformed Via port');
    expect(parseVia('SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bKx').port).toBe(1);
    expect(parseVia('SIP/2.0/UDP 127.0.0.1:65535;branch=z9hG4bKx').port).toBe(65535);
  });

  it('makes the request a 400 naming the header, answered where it came from (the Via is not usable)', () => {
    const req = request('SIP/2.0/UDP 127.0.0.1:0;branch=z9hG4bK-port0');
    expect(validateRequest(req)).toEqual({ status: 400, reason: 'Bad Request - Malformed Via port' });
    expect(() => req.topVia()).toThrow(SipParseError);
  });
});

describe('URI parameter floods (parser campaign scaling probe)', () => {
  it('reads thousands of valueless parameters followed by a valued one', () => {
    const uri = parseUri(`sip:a@b${';p'.repeat(20_000)};last=1`);
    expect(uri.params.get('p')).toBeNull();
    expect(uri.params.get('last')).toBe('1');
    expect(uri.params.size).toBe(2);
  });

  it("takes '=' only from its own parameter", () => {
    const uri = parseUri('sip:a@b;lr;transport=tcp;x;y=2');
    expect([...uri.params]).toEqual([['lr', null], ['transport', 'tcp'], ['x', null], ['y', '2']]);
  });
});

describe('a rejected request still gets its 400 built', () => {
  it('builds the reply for an unparseable header section from the well-formed headers', () => {
    let err: SipParseError | undefined;
    try {
      parseMessage(Buffer.from('OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nBad Name: x\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\n\r\n'));
    } catch (e) {
      err = e as SipParseError;
    }
    expect(err?.reason).toBe('Bad Request - Malformed header name');
    const reply = createErrorResponse(err as SipParseError);
    expect(serialize(reply!).toString()).toMatch(/^SIP\/2\.0 400 Bad Request - Malformed header name\r\n/);
  });
});

describe('the header-name cache (live campaign: unique long header names)', () => {
  it('keeps no long names: unique 60 KB names cannot pin memory for the life of the process', () => {
    const before = cachedHeaderNames();
    for (let i = 0; i < 50; i++) {
      const m = parseMessage(Buffer.from(`OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK${i}\r\nX-${i}${'n'.repeat(60_000)}: v\r\n\r\n`, 'latin1'));
      expect(m.headers.getAll(`X-${i}${'n'.repeat(60_000)}`)).toEqual(['v']);
    }
    expect(cachedHeaderNames()).toBe(before);
    // Short names are still cached (that is the cache's point), up to its bound.
    parseMessage(Buffer.from('OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKs\r\nX-Short-Unique-Name-7: v\r\n\r\n', 'latin1'));
    expect(cachedHeaderNames()).toBeLessThanOrEqual(Math.min(before + 1, 2048));
  });
});

describe('URI port 0 (a Contact bound to port 0 made every INVITE to it throw ERR_SOCKET_BAD_PORT on each Timer A)', () => {
  it('is out of range, like a port above 65535', () => {
    expect(() => parseUri('sip:bob@127.0.0.1:0')).toThrow('Port out of range in URI');
    expect(() => parseUri('sip:bob@127.0.0.1:00000;transport=tcp')).toThrow('Port out of range in URI');
    expect(parseUri('sip:bob@127.0.0.1:1').port).toBe(1);
  });

  it('makes a REGISTER with such a Contact a 400 naming the header', () => {
    const req = parseMessage(Buffer.from([
      'REGISTER sip:127.0.0.1 SIP/2.0', 'Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-c0', 'Max-Forwards: 70', 'From: <sip:bob@127.0.0.1>;tag=1',
      'To: <sip:bob@127.0.0.1>', 'Call-ID: c0@fuzz', 'CSeq: 1 REGISTER', 'Contact: <sip:bob@127.0.0.1:0>', 'Content-Length: 0', '', '',
    ].join('\r\n'))) as SipRequest;
    expect(validateRequest(req)).toEqual({ status: 400, reason: 'Bad Request - Contact: Port out of range in URI' });
  });
});
