// Header section behaviour: compact forms, folding, repeated and comma-joined headers, mutation.
import { Headers, parseMessage, serialize } from '../../../node/sip/index.js';

const msg = (lines: string[], body = ''): Buffer => Buffer.from(lines.join('\r\n') + '\r\n\r\n' + body);

const REQ = [
  'OPTIONS sip:bob@example.com SIP/2.0',
  'v: SIP/2.0/UDP a.example.com;branch=z9hG4bK1, SIP/2.0/TCP b.example.com;branch=z9hG4bK2',
  'Via: SIP/2.0/UDP c.example.com;branch=z9hG4bK3',
  'f: "Doe, John" <sip:john@example.com>;tag=1',
  't: <sip:bob@example.com>',
  'i: abc@host',
  'CSeq: 1 OPTIONS',
  'm: <sip:john@10.0.0.1>;q=0.5, "Other, Name" <sip:x@y>',
  'k: timer, 100rel',
  'X-Custom:   odd   spacing  ',
  'Route: <sip:p1.example.com;lr>,',
  ' <sip:p2.example.com;lr>',
  'l: 0',
];

describe('Headers', () => {
  it('maps compact forms to full names, case-insensitively', () => {
    const h = parseMessage(msg(REQ)).headers;
    expect(h.get('Call-ID')).toBe('abc@host');
    expect(h.get('call-id')).toBe('abc@host');
    expect(h.get('i')).toBe('abc@host');
    expect(h.get('Supported')).toBe('timer');
    expect(h.getAll('supported')).toEqual(['timer', '100rel']);
    expect(h.get('FROM')).toBe('"Doe, John" <sip:john@example.com>;tag=1');
    expect(h.has('Content-Length')).toBe(true);
    expect([...h].map(([n]) => n)).toEqual([
      'Via', 'Via', 'From', 'To', 'Call-ID', 'CSeq', 'Contact', 'Supported', 'X-Custom', 'Route', 'Content-Length',
    ]);
  });

  it('knows every registered compact form (RFC 3261 §7.3.3 and extensions)', () => {
    const compact: Record<string, string> = {
      i: 'Call-ID', m: 'Contact', e: 'Content-Encoding', l: 'Content-Length', c: 'Content-Type', f: 'From', s: 'Subject',
      k: 'Supported', t: 'To', v: 'Via', o: 'Event', u: 'Allow-Events', r: 'Refer-To', b: 'Referred-By',
      x: 'Session-Expires', y: 'Identity', a: 'Accept-Contact', j: 'Reject-Contact', d: 'Request-Disposition', n: 'Identity-Info',
    };
    const lines = ['MESSAGE sip:a@b SIP/2.0', ...Object.keys(compact).filter((k) => k !== 'l').map((k) => `${k.toUpperCase()}: val-${k}`), 'l: 0'];
    const m = parseMessage(msg(lines));
    for (const [k, full] of Object.entries(compact)) {
      if (k === 'l') continue;
      expect([full, m.headers.get(full)]).toEqual([full, `val-${k}`]);
    }
    expect([...m.headers].map(([n]) => n)).toEqual([...Object.values(compact).filter((n) => n !== 'Content-Length'), 'Content-Length']);
    // written back exactly as received
    expect(serialize(m).equals(msg(lines))).toBe(true);
  });

  it('splits comma-joined list values but not commas inside quotes or <>', () => {
    const h = parseMessage(msg(REQ)).headers;
    expect(h.getAll('Via')).toEqual([
      'SIP/2.0/UDP a.example.com;branch=z9hG4bK1', 'SIP/2.0/TCP b.example.com;branch=z9hG4bK2',
      'SIP/2.0/UDP c.example.com;branch=z9hG4bK3',
    ]);
    expect(h.getAll('Contact')).toEqual(['<sip:john@10.0.0.1>;q=0.5', '"Other, Name" <sip:x@y>']);
    expect(h.getAll('From')).toEqual(['"Doe, John" <sip:john@example.com>;tag=1']);
    expect(h.get('Via')).toBe('SIP/2.0/UDP a.example.com;branch=z9hG4bK1');
  });

  it('unfolds continuation lines into one value (RFC 3261 §7.3.1)', () => {
    const h = parseMessage(msg(REQ)).headers;
    expect(h.getLines('Route')).toEqual(['<sip:p1.example.com;lr>, <sip:p2.example.com;lr>']);
    expect(h.getAll('Route')).toEqual(['<sip:p1.example.com;lr>', '<sip:p2.example.com;lr>']);
    expect(h.get('X-Custom')).toBe('odd   spacing');
  });

  it('removeFirstValue pops the topmost value even from a comma-joined line', () => {
    const m = parseMessage(msg(REQ));
    expect(m.headers.removeFirstValue('Via')).toBe('SIP/2.0/UDP a.example.com;branch=z9hG4bK1');
    expect(m.headers.getAll('Via')).toHaveLength(2);
    expect(m.headers.removeFirstValue('Via')).toBe('SIP/2.0/TCP b.example.com;branch=z9hG4bK2');
    expect(m.headers.removeFirstValue('Via')).toBe('SIP/2.0/UDP c.example.com;branch=z9hG4bK3');
    expect(m.headers.removeFirstValue('Via')).toBeUndefined();
    expect(m.headers.has('Via')).toBe(false);
    expect(m.headers.removeFirstValue('Call-ID')).toBe('abc@host');
  });

  it('prepend makes the new value topmost; append adds after the last of its kind; set replaces all', () => {
    const m = parseMessage(msg(REQ));
    m.headers.prepend('Via', 'SIP/2.0/UDP proxy.example.com;branch=z9hG4bKp');
    expect(m.headers.get('via')).toBe('SIP/2.0/UDP proxy.example.com;branch=z9hG4bKp');
    expect(m.topVia().host).toBe('proxy.example.com');
    m.headers.append('Via', 'SIP/2.0/UDP last.example.com');
    expect(m.headers.getAll('Via').at(-1)).toBe('SIP/2.0/UDP last.example.com');
    m.headers.set('Supported', 'path');
    expect(m.headers.getAll('k')).toEqual(['path']);
    m.headers.set('Max-Forwards', '69');
    expect(m.maxForwards()).toBe(69);
    expect(m.headers.remove('Via')).toBe(4);
    expect(m.headers.getAll('Via')).toEqual([]);
  });

  it('mutations are serialized, untouched fields keep their bytes, Content-Length follows the body', () => {
    const m = parseMessage(msg(REQ));
    m.headers.prepend('Via', 'SIP/2.0/UDP proxy.example.com;branch=z9hG4bKp');
    m.body = Buffer.from('hello');
    const wire = serialize(m).toString();
    expect(wire.startsWith('OPTIONS sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP proxy.example.com;branch=z9hG4bKp\r\nv: SIP/2.0/UDP a.')).toBe(true);
    expect(wire).toContain('X-Custom:   odd   spacing  \r\n');
    expect(wire).toContain('Route: <sip:p1.example.com;lr>,\r\n <sip:p2.example.com;lr>\r\n');
    expect(wire).toContain('Content-Length: 5\r\n');
    expect(wire).not.toContain('l: 0');
    expect(wire.endsWith('\r\n\r\nhello')).toBe(true);
  });

  it('adds Content-Length when the message had none', () => {
    const m = parseMessage(msg(REQ.filter((l) => !l.startsWith('l:'))));
    expect(serialize(m).toString()).toContain('\r\nContent-Length: 0\r\n\r\n');
  });

  it('neutralises CR/LF in values (no header injection) and refuses invalid names', () => {
    const m = parseMessage(msg(REQ));
    m.headers.set('X-A', 'a\r\nVia: evil');
    expect(m.headers.get('X-A')).toBe('a Via: evil');
    expect(serialize(m).toString()).toContain('\r\nX-A: a Via: evil\r\n');
    expect(m.headers.getAll('Via')).toHaveLength(3);
    expect(() => m.headers.append('Bad Name', 'x')).toThrow(RangeError);
  });

  it('Headers.from builds a section in the given order with canonical names', () => {
    const h = Headers.from([['call-id', 'x'], ['cseq', '1 INVITE'], ['X-Y', 'z']]);
    expect([...h]).toEqual([['Call-ID', 'x'], ['CSeq', '1 INVITE'], ['X-Y', 'z']]);
  });
});
