// Message-level behaviour: start lines, cached accessors, validation verdicts, builders, serializer paths.
import {
  SipParseError, SipRequest, createErrorResponse, createRequest, createResponse, parseMessage, serialize,
  validateRequest, validateResponse,
} from '../../../node/sip/index.js';

const wire = (lines: string[], body = ''): Buffer => Buffer.from(lines.join('\r\n') + '\r\n\r\n' + body);

const BASE = [
  'Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds;rport',
  'Max-Forwards: 70',
  'To: Bob <sip:bob@biloxi.com>',
  'From: Alice <sip:alice@atlanta.com>;tag=1928301774',
  'Call-ID: a84b4c76e66710@pc33.atlanta.com',
  'CSeq: 314159 INVITE',
  'Contact: <sip:alice@pc33.atlanta.com>',
  'Content-Length: 4',
];
const invite = (extra: string[] = [], start = 'INVITE sip:bob@biloxi.com SIP/2.0', body = 'v=0\n'): Buffer =>
  wire([start, ...BASE, ...extra], body);

function req(buf: Buffer): SipRequest {
  const m = parseMessage(buf);
  if (!m.isRequest) throw new Error('expected a request');
  return m;
}

function parseErr(buf: Buffer): SipParseError {
  try {
    parseMessage(buf);
  } catch (e) {
    if (e instanceof SipParseError) return e;
    throw e;
  }
  throw new Error('expected SipParseError');
}

describe('parseMessage', () => {
  it('reads a request start line and the cached accessors', () => {
    const m = req(invite());
    expect([m.method, m.uri, m.version, m.isRequest]).toEqual(['INVITE', 'sip:bob@biloxi.com', 'SIP/2.0', true]);
    expect(m.topVia().branch).toBe('z9hG4bK776asdhds');
    expect(m.callId()).toBe('a84b4c76e66710@pc33.atlanta.com');
    expect(m.cseq()).toEqual({ seq: 314159, method: 'INVITE' });
    expect(m.from().params.get('tag')).toBe('1928301774');
    expect(m.to().displayName).toBe('Bob');
    expect(m.maxForwards()).toBe(70);
    expect(m.contacts()).toEqual([{ uri: 'sip:alice@pc33.atlanta.com', params: new Map() }]);
    expect(m.expires()).toBeUndefined();
    expect(m.requestUri().user).toBe('bob');
    expect(m.body.toString()).toBe('v=0\n');
    expect(m.topVia()).toBe(m.topVia()); // cached
  });

  it('reads a response status line; reason may be empty or UTF-8', () => {
    const r = parseMessage(wire(['SIP/2.0 180 Ringing', ...BASE.slice(0, 1), 'Content-Length: 0']));
    expect(r.isRequest).toBe(false);
    if (r.isRequest) return;
    expect([r.status, r.reason, r.version]).toEqual([180, 'Ringing', 'SIP/2.0']);
    const u = parseMessage(wire(['SIP/2.0 200 Très bien', 'Content-Length: 0']));
    expect(!u.isRequest && u.reason).toBe('Très bien');
    const e = parseMessage(wire(['SIP/2.0 100', 'Content-Length: 0']));
    expect(!e.isRequest && e.reason).toBe('');
  });

  it('accepts and ignores CRLFs before the start line (RFC 3261 §7.5)', () => {
    expect(req(Buffer.concat([Buffer.from('\r\n\r\n'), invite()])).method).toBe('INVITE');
  });

  it('rejects broken request lines with 400 and keeps the headers for the reply', () => {
    for (const start of ['INVITE  sip:bob@biloxi.com SIP/2.0', 'INVITE sip:bob@biloxi.com SIP/2.0 ', 'INVITE <sip:bob@biloxi.com> SIP/2.0',
      'INVITE sip:bob@biloxi.com', 'INVITE sip:bob@biloxi.com SIP/two', 'IN@VITE sip:bob@biloxi.com SIP/2.0']) {
      const e = parseErr(invite([], start));
      expect([e.status, e.action]).toEqual([400, 'reject']);
      const reply = createErrorResponse(e);
      expect(reply?.status).toBe(400);
      expect(reply?.headers.get('Call-ID')).toBe('a84b4c76e66710@pc33.atlanta.com');
    }
  });

  it('drops responses it cannot read (RFC 4475 §3.1.2.19)', () => {
    for (const start of ['SIP/2.0 4294967301 big', 'SIP/2.0 99 Low', 'SIP/2.0 700 High', 'SIP/2.0 2000 X', 'SIP/x 200 OK']) {
      const e = parseErr(wire([start, 'Content-Length: 0']));
      expect(e.action).toBe('drop');
      expect(createErrorResponse(e)).toBeNull();
    }
  });

  it('rejects malformed header lines', () => {
    expect(parseErr(invite(['NoColonHere'])).reason).toMatch(/Malformed header line/);
    expect(parseErr(invite(['Bad Name: x'])).reason).toMatch(/header name/);
    expect(parseErr(wire(['OPTIONS sip:a@b SIP/2.0', ' leading: continuation'])).reason).toMatch(/continuation/);
    expect(parseErr(Buffer.alloc(0)).action).toBe('drop');
    expect(parseErr(Buffer.from('\r\n\r\n')).action).toBe('drop');
  });

  it('a request with a malformed header line is still answerable: the good headers ride on the error', () => {
    const e = parseErr(invite(['NoColonHere', 'X-After: kept']));
    expect([e.status, e.action]).toEqual([400, 'reject']);
    expect(e.headers?.get('X-After')).toBe('kept');
    const reply = createErrorResponse(e);
    expect(reply?.status).toBe(400);
    expect(reply?.reason).toBe('Bad Request - Malformed header line');
    expect(reply?.headers.getAll('Via')).toEqual(['SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds;rport']);
    expect(reply?.cseq()).toEqual({ seq: 314159, method: 'INVITE' });
  });

  it('accessors throw SipParseError for malformed values', () => {
    const text = invite(['Expires: soon', 'Route: <sip:p1;lr>, <sip:p2;lr>']).toString()
      .replace('Max-Forwards: 70', 'Max-Forwards: 256').replace('CSeq: 314159 INVITE', 'CSeq: x INVITE');
    const m = req(Buffer.from(text));
    expect(m.expires()).toBeUndefined();
    expect(() => m.maxForwards()).toThrow(SipParseError);
    expect(() => m.cseq()).toThrow(SipParseError);
    expect(m.routes().map((r) => r.uri)).toEqual(['sip:p1;lr', 'sip:p2;lr']);
  });
});

describe('validateRequest / validateResponse', () => {
  const verdict = (extra: string[] = [], start?: string, body?: string, mutate?: (s: string) => string): unknown => {
    let text = invite(extra, start, body).toString('latin1');
    if (mutate) text = mutate(text);
    return validateRequest(req(Buffer.from(text, 'latin1')));
  };

  it('accepts a well-formed request', () => {
    expect(verdict()).toBeNull();
  });

  it('505 for other SIP versions (RFC 3261 §8.2.2)', () => {
    expect(verdict([], 'INVITE sip:bob@biloxi.com SIP/3.0')).toEqual({ status: 505, reason: 'Version Not Supported' });
  });

  it('416 for Request-URI schemes outside the served set, configurable', () => {
    expect(verdict([], 'INVITE im:bob@biloxi.com SIP/2.0')).toEqual({ status: 416, reason: 'Unsupported URI Scheme' });
    const m = req(invite([], 'INVITE tel:+15550100 SIP/2.0'));
    expect(validateRequest(m)).toBeNull();
    expect(validateRequest(m, { schemes: ['sip', 'sips'] })?.status).toBe(416);
  });

  it('400 with a specific phrase for each missing or repeated mandatory header', () => {
    for (const h of ['Call-ID', 'From', 'To', 'CSeq', 'Via']) {
      expect(verdict([], undefined, undefined, (s) => s.replace(new RegExp(`\\r\\n${h}:[^\\r]*`), ''))).toEqual({
        status: 400, reason: `Bad Request - Missing ${h}`,
      });
    }
    expect(verdict(['Call-ID: second@x'])).toEqual({ status: 400, reason: 'Bad Request - Multiple Call-ID values' });
    expect(verdict(['To: <sip:other@x>'])).toEqual({ status: 400, reason: 'Bad Request - Multiple To values' });
  });

  it('400 for CSeq method mismatch, bad Max-Forwards, short body, bad Date', () => {
    expect(verdict([], 'OPTIONS sip:bob@biloxi.com SIP/2.0')).toMatchObject({ reason: /CSeq method/ });
    expect(verdict([], undefined, undefined, (s) => s.replace('Max-Forwards: 70', 'Max-Forwards: 256'))).toMatchObject({
      status: 400, reason: 'Bad Request - Max-Forwards out of range' });
    expect(verdict([], undefined, 'v=')).toMatchObject({ reason: /Content-Length larger/ });
    expect(verdict(['Date: Sat, 13 Nov 2010 23:29:00 GMT'])).toBeNull();
    expect(verdict(['Date: Sat, 13 Nov 2010 23:29:00 PST'])).toMatchObject({ reason: /Date/ });
    expect(verdict([], 'INVITE sip:bob@biloxi.com?Subject=x SIP/2.0')).toMatchObject({ reason: /Headers in Request-URI/ });
  });

  it('400 for malformed sip URIs inside address headers; other schemes stay opaque', () => {
    expect(verdict([], undefined, undefined, (t) => t.replace('To: Bob <sip:bob@biloxi.com>', 'To: <sip:bob@>'))).toEqual({
      status: 400, reason: 'Bad Request - To: Missing host in URI' });
    expect(verdict(['Record-Route: <sip:p1;lr>, <sip:a@b:99999>'])).toMatchObject({ reason: /Record-Route/ });
    expect(verdict([], undefined, undefined, (t) => t.replace('To: Bob <sip:bob@biloxi.com>', 'To: <urn:service:sos>'))).toBeNull();
  });

  it('Contact * is accepted alone (RFC 3261 §10.2.2) and rejected mixed with other contacts', () => {
    const reg = (contact: string): unknown => validateRequest(req(wire(['REGISTER sip:biloxi.com SIP/2.0',
      ...BASE.filter((h) => !h.startsWith('Contact') && !h.startsWith('CSeq') && !h.startsWith('Content-Length')),
      'CSeq: 2 REGISTER', `Contact: ${contact}`, 'Expires: 0', 'Content-Length: 0'])));
    expect(reg('*')).toBeNull();
    expect(reg('*, <sip:a@b>')).toMatchObject({ status: 400 });
  });

  it('responses: a verdict means drop', () => {
    const ok = parseMessage(wire(['SIP/2.0 200 OK', ...BASE.slice(0, 1), ...BASE.slice(2, 6), 'Content-Length: 0']));
    expect(!ok.isRequest && validateResponse(ok)).toBeNull();
    const bad = parseMessage(wire(['SIP/2.0 200 OK', ...BASE.slice(2, 6), 'Content-Length: 0']));
    expect(!bad.isRequest && validateResponse(bad)).toEqual({ status: 400, reason: 'Bad Request - Missing Via' });
  });
});

describe('builders', () => {
  it('createResponse copies Via/From/To/Call-ID/CSeq and adds the To tag (RFC 3261 §8.2.6)', () => {
    const m = req(invite(['Via: SIP/2.0/UDP second.example.com;branch=z9hG4bK2']));
    const r = createResponse(m, 486, undefined, { toTag: 'abc', headers: [['Retry-After', '30']] });
    expect([r.status, r.reason]).toEqual([486, 'Busy Here']);
    expect(r.headers.getAll('Via')).toHaveLength(2);
    expect(r.to().params.get('tag')).toBe('abc');
    expect(r.from().params.get('tag')).toBe('1928301774');
    expect(r.headers.get('Retry-After')).toBe('30');
    const text = serialize(r).toString();
    expect(text.startsWith('SIP/2.0 486 Busy Here\r\nVia: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds;rport\r\n')).toBe(true);
    expect(text.endsWith('Content-Length: 0\r\n\r\n')).toBe(true);
    const back = parseMessage(serialize(r));
    expect(!back.isRequest && validateResponse(back)).toBeNull();
  });

  it('copies Record-Route only when asked (RFC 3261 §12.1.1), keeping order', () => {
    const m = req(invite(['Record-Route: <sip:p1;lr>, <sip:p2;lr>', 'Record-Route: <sip:p3;lr>']));
    expect(createResponse(m, 200, 'OK', { toTag: 't' }).headers.has('Record-Route')).toBe(false);
    const r = createResponse(m, 200, 'OK', { toTag: 't', recordRoute: true });
    expect(r.headers.getAll('Record-Route')).toEqual(['<sip:p1;lr>', '<sip:p2;lr>', '<sip:p3;lr>']);
  });

  it('keeps an existing To tag and never tags a 100 Trying', () => {
    const tagged = req(Buffer.from(invite().toString().replace('To: Bob <sip:bob@biloxi.com>', 'To: <sip:bob@biloxi.com>;tag=old')));
    expect(createResponse(tagged, 200, 'OK', { toTag: 'new' }).to().params.get('tag')).toBe('old');
    expect(createResponse(req(invite()), 100, undefined, { toTag: 'x' }).to().params.has('tag')).toBe(false);
  });

  it('builds replies to hostile requests without throwing: received fields are copied byte-exact', () => {
    const text = invite().toString('latin1').replace('To: Bob <sip:bob@biloxi.com>', 'To: Bob <sip:bob@biloxi.com>\0\rjunk')
      .replace('CSeq: 314159 INVITE', 'CSeq: 314159 INVITE\0');
    const m = req(Buffer.from(text, 'latin1'));
    const out = serialize(createResponse(m, 400, 'Bad Request', { toTag: 'x' })).toString('latin1');
    expect(out).toContain('\r\nTo: Bob <sip:bob@biloxi.com>\0\rjunk\r\n');
    expect(out).toContain('\r\nCSeq: 314159 INVITE\0\r\n');
  });

  it('createRequest builds a request that serializes and validates', () => {
    const r = createRequest({
      method: 'OPTIONS', uri: 'sip:bob@biloxi.com',
      headers: [['Via', 'SIP/2.0/UDP h;branch=z9hG4bKo'], ['Max-Forwards', '70'], ['To', '<sip:bob@biloxi.com>'],
        ['From', '<sip:a@b>;tag=1'], ['Call-ID', 'o@h'], ['CSeq', '1 OPTIONS']],
    });
    const back = req(serialize(r));
    expect(validateRequest(back)).toBeNull();
    expect(back.contentLength()).toBe(0);
  });
});

describe('serialize', () => {
  it('writes a changed Request-URI and keeps the rest', () => {
    const m = req(invite());
    m.uri = 'sip:bob@192.0.2.4:5060';
    const text = serialize(m).toString();
    expect(text.startsWith('INVITE sip:bob@192.0.2.4:5060 SIP/2.0\r\nVia: SIP/2.0/UDP pc33')).toBe(true);
  });

  it('corrects a wrong Content-Length and drops duplicates', () => {
    const m = req(invite(['Content-Length: 4']));
    m.body = Buffer.from('longer body');
    const text = serialize(m).toString();
    expect(text.match(/Content-Length/g)).toHaveLength(1);
    expect(text).toContain('Content-Length: 11\r\n');
  });

  it('adds the empty line a header-only datagram lacked', () => {
    const m = parseMessage(Buffer.from('OPTIONS sip:a@b SIP/2.0\r\nCall-ID: x\r\nl: 0\r\n'));
    expect(serialize(m).toString()).toBe('OPTIONS sip:a@b SIP/2.0\r\nCall-ID: x\r\nl: 0\r\n\r\n');
  });
});

describe('clone', () => {
  it('gives each fork its own headers and Request-URI (RFC 3261 §16.6)', () => {
    const m = req(invite());
    const a = m.clone();
    const b = m.clone();
    a.uri = 'sip:bob@192.0.2.1';
    a.headers.prepend('Via', 'SIP/2.0/UDP proxy;branch=z9hG4bKa');
    b.headers.prepend('Via', 'SIP/2.0/UDP proxy;branch=z9hG4bKb');
    expect(a.topVia().branch).toBe('z9hG4bKa');
    expect(b.topVia().branch).toBe('z9hG4bKb');
    expect(m.topVia().branch).toBe('z9hG4bK776asdhds');
    expect(serialize(m).equals(invite())).toBe(true);
    expect(serialize(b).toString().startsWith('INVITE sip:bob@biloxi.com SIP/2.0\r\nVia: SIP/2.0/UDP proxy;branch=z9hG4bKb\r\n')).toBe(true);
    expect(serialize(a).toString().startsWith('INVITE sip:bob@192.0.2.1 SIP/2.0\r\n')).toBe(true);
  });
});
