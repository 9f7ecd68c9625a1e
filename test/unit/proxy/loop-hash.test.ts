import { loopHash, loopHashOfBranch, makeBranch } from '../../../node/proxy/index.js';
import { request } from './fake-sip.js';

const base = ['From: <sip:alice@example.com>;tag=a1', 'To: <sip:bob@example.com>', 'Call-ID: call-1', 'CSeq: 7 INVITE'];

describe('§16.6 item 8 loop hash (non-cryptographic, computed per forwarded request)', () => {
  const h = loopHash(request('INVITE sip:bob@example.com', 'Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKa', ...base));

  test('ten lower-case hex digits that fit our branch format', () => {
    expect(h).toMatch(/^[0-9a-f]{10}$/);
    expect(loopHashOfBranch(makeBranch(h, 's1'))).toBe(h);
  });

  test('leaves out the top Via and Route (a looped request arrives from another hop)', () => {
    const again = request('INVITE sip:bob@example.com', 'Via: SIP/2.0/UDP 198.51.100.7;branch=z9hG4bKb', 'Route: <sip:p.example.com;lr>', ...base);
    expect(loopHash(again)).toBe(h);
  });

  test.each([
    ['Request-URI', 'INVITE sip:bob@10.9.9.9', base],
    ['From tag', 'INVITE sip:bob@example.com', ['From: <sip:alice@example.com>;tag=a2', ...base.slice(1)]],
    ['To tag', 'INVITE sip:bob@example.com', [base[0], 'To: <sip:bob@example.com>;tag=b1', ...base.slice(2)]],
    ['Call-ID', 'INVITE sip:bob@example.com', [...base.slice(0, 2), 'Call-ID: call-2', base[3]]],
    ['CSeq number', 'INVITE sip:bob@example.com', [...base.slice(0, 3), 'CSeq: 8 INVITE']],
    ['Proxy-Require', 'INVITE sip:bob@example.com', [...base, 'Proxy-Require: foo']],
    ['Proxy-Authorization', 'INVITE sip:bob@example.com', [...base, 'Proxy-Authorization: Digest username="a"']],
  ])('changes with the %s', (_what, line, headers) => {
    expect(loopHash(request(line, 'Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKa', ...headers))).not.toBe(h);
  });

  test('field boundaries matter: ("ab","c") and ("a","bc") differ', () => {
    const a = loopHash(request('INVITE sip:bob@example.com', 'Via: SIP/2.0/UDP h;branch=z9hG4bKa', 'From: <sip:a@x>;tag=ab', 'To: <sip:b@x>', 'Call-ID: c', 'CSeq: 1 INVITE'));
    const b = loopHash(request('INVITE sip:bob@example.com', 'Via: SIP/2.0/UDP h;branch=z9hG4bKa', 'From: <sip:a@x>;tag=a', 'To: <sip:b@x>;tag=b', 'Call-ID: c', 'CSeq: 1 INVITE'));
    expect(a).not.toBe(b);
  });
});
