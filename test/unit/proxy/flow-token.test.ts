/**
 * RFC 5626 §5.3 flow tokens in our Record-Route for WebSocket sides: minted per connection under a
 * per-process key, verified on the way back, never the sender's own connection.
 */
import { FlowTokens, forwardRequest, processRoute, type AdvertisedAddress } from '../../../node/proxy/index.js';
import { factory, request } from './fake-sip.js';

const key = Buffer.alloc(32, 7);

describe('FlowTokens', () => {
  const tokens = new FlowTokens(key);

  test('a minted token opens to its connection id; altered or foreign tokens do not', () => {
    const t = tokens.mint('42');
    expect(t).toMatch(/^ft42\.[0-9a-f]{16}$/);
    expect(tokens.open(t)).toBe('42');
    expect(tokens.open(t.replace('ft42', 'ft43'))).toBeNull();
    expect(tokens.open('alice')).toBeNull();
    expect(new FlowTokens(Buffer.alloc(32, 8)).open(t)).toBeNull();
  });

  test('pick takes the token of the entry facing the destination, never the connection the request came in on', () => {
    expect(tokens.pick(tokens.mint('9'), '7')).toBe('9');
    expect(tokens.pick(tokens.mint('7'), '7')).toBeUndefined();
    expect(tokens.pick('bob', null)).toBeUndefined();
    expect(tokens.pick(undefined, null)).toBeUndefined();
  });
});

describe('Record-Route with flow tokens', () => {
  const ws: AdvertisedAddress = { host: '192.0.2.1', port: 8088 };
  const udp: AdvertisedAddress = { host: '192.0.2.1', port: 5060 };
  const tokens = new FlowTokens(key);
  const spec = {
    recordRoute: true, advertised: udp, advertisedFor: (t: string) => (t.toUpperCase() === 'WS' ? ws : udp),
    loopHash: 'abcdef0123', branchSuffix: 's1', flowToken: (id: string) => tokens.mint(id),
  };
  const base = ['Max-Forwards: 70', 'From: <sip:alice@example.com>;tag=a1', 'To: <sip:bob@example.com>', 'Call-ID: c8', 'CSeq: 1 INVITE'];

  test('a WebSocket caller\'s side carries its connection\'s token; the UDP side none', () => {
    const inv = request('INVITE sip:bob@example.com', 'Via: SIP/2.0/WS df7jal23ls0d.invalid;branch=z9hG4bKuac', ...base);
    const fwd = forwardRequest(inv, { ...spec, inboundTransport: 'WS', inboundConnectionId: '12', targetUri: 'sip:bob@203.0.113.5' }, factory.copy)!;
    expect(fwd.request.headers.getAll('Record-Route')).toEqual(['<sip:192.0.2.1:5060;lr>', `<sip:${tokens.mint('12')}@192.0.2.1:8088;transport=ws;lr>`]);
  });

  test('a WebSocket callee reached over its registration connection gets that connection\'s token', () => {
    const inv = request('INVITE sip:bob@example.com', 'Via: SIP/2.0/UDP 198.51.100.7;branch=z9hG4bKuac', ...base);
    const fwd = forwardRequest(inv, {
      ...spec, inboundTransport: 'UDP', inboundConnectionId: null, targetUri: 'sip:bob@k2x.invalid;transport=ws',
      explicitNextHop: { host: 'k2x.invalid', port: 5060, transport: 'WS', connectionId: '31' },
    }, factory.copy)!;
    expect(fwd.request.headers.getAll('Record-Route')).toEqual([`<sip:${tokens.mint('31')}@192.0.2.1:8088;transport=ws;lr>`, '<sip:192.0.2.1:5060;lr>']);
  });

  test('Route processing pops our entries and reports the user part of the last one (the side the request heads to)', () => {
    const own = (host: string, port: number) => host === '192.0.2.1' && (port === 5060 || port === 8088);
    const bye = request('BYE sip:bob@k2x.invalid;transport=ws', 'Via: SIP/2.0/UDP 198.51.100.7;branch=z9hG4bKb1', 'Route: <sip:192.0.2.1:5060;lr>',
      `Route: <sip:${tokens.mint('31')}@192.0.2.1:8088;transport=ws;lr>`, ...base);
    const routing = processRoute(bye, own);
    expect(routing.poppedOwnRoutes).toBe(2);
    expect(routing.lastPoppedUser).toBe(tokens.mint('31'));
    const back = request('BYE sip:carol@198.51.100.7', 'Via: SIP/2.0/WS k2x.invalid;branch=z9hG4bKb2',
      `Route: <sip:${tokens.mint('31')}@192.0.2.1:8088;transport=ws;lr>`, 'Route: <sip:192.0.2.1:5060;lr>', ...base);
    expect(processRoute(back, own).lastPoppedUser).toBeUndefined();
    expect(bye.headers.get('Route')).toBeUndefined();
  });
});
