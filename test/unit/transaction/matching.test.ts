// RFC 3261 §17.1.3 / §17.2.3 transaction matching, including the RFC 2543 fallback.
import {
  clientKeyOfRequest,
  clientKeyOfResponse,
  isRfc3261Branch,
  legacyAckKey,
  serverKey,
  serverKeyAs,
  usesLegacyMatching,
} from '../../../node/transaction/index.js';
import { request, response } from './views.js';

describe('§17.1.3 client matching: branch + CSeq method', () => {
  test('a response matches the request with the same top-Via branch and method', () => {
    const invite = request('INVITE', { branch: 'z9hG4bK-a' });
    expect(clientKeyOfResponse(response(invite, 180))).toBe(clientKeyOfRequest(invite));
  });

  test('a CANCEL shares the INVITE branch but is a different client transaction', () => {
    const invite = request('INVITE', { branch: 'z9hG4bK-a' });
    const cancel = request('CANCEL', { branch: 'z9hG4bK-a' });
    expect(clientKeyOfRequest(cancel)).not.toBe(clientKeyOfRequest(invite));
    expect(clientKeyOfResponse(response(cancel, 200))).toBe(clientKeyOfRequest(cancel));
  });

  test('a different branch does not match; a response without a branch matches nothing', () => {
    const invite = request('INVITE', { branch: 'z9hG4bK-a' });
    expect(clientKeyOfResponse(response(request('INVITE', { branch: 'z9hG4bK-b' }), 200))).not.toBe(clientKeyOfRequest(invite));
    const noBranch = request('INVITE', { branch: '' });
    expect(clientKeyOfResponse({ ...response(noBranch, 200), topVia: undefined })).toBeUndefined();
  });
});

describe('§17.2.3 server matching with the magic cookie', () => {
  test('retransmissions match; branch, sent-by and method all count', () => {
    const a = request('INVITE', { branch: 'z9hG4bK-x', sentBy: 'Client.Example.com:5060' });
    expect(serverKey(request('INVITE', { branch: 'z9hG4bK-x', sentBy: 'client.example.com:5060' }))).toBe(serverKey(a));
    expect(serverKey(request('INVITE', { branch: 'z9hG4bK-y', sentBy: 'client.example.com:5060' }))).not.toBe(serverKey(a));
    expect(serverKey(request('INVITE', { branch: 'z9hG4bK-x', sentBy: 'other.example.com:5060' }))).not.toBe(serverKey(a));
    expect(serverKey(request('INVITE', { branch: 'z9hG4bK-x', sentBy: 'client.example.com:5070' }))).not.toBe(serverKey(a));
    expect(serverKey(request('OPTIONS', { branch: 'z9hG4bK-x', sentBy: 'client.example.com:5060' }))).not.toBe(serverKey(a));
  });

  test('the ACK for a non-2xx (same branch) matches the INVITE; a CANCEL does not', () => {
    const invite = request('INVITE', { branch: 'z9hG4bK-x' });
    expect(serverKey(request('ACK', { branch: 'z9hG4bK-x', toTag: 't' }))).toBe(serverKey(invite));
    const cancel = request('CANCEL', { branch: 'z9hG4bK-x' });
    expect(serverKey(cancel)).not.toBe(serverKey(invite));
    // §9.2: the CANCEL finds its INVITE with the method left out of the comparison.
    expect(serverKeyAs(cancel, 'INVITE')).toBe(serverKey(invite));
  });

  test('the ACK for a 2xx carries a new branch and does not match the INVITE', () => {
    const invite = request('INVITE', { branch: 'z9hG4bK-x' });
    expect(serverKey(request('ACK', { branch: 'z9hG4bK-new', toTag: 't' }))).not.toBe(serverKey(invite));
  });
});

describe('RFC 2543 fallback (§17.2.3) when the branch lacks z9hG4bK', () => {
  test('the cookie decides which rules apply', () => {
    expect(isRfc3261Branch('z9hG4bK776asdhds')).toBe(true);
    expect(isRfc3261Branch('776asdhds')).toBe(false);
    expect(isRfc3261Branch('z9hG4bK')).toBe(false);
    expect(isRfc3261Branch(undefined)).toBe(false);
    expect(usesLegacyMatching(request('INVITE', { branch: 'old-1' }))).toBe(true);
  });

  test('Request-URI, From tag, To tag, Call-ID, CSeq and top Via must all equal', () => {
    const base = { branch: 'old-1', callId: 'c1', cseq: 7, fromTag: 'f', uri: 'sip:bob@example.com' };
    const k = serverKey(request('INVITE', base));
    expect(serverKey(request('INVITE', base))).toBe(k);
    expect(serverKey(request('INVITE', { ...base, uri: 'sip:carol@example.com' }))).not.toBe(k);
    expect(serverKey(request('INVITE', { ...base, fromTag: 'g' }))).not.toBe(k);
    expect(serverKey(request('INVITE', { ...base, toTag: 'x' }))).not.toBe(k);
    expect(serverKey(request('INVITE', { ...base, callId: 'c2' }))).not.toBe(k);
    expect(serverKey(request('INVITE', { ...base, cseq: 8 }))).not.toBe(k);
    expect(serverKey(request('INVITE', { ...base, branch: 'old-2' }))).not.toBe(k);
    expect(serverKey(request('BYE', base))).not.toBe(k);
  });

  test('the ACK matches on the INVITE fields minus the To tag; CANCEL finds its INVITE', () => {
    const base = { branch: 'old-1', callId: 'c1', cseq: 7 };
    const invite = request('INVITE', base);
    expect(legacyAckKey(request('ACK', { ...base, toTag: 'server-tag' }))).toBe(legacyAckKey(invite));
    expect(legacyAckKey(request('ACK', { ...base, cseq: 8, toTag: 'server-tag' }))).not.toBe(legacyAckKey(invite));
    expect(serverKeyAs(request('CANCEL', base), 'INVITE')).toBe(serverKey(invite));
  });
});
