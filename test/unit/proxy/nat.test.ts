// NAT detection and the fix-ups behind nat.fix_contact / nat.fix_register (node/proxy/nat.ts).
import { ProxyRequestContext, fixNatedContact, isPrivateAddress, natDetected, natHop } from '../../../node/proxy/index.js';
import { parseMessage, type SipRequest, type SipResponse } from '../../../node/sip/index.js';

const udp = (address: string, port: number) => ({ transport: 'udp', address, port });
const tcp = (address: string, port: number) => ({ transport: 'tcp', address, port });

function request(method: string, contact: string | null): SipRequest {
  return parseMessage(
    Buffer.from(
      `${method} sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.168.1.10:5060;branch=z9hG4bK1\r\nMax-Forwards: 70\r\n` +
        `From: <sip:alice@example.com>;tag=a\r\nTo: <sip:bob@example.com>\r\nCall-ID: n1\r\nCSeq: 1 ${method}\r\n` +
        `${contact === null ? '' : `Contact: ${contact}\r\n`}Content-Length: 0\r\n\r\n`,
    ),
  ) as SipRequest;
}

describe('isPrivateAddress', () => {
  test('RFC 1918, RFC 6598, link-local, IPv6 unique local and link-local; not public or loopback', () => {
    for (const a of ['10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.0.1', '100.64.0.1', '100.127.1.1', '169.254.1.1', 'fd00::1', 'fc12::1', 'fe80::1', '::ffff:192.168.1.1']) {
      expect([a, isPrivateAddress(a)]).toEqual([a, true]);
    }
    for (const a of ['8.8.8.8', '172.32.0.1', '100.128.0.1', '127.0.0.1', '2001:db8::1', 'example.com']) expect([a, isPrivateAddress(a)]).toEqual([a, false]);
  });
});

describe('natDetected', () => {
  test('UDP: an IP Contact other than the source address or port (5060 when the Contact names none)', () => {
    expect(natDetected('192.168.1.10', 5060, udp('203.0.113.5', 40000))).toBe(true);
    expect(natDetected('203.0.113.5', 5060, udp('203.0.113.5', 40000))).toBe(true);
    expect(natDetected('203.0.113.5', undefined, udp('203.0.113.5', 5060))).toBe(false);
    expect(natDetected('203.0.113.5', 40000, udp('::ffff:203.0.113.5', 40000))).toBe(false);
    expect(natDetected('[2001:db8::1]', 5060, udp('2001:DB8::1', 5060))).toBe(false);
  });

  test('TCP/TLS: only a private Contact seen from another address (the source port is ephemeral)', () => {
    expect(natDetected('192.168.1.10', 5060, tcp('203.0.113.5', 40000))).toBe(true);
    expect(natDetected('198.51.100.7', 5060, tcp('203.0.113.5', 40000))).toBe(false);
    expect(natDetected('192.168.1.10', 5060, tcp('192.168.1.10', 40000))).toBe(false);
  });

  test('a host-name Contact, and WebSocket clients, are never NATed', () => {
    expect(natDetected('phone.example.com', 5060, udp('203.0.113.5', 40000))).toBe(false);
    expect(natDetected('192.168.1.10', 5060, { transport: 'ws', address: '203.0.113.5', port: 40000 })).toBe(false);
  });
});

describe('fixNatedContact', () => {
  test('rewrites host and port to the source, keeping display name, user, URI and header parameters', () => {
    const req = request('INVITE', '"Alice" <sip:alice@192.168.1.10:5062;transport=udp;ob>;expires=60;+sip.instance="<urn:uuid:1>"');
    expect(fixNatedContact(req, udp('203.0.113.5', 40000))).toBe(true);
    expect(req.headers.get('Contact')).toBe('"Alice" <sip:alice@203.0.113.5:40000;transport=udp;ob>;expires=60;+sip.instance="<urn:uuid:1>"');
    // Derived views follow the new header.
    const contacts = req.contacts();
    expect(contacts !== '*' && contacts[0].uri).toBe('sip:alice@203.0.113.5:40000;transport=udp;ob');
  });

  test('an IPv6 source is written as a reference; an IPv4-mapped one as IPv4', () => {
    const v6 = request('SUBSCRIBE', '<sip:alice@[fd00::5]:5060>');
    expect(fixNatedContact(v6, udp('2001:db8::7', 6000))).toBe(true);
    expect(v6.headers.get('Contact')).toBe('<sip:alice@[2001:db8::7]:6000>');
    const mapped = request('INVITE', '<sip:alice@10.0.0.2>');
    expect(fixNatedContact(mapped, udp('::ffff:198.51.100.1', 7000))).toBe(true);
    expect(mapped.headers.get('Contact')).toBe('<sip:alice@198.51.100.1:7000>');
  });

  test('leaves alone: a reachable Contact, REGISTER, Contact lists, *, none, a tel: URI, a host name', () => {
    const src = udp('203.0.113.5', 40000);
    const cases: [string, string | null][] = [
      ['INVITE', '<sip:alice@203.0.113.5:40000>'],
      ['REGISTER', '<sip:alice@192.168.1.10:5060>'],
      ['INVITE', '<sip:a@192.168.1.10>, <sip:b@192.168.1.11>'],
      ['INVITE', '*'],
      ['INVITE', null],
      ['INVITE', '<tel:+15551234>'],
      ['INVITE', '<sip:alice@phone.example.com:5060>'],
    ];
    for (const [method, contact] of cases) {
      const req = request(method, contact);
      const before = req.headers.getAll('Contact');
      expect([contact, fixNatedContact(req, src)]).toEqual([contact, false]);
      expect(req.headers.getAll('Contact')).toEqual(before);
    }
  });

  test('a response Contact is fixed the same way', () => {
    const res = parseMessage(
      Buffer.from(
        'SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 198.51.100.1:5060;branch=z9hG4bK1\r\nFrom: <sip:a@example.com>;tag=a\r\nTo: <sip:b@example.com>;tag=b\r\n' +
          'Call-ID: n2\r\nCSeq: 1 INVITE\r\nContact: <sip:bob@192.168.7.7:5060>\r\nContent-Length: 0\r\n\r\n',
      ),
    ) as SipResponse;
    expect(fixNatedContact(res, udp('203.0.113.9', 41000))).toBe(true);
    expect(res.headers.get('Contact')).toBe('<sip:bob@203.0.113.9:41000>');
  });
});

describe('natHop', () => {
  test('a UDP binding whose IP contact is not where it registered from is sent to that source', () => {
    expect(natHop('sip:alice@192.168.1.10:5060', udp('203.0.113.5', 40000))).toEqual({ transport: 'UDP', host: '203.0.113.5', port: 40000 });
    expect(natHop('sip:alice@192.168.1.10;transport=udp', udp('::ffff:203.0.113.5', 40000))).toEqual({ transport: 'UDP', host: '203.0.113.5', port: 40000 });
  });

  test('none for a reachable contact, a stream flow, another transport, sips, a host name, no flow', () => {
    expect(natHop('sip:alice@203.0.113.5:40000', udp('203.0.113.5', 40000))).toBeUndefined();
    expect(natHop('sip:alice@192.168.1.10:5060', tcp('203.0.113.5', 40000))).toBeUndefined();
    expect(natHop('sip:alice@192.168.1.10:5060;transport=tcp', udp('203.0.113.5', 40000))).toBeUndefined();
    expect(natHop('sips:alice@192.168.1.10:5061', udp('203.0.113.5', 40000))).toBeUndefined();
    expect(natHop('sip:alice@phone.example.com', udp('203.0.113.5', 40000))).toBeUndefined();
    expect(natHop('sip:alice@192.168.1.10', null)).toBeUndefined();
  });
});

describe('request.fixNatedContact() (the script API)', () => {
  test('fixes the request it was called on, from its source', () => {
    const req = request('INVITE', '<sip:alice@192.168.1.10:5060>');
    const ctx = new ProxyRequestContext(
      req,
      { transport: 'udp', address: '203.0.113.5', port: 40000 },
      { strictFixup: false, poppedOwnRoutes: 0, lastPoppedUser: undefined },
      { reply: () => undefined, replyWith: () => undefined, fork: () => undefined, recordRouteDefault: false },
    );
    expect(ctx.fixNatedContact()).toBe(true);
    expect(ctx.header('Contact')).toBe('<sip:alice@203.0.113.5:40000>');
    expect(ctx.fixNatedContact()).toBe(false);
  });
});
