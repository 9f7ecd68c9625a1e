import { Headers, createResponse, parseMessage } from '../../../node/sip/index.js';

const REQ = Buffer.from(
  'INVITE sip:bob@example.com SIP/2.0\r\n' +
    'Via: SIP/2.0/UDP pc33.example.com;branch=z9hG4bK776asdhds;rport\r\n' +
    'Max-Forwards: 70\r\n' +
    'To: Bob <sip:bob@example.com>\r\n' +
    'From: Alice <sip:alice@example.com>;tag=1928301774\r\n' +
    'Call-ID: a84b4c76e66710@pc33.example.com\r\n' +
    'CSeq: 314159 INVITE\r\n' +
    'Contact: <sip:alice@pc33.example.com>\r\n' +
    'Content-Length: 0\r\n\r\n',
);

describe('parsed header cache follows the header it was derived from', () => {
  test('changing Via or Record-Route keeps From/To/CSeq parsed once', () => {
    const req = parseMessage(REQ);
    if (!req.isRequest) throw new Error('expected a request');
    const from = req.from();
    const cseq = req.cseq();
    req.headers.prepend('Record-Route', '<sip:p1.example.com;lr>');
    req.headers.removeFirstValue('Via');
    req.headers.prepend('Via', 'SIP/2.0/UDP pc33.example.com;branch=z9hG4bK776asdhds;rport=5060;received=192.0.2.1');
    expect(req.from()).toBe(from);
    expect(req.cseq()).toBe(cseq);
  });

  test('a changed header is parsed again from its new value', () => {
    const req = parseMessage(REQ);
    if (!req.isRequest) throw new Error('expected a request');
    expect(req.topVia().params.get('received')).toBeUndefined();
    expect(req.routes()).toHaveLength(0);
    req.headers.removeFirstValue('Via');
    req.headers.prepend('Via', 'SIP/2.0/UDP pc33.example.com;branch=z9hG4bK776asdhds;rport=5060;received=192.0.2.1');
    req.headers.prepend('Route', '<sip:p1.example.com;lr>');
    req.headers.set('To', 'Bob <sip:bob@example.com>;tag=xyz');
    req.headers.remove('Max-Forwards');
    expect(req.topVia().params.get('received')).toBe('192.0.2.1');
    expect(req.vias()).toHaveLength(1);
    expect(req.routes()).toHaveLength(1);
    expect(req.to().params.get('tag')).toBe('xyz');
    expect(req.maxForwards()).toBeUndefined();
  });

  test('a header named like an Object.prototype member is an ordinary header', () => {
    const req = parseMessage(REQ);
    req.from();
    req.headers.append('constructor', 'x');
    req.headers.append('__proto__', 'y');
    expect(req.headers.get('constructor')).toBe('x');
    expect(req.from().displayName).toBe('Alice');
  });
});

test('releaseCache drops parsed values; they are parsed again, equal, on the next read', () => {
  const req = parseMessage(REQ);
  const from = req.from();
  req.headers.releaseCache();
  const again = req.from();
  expect(again).not.toBe(from);
  expect(again).toEqual(from);
});

test('the top Via is parsed once whether topVia() or vias() is asked first', () => {
  const two = Buffer.from(REQ.toString('latin1').replace('Max-Forwards', 'Via: SIP/2.0/TCP p2.example.com;branch=z9hG4bKp2\r\nMax-Forwards'), 'latin1');
  const a = parseMessage(two);
  const top = a.topVia();
  expect(a.vias()[0]).toBe(top);
  expect(a.vias()[1].host).toBe('p2.example.com');
  const b = parseMessage(two);
  const all = b.vias();
  expect(b.topVia()).toBe(all[0]);
  expect(all).toHaveLength(2);
});

test('remember() stands in for parsing the header just written', () => {
  const req = parseMessage(REQ);
  const via = req.topVia();
  via.params.set('received', '192.0.2.9');
  req.headers.removeFirstValue('Via');
  req.headers.prepend('Via', 'SIP/2.0/UDP pc33.example.com;branch=z9hG4bK776asdhds;rport;received=192.0.2.9');
  req.headers.remember('topVia', via);
  expect(req.topVia()).toBe(via);
  expect(req.headers.peek('from')).toBeUndefined();
});

test('list headers: a single element and a comma list read the same as before the one-element fast path', () => {
  const h = Headers.from([
    ['Route', '  <sip:p1.example.com;lr>  '],
    ['Route', ''],
    ['Route', '<sip:p2.example.com;lr>, <sip:p3.example.com;lr>'],
    ['Contact', '"A, B" <sip:a@example.com>'],
  ]);
  expect(h.get('Route')).toBe('<sip:p1.example.com;lr>');
  expect(h.getAll('Route')).toEqual(['<sip:p1.example.com;lr>', '<sip:p2.example.com;lr>', '<sip:p3.example.com;lr>']);
  expect(h.getAll('Contact')).toEqual(['"A, B" <sip:a@example.com>']);
  const empty = Headers.from([['Route', ' '], ['Route', '<sip:p9.example.com>']]);
  expect(empty.get('Route')).toBe('<sip:p9.example.com>');
});

test('a response built from a request keeps its parsed top Via (§18.2.2 reads it again to send)', () => {
  const req = parseMessage(REQ);
  if (!req.isRequest) throw new Error('expected a request');
  const via = req.topVia();
  const res = createResponse(req, 200, 'OK', { toTag: 't1', headers: [['Contact', '<sip:bob@192.0.2.4>']] });
  expect(res.topVia()).toBe(via);
  // Its own Via changed (a proxy popping ours) → parsed from the new value.
  res.headers.removeFirstValue('Via');
  expect(() => res.topVia()).toThrow();
  expect(createResponse(parseMessage(REQ) as typeof req, 100).topVia().branch).toBe('z9hG4bK776asdhds');
});

test('a copy keeps what was parsed from the fields it shares, and forgets what it changes itself', () => {
  const req = parseMessage(REQ);
  if (!req.isRequest) throw new Error('expected a request');
  const from = req.from();
  const via = req.topVia();
  const copy = req.clone();
  expect(copy.from()).toBe(from);
  copy.headers.prepend('Via', 'SIP/2.0/UDP proxy.example.com:5060;branch=z9hG4bKcopy1');
  expect(copy.topVia().branch).toBe('z9hG4bKcopy1');
  expect(req.topVia()).toBe(via);
  copy.headers.set('From', '<sip:carol@example.com>;tag=9');
  expect(copy.from().uri).toBe('sip:carol@example.com');
  expect(req.from()).toBe(from);
});
