import {
  applyStrictRouting, buildCancel, forwardRequest, loopHash, makeBranch, processRoute, resolveNextHop, tagOf, validateRequest,
} from '../../../node/proxy/index.js';
import { parseMessage, type SipRequest } from '../../../node/sip/index.js';
import { factory, request } from './fake-sip.js';

const own = (host: string, port: number): boolean => (host === 'proxy.example.com' || host === '10.0.0.1') && port === 5060;
const opts = { isOwnAddress: own, supportedProxyRequire: new Set<string>(['sec-agree']) };
const base = ['Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKuac1', 'From: <sip:alice@example.com>;tag=a1',
  'To: <sip:bob@example.com>', 'Call-ID: call-1', 'CSeq: 7 INVITE'];
const adv = { host: 'proxy.example.com', port: 5060 };

describe('§16.3 request validation', () => {
  test.each([
    [['Max-Forwards: 70'], undefined],
    [['Max-Forwards: 1'], undefined],
    [[], undefined],
    [['Max-Forwards: 0'], 483],
    [['Max-Forwards: abc'], 400],
    [['Max-Forwards: 70', 'Proxy-Require: sec-agree'], undefined],
    [['Max-Forwards: 70', 'Proxy-Require: foo, sec-agree'], 420],
  ])('%j → %s', (extra, status) => {
    const r = validateRequest(request('INVITE sip:bob@example.com', ...base, ...extra), opts);
    expect(r?.status).toBe(status);
  });

  test('420 lists the unsupported option-tags in Unsupported', () => {
    const r = validateRequest(request('INVITE sip:bob@example.com', ...base, 'Proxy-Require: foo, bar'), opts);
    expect(r?.headers).toEqual([['Unsupported', 'foo, bar']]);
  });

  test('416 for a URI scheme we cannot route', () => {
    expect(validateRequest(request('INVITE mailto:bob@example.com', ...base), opts)?.status).toBe(416);
  });

  test('§16.3 item 4: our own Via with the same loop hash is a loop (482); a retargeted request is a spiral', () => {
    const first = request('INVITE sip:bob@example.com', ...base, 'Max-Forwards: 70');
    const ourVia = `SIP/2.0/UDP proxy.example.com:5060;branch=${makeBranch(loopHash(first), 'x1')}`;
    // It comes back unchanged via some other hop: our Via is below that hop's Via.
    const looped = request('INVITE sip:bob@example.com', 'Via: SIP/2.0/UDP 198.51.100.7;branch=z9hG4bKother',
      `Via: ${ourVia}`, ...base, 'Max-Forwards: 68');
    expect(validateRequest(looped, opts)?.status).toBe(482);
    const spiral = request('INVITE sip:bob@10.9.9.9', 'Via: SIP/2.0/UDP 198.51.100.7;branch=z9hG4bKother',
      `Via: ${ourVia}`, ...base, 'Max-Forwards: 68');
    expect(validateRequest(spiral, opts)).toBeUndefined();
  });

  test('§16.3 item 4 on a node/sip request: its own parsed Vias are checked (a malformed one → each value on its own)', () => {
    const sip = (vias: string[], ruri = 'sip:bob@example.com'): SipRequest => parseMessage(Buffer.from(
      `INVITE ${ruri} SIP/2.0\r\n${vias.map((v) => `Via: ${v}\r\n`).join('')}${base.slice(1).join('\r\n')}\r\nMax-Forwards: 68\r\n\r\n`,
    )) as SipRequest;
    const first = sip(['SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKuac1']);
    const ourVia = `SIP/2.0/UDP Proxy.Example.com:5060;branch=${makeBranch(loopHash(first), 'x1')}`;
    const looped = sip(['SIP/2.0/UDP 198.51.100.7;branch=z9hG4bKother', ourVia]);
    looped.vias(); // parsed, as validation leaves it
    expect(validateRequest(looped, opts)?.status).toBe(482);
    expect(validateRequest(sip(['SIP/2.0/UDP 198.51.100.7;branch=z9hG4bKother', ourVia], 'sip:bob@10.9.9.9'), opts)).toBeUndefined();
    // Another protocol than SIP/2.0 is not our Via; an unparsable sibling does not hide ours.
    expect(validateRequest(sip([ourVia.replace('SIP/2.0', 'SIP/3.0')]), opts)).toBeUndefined();
    expect(validateRequest(sip(['SIP/2.0/UDP ;;', ourVia]), opts)?.status).toBe(482);
  });
});

describe('§16.4 Route processing', () => {
  test.each([
    // [R-URI, Route values, expected R-URI, expected Route, strictFixup, popped]
    ['sip:bob@example.com', ['<sip:proxy.example.com;lr>', '<sip:p2.example.net;lr>'], 'sip:bob@example.com', ['<sip:p2.example.net;lr>'], false, 1],
    ['sip:bob@example.com', ['<sip:proxy.example.com:5060;lr>', '<sip:10.0.0.1;lr>'], 'sip:bob@example.com', [], false, 2],
    ['sip:bob@example.com', ['<sip:p2.example.net;lr>'], 'sip:bob@example.com', ['<sip:p2.example.net;lr>'], false, 0],
    ['sip:bob@example.com', [], 'sip:bob@example.com', [], false, 0],
    // strict router upstream put our Record-Route into the R-URI: restore the real R-URI from the last Route
    ['sip:proxy.example.com;lr', ['<sip:p2.example.net;lr>', '<sip:bob@192.0.2.20:5062>'], 'sip:bob@192.0.2.20:5062', ['<sip:p2.example.net;lr>'], true, 0],
    // a userless R-URI of ours without lr (e.g. REGISTER sip:domain) is not a strict-route artefact
    ['sip:proxy.example.com', ['<sip:p2.example.net;lr>'], 'sip:proxy.example.com', ['<sip:p2.example.net;lr>'], false, 0],
  ])('%s + %j', (ruri, routes, expUri, expRoutes, strict, popped) => {
    const req = request(`INVITE ${ruri}`, ...base, ...routes.map((r) => `Route: ${r}`));
    const res = processRoute(req, own);
    expect(req.uri).toBe(expUri);
    expect(req.headers.getAll('Route')).toEqual(expRoutes);
    expect(res).toEqual({ strictFixup: strict, poppedOwnRoutes: popped, lastPoppedUser: undefined });
  });
});

describe('next-hop precedence: explicit > first Route URI > R-URI', () => {
  test.each([
    [{ host: '203.0.113.5', port: 5070, transport: 'TCP' }, ['<sip:edge.example.net;lr>'], 'sip:bob@192.0.2.20', { host: '203.0.113.5', port: 5070, transport: 'TCP', source: 'explicit' }],
    [undefined, ['<sip:edge.example.net:5080;transport=tcp;lr>', '<sip:x.example.net;lr>'], 'sip:bob@192.0.2.20', { host: 'edge.example.net', port: 5080, transport: 'TCP', source: 'route' }],
    [undefined, [], 'sip:bob@192.0.2.20:5062', { host: '192.0.2.20', port: 5062, transport: 'UDP', source: 'ruri' }],
    [undefined, [], 'sips:bob@example.org', { host: 'example.org', port: 5061, transport: 'TLS', srv: true, source: 'ruri' }],
    [undefined, [], 'sip:bob@example.org;maddr=239.1.1.1', { host: '239.1.1.1', port: 5060, transport: 'UDP', source: 'ruri' }],
  ])('explicit %j, Route %j, R-URI %s', (explicit, routes, ruri, expected) => {
    const req = request(`INVITE ${ruri}`, ...base, ...routes.map((r) => `Route: ${r}`));
    expect(resolveNextHop(req, explicit)).toEqual(expected);
  });

  test('§16.6 item 6: a strict next hop becomes the R-URI and the R-URI goes last in Route', () => {
    const req = request('INVITE sip:bob@192.0.2.20', ...base, 'Route: <sip:strict.example.net>', 'Route: <sip:x.example.net;lr>');
    expect(applyStrictRouting(req)).toBe(true);
    expect(req.uri).toBe('sip:strict.example.net');
    expect(req.headers.getAll('Route')).toEqual(['<sip:x.example.net;lr>', '<sip:bob@192.0.2.20>']);
  });
});

describe('§16.6 forwarded copy', () => {
  const spec = { recordRoute: true, inboundTransport: 'UDP', advertised: adv, loopHash: 'abcdef0123', branchSuffix: 's1' };

  test('R-URI set, Max-Forwards decremented, Record-Route with lr, our Via on top with a loop-hash branch', () => {
    const inv = request('INVITE sip:bob@example.com', ...base, 'Max-Forwards: 70', 'Record-Route: <sip:up.example.net;lr>');
    const fwd = forwardRequest(inv, { ...spec, targetUri: 'sip:bob@192.0.2.20:5062' }, factory.copy)!;
    expect(fwd.request.uri).toBe('sip:bob@192.0.2.20:5062');
    expect(fwd.request.headers.get('Max-Forwards')).toBe('69');
    expect(fwd.request.headers.getAll('Record-Route')).toEqual(['<sip:proxy.example.com:5060;lr>', '<sip:up.example.net;lr>']);
    expect(fwd.request.headers.getAll('Via')).toEqual([
      'SIP/2.0/UDP proxy.example.com:5060;branch=z9hG4bKabcdef0123.s1', 'SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKuac1']);
    expect(fwd.nextHop).toEqual({ host: '192.0.2.20', port: 5062, transport: 'UDP', source: 'ruri' });
    expect(inv.uri).toBe('sip:bob@example.com'); // the received request is untouched
    expect(inv.headers.getAll('Via')).toHaveLength(1);
  });

  test('absent Max-Forwards becomes 70; TCP inbound gets transport=tcp in its Record-Route', () => {
    const inv = request('INVITE sip:bob@example.com', ...base);
    const fwd = forwardRequest(inv, { ...spec, inboundTransport: 'TCP', targetUri: 'sip:bob@192.0.2.20' }, factory.copy)!;
    expect(fwd.request.headers.get('Max-Forwards')).toBe('70');
    // TCP in, UDP out: the UDP-facing route on top for the callee, the TCP-facing one for the caller (RFC 5658).
    expect(fwd.request.headers.getAll('Record-Route')).toEqual(['<sip:proxy.example.com:5060;lr>', '<sip:proxy.example.com:5060;transport=tcp;lr>']);
  });

  test('RFC 3327 Path becomes the Route set and the next hop', () => {
    const inv = request('INVITE sip:bob@example.com', ...base, 'Max-Forwards: 70');
    const fwd = forwardRequest(inv, { ...spec, recordRoute: false, targetUri: 'sip:bob@10.1.1.1:5090',
      path: ['<sip:edge1.example.net;lr>', '<sip:edge2.example.net;lr>'] }, factory.copy)!;
    expect(fwd.request.headers.getAll('Route')).toEqual(['<sip:edge1.example.net;lr>', '<sip:edge2.example.net;lr>']);
    expect(fwd.nextHop.host).toBe('edge1.example.net');
    expect(fwd.request.headers.get('Record-Route')).toBeUndefined();
  });
});

describe('§9.1 CANCEL builder', () => {
  test('reuses the forwarded INVITE top Via (branch + sent-by), R-URI, Call-ID, From, To, CSeq number, Route', () => {
    const inv = request('INVITE sip:bob@example.com', ...base, 'Max-Forwards: 70', 'Route: <sip:edge.example.net;lr>');
    const fwd = forwardRequest(inv, { recordRoute: true, inboundTransport: 'UDP', advertised: adv, loopHash: '0123456789',
      branchSuffix: 'b7', targetUri: 'sip:bob@192.0.2.20' }, factory.copy)!;
    const cancel = buildCancel(fwd.request, factory);
    expect(cancel.method).toBe('CANCEL');
    expect(cancel.uri).toBe(fwd.request.uri);
    expect(cancel.headers.getAll('Via')).toEqual([fwd.request.headers.get('Via')]);
    expect(cancel.headers.get('Via')).toBe('SIP/2.0/UDP proxy.example.com:5060;branch=z9hG4bK0123456789.b7');
    expect(cancel.headers.get('CSeq')).toBe('7 CANCEL');
    expect(cancel.headers.get('Call-ID')).toBe('call-1');
    expect(cancel.headers.get('From')).toBe(fwd.request.headers.get('From'));
    expect(cancel.headers.get('To')).toBe(fwd.request.headers.get('To'));
    expect(cancel.headers.getAll('Route')).toEqual(['<sip:edge.example.net;lr>']);
    expect(cancel.headers.get('Record-Route')).toBeUndefined();
  });
});

describe('tagOf (From/To tag for loop hashes and dialog matching)', () => {
  test.each([
    [undefined, ''],
    ['<sip:a@example.com>;tag=1928', '1928'],
    ['"Tag=x" <sip:a@example.com;tag=uri-param> ; TAG = f00 ;x=1', 'f00'],
    ['sip:a@example.com;tag=abc', 'abc'],
    ['sip:a@example.com', ''],
    ['<sip:a@example.com>;tag=;tag=second', 'second'],
    ['<sip:a@example.com>;tagx=1;tag=2,x', '2'],
    ['<sip:a@example.com>;tag=\u00a0z', 'z'],
  ])('%j → %j', (value, tag) => {
    expect(tagOf(value)).toBe(tag);
  });
});
