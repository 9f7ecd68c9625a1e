// The transaction layer over real node/sip messages: parsed bytes in, serialized bytes out.
import { SipRequest, SipResponse, parseMessage, serialize } from '../../../node/sip/index.js';
import {
  InviteClientTransaction,
  InviteServerTransaction,
  TransactionManager,
  sipMessageFactory,
  sipMessageOf,
  timerConfig,
  viewOf,
  type MessageView,
  type TransactionUser,
} from '../../../node/transaction/index.js';

const CRLF = '\r\n';
const bytes = (lines: string[], body = '') => Buffer.from(lines.join(CRLF) + CRLF + CRLF + body);

const INVITE = bytes([
  'INVITE sip:bob@biloxi.example.com SIP/2.0',
  'Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bKnashds8',
  'Via: SIP/2.0/UDP uac.atlanta.example.com;branch=z9hG4bK-first',
  'Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>',
  'Max-Forwards: 70',
  'To: Bob <sip:bob@biloxi.example.com>',
  'From: Alice <sip:alice@atlanta.example.com>;tag=1928301774',
  'Call-ID: a84b4c76e66710@pc33.atlanta.example.com',
  'CSeq: 314159 INVITE',
  'Contact: <sip:alice@pc33.atlanta.example.com>',
  'Timestamp: 54',
  'Content-Type: application/sdp',
  'Content-Length: 4',
], 'v=0\n');

const BUSY = bytes([
  'SIP/2.0 486 Busy Here',
  'Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bKnashds8',
  'Via: SIP/2.0/UDP uac.atlanta.example.com;branch=z9hG4bK-first',
  'To: Bob <sip:bob@biloxi.example.com>;tag=a6c85cf',
  'From: Alice <sip:alice@atlanta.example.com>;tag=1928301774',
  'Call-ID: a84b4c76e66710@pc33.atlanta.example.com',
  'CSeq: 314159 INVITE',
  'Content-Length: 0',
]);

function parseRequest(buf: Buffer): SipRequest {
  const m = parseMessage(buf);
  if (!m.isRequest) throw new Error('expected a request');
  return m;
}

function parseResponse(buf: Buffer): SipResponse {
  const m = parseMessage(buf);
  if (m.isRequest) throw new Error('expected a response');
  return m;
}

test('view of a parsed INVITE exposes the §17 match fields', () => {
  const v = viewOf(parseRequest(INVITE));
  expect(v.method).toBe('INVITE');
  expect(v.topVia).toMatchObject({ branch: 'z9hG4bKnashds8', host: 'pc33.atlanta.example.com', port: 5060, transport: 'UDP' });
  expect(v.callId).toBe('a84b4c76e66710@pc33.atlanta.example.com');
  expect(v.cseq).toEqual({ seq: 314159, method: 'INVITE' });
  expect(v.fromTag).toBe('1928301774');
  expect(v.toTag).toBeUndefined();
});

test('RFC 3261 §17.1.1.3: the non-2xx ACK built from real INVITE and 486 bytes', () => {
  const invite = viewOf(parseRequest(INVITE));
  const tx = new InviteClientTransaction(invite, false, timerConfig(), sipMessageFactory);
  tx.start(0);
  const actions = tx.onResponse(viewOf(parseResponse(BUSY)), 100);
  expect(actions.map((a) => a.kind)).toEqual(['send', 'response']);
  const generated = tx.generatedAck;
  expect(generated).toBeDefined();
  // Round-trip the generated ACK through the wire format.
  const wire = serialize(sipMessageOf(generated as MessageView));
  const ack = parseRequest(wire);
  expect(ack.method).toBe('ACK');
  expect(ack.uri).toBe('sip:bob@biloxi.example.com');
  expect(ack.headers.getAll('Via')).toEqual(['SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bKnashds8']);
  expect(ack.headers.getAll('Route')).toEqual(['<sip:p1.example.com;lr>', '<sip:p2.example.com;lr>']);
  expect(ack.headers.get('From')).toBe('Alice <sip:alice@atlanta.example.com>;tag=1928301774');
  expect(ack.headers.get('To')).toBe('Bob <sip:bob@biloxi.example.com>;tag=a6c85cf');
  expect(ack.callId()).toBe('a84b4c76e66710@pc33.atlanta.example.com');
  expect(ack.cseq()).toEqual({ seq: 314159, method: 'ACK' });
  expect(ack.maxForwards()).toBe(70);
  expect(ack.headers.has('Contact')).toBe(false);
  expect(ack.body.length).toBe(0);
  expect(ack.contentLength()).toBe(0);
});

test('the 100 Trying of an IST serializes with the copied Vias, Timestamp and no To tag', () => {
  const tx = new InviteServerTransaction(viewOf(parseRequest(INVITE)), false, timerConfig(), sipMessageFactory);
  tx.start(0);
  const [send] = tx.advance(200);
  expect(send.kind).toBe('send');
  const trying = parseResponse(serialize(sipMessageOf((send as { message: MessageView }).message)));
  expect(trying.status).toBe(100);
  expect(trying.reason).toBe('Trying');
  expect(trying.headers.getAll('Via')).toHaveLength(2);
  expect(trying.headers.get('Timestamp')).toBe('54');
  expect(trying.headers.get('To')).toBe('Bob <sip:bob@biloxi.example.com>');
  expect(trying.cseq()).toEqual({ seq: 314159, method: 'INVITE' });
});

/** A manager over UDP whose transport serializes into `sent`; TU callbacks default to no-ops. */
function udpManager(sent: Buffer[], tu: Partial<TransactionUser<string>>): TransactionManager<string> {
  return new TransactionManager<string>({
    config: timerConfig(),
    factory: sipMessageFactory,
    isReliable: () => false,
    transport: { send: (m) => sent.push(serialize(sipMessageOf(m))) },
    tu: {
      request: () => undefined,
      response: () => undefined,
      ack: () => undefined,
      strayResponse: () => undefined,
      timeout: () => undefined,
      transportError: () => undefined,
      ...tu,
    },
  });
}

test('manager over parsed bytes: retransmitted INVITE absorbed, CANCEL finds it, ACK matched', () => {
  const sent: Buffer[] = [];
  const requests: string[] = [];
  const mgr = udpManager(sent, {
    request: (_tx, req) => void requests.push(req.method),
    ack: () => void requests.push('stray ACK'),
  });
  const src = 'udp:192.0.2.1:5060';
  mgr.onInbound(viewOf(parseRequest(INVITE)), src, 0);
  mgr.onInbound(viewOf(parseRequest(INVITE)), src, 100);
  const cancel = viewOf(parseRequest(bytes([
    'CANCEL sip:bob@biloxi.example.com SIP/2.0',
    'Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bKnashds8',
    'Max-Forwards: 70',
    'To: Bob <sip:bob@biloxi.example.com>',
    'From: Alice <sip:alice@atlanta.example.com>;tag=1928301774',
    'Call-ID: a84b4c76e66710@pc33.atlanta.example.com',
    'CSeq: 314159 CANCEL',
    'Content-Length: 0',
  ])));
  mgr.onInbound(cancel, src, 150);
  expect(requests).toEqual(['INVITE', 'CANCEL']);
  const ist = mgr.findCancelTarget(cancel);
  expect(ist?.machine.request.method).toBe('INVITE');
  mgr.advance(200);
  expect(parseResponse(sent[0]).status).toBe(100);
  mgr.respond(ist!, viewOf(parseResponse(BUSY)), 300);
  expect(parseResponse(sent[1]).status).toBe(486);
  // The ACK an RFC 3261 UAC sends for the 486: same branch → absorbed by the IST.
  const ack = viewOf(parseRequest(bytes([
    'ACK sip:bob@biloxi.example.com SIP/2.0',
    'Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bKnashds8',
    'Max-Forwards: 70',
    'To: Bob <sip:bob@biloxi.example.com>;tag=a6c85cf',
    'From: Alice <sip:alice@atlanta.example.com>;tag=1928301774',
    'Call-ID: a84b4c76e66710@pc33.atlanta.example.com',
    'CSeq: 314159 ACK',
    'Content-Length: 0',
  ])));
  mgr.onInbound(ack, src, 400);
  expect(ist?.machine.state).toBe('confirmed');
  expect(requests).toEqual(['INVITE', 'CANCEL']);
});

test('a message missing a header §17 needs fails in the adapter with SipParseError', () => {
  const noCallId = bytes([
    'OPTIONS sip:x@example.com SIP/2.0',
    'Via: SIP/2.0/UDP h.example.com;branch=z9hG4bK-1',
    'To: <sip:x@example.com>',
    'From: <sip:y@example.com>;tag=1',
    'CSeq: 1 OPTIONS',
    'Content-Length: 0',
  ]);
  // The parser is lazy: the missing Call-ID is only noticed when the view reads it.
  const parsed = parseRequest(noCallId);
  expect(() => viewOf(parsed)).toThrow(expect.objectContaining({ name: 'SipParseError' }));
});

describe('a finished server transaction keeps only what matching and resending need', () => {
  const wire = Buffer.from(
    'REGISTER sip:registrar.example.com SIP/2.0\r\n' +
      'Via: SIP/2.0/UDP 192.0.2.4:5060;branch=z9hG4bKnashds7\r\n' +
      'Max-Forwards: 70\r\n' +
      'To: Bob <sip:bob@example.com>\r\n' +
      'From: Bob <sip:bob@example.com>;tag=456248\r\n' +
      'Call-ID: 843817637684230@998sdasdh09\r\n' +
      'CSeq: 1826 REGISTER\r\n' +
      'Contact: <sip:bob@192.0.2.4>\r\n' +
      'Expires: 7200\r\n' +
      'Content-Length: 0\r\n\r\n',
  );

  test('the request view drops every header but the match fields, its view fields unchanged', () => {
    const view = viewOf(parseMessage(wire) as SipRequest);
    const before = { method: view.method, uri: view.uri, callId: view.callId, cseq: view.cseq, fromTag: view.fromTag, branch: view.topVia.branch };
    view.releaseParsed();
    expect({ method: view.method, uri: view.uri, callId: view.callId, cseq: view.cseq, fromTag: view.fromTag, branch: view.topVia.branch }).toEqual(before);
    expect(view.headerValues('Contact')).toEqual([]);
    expect(view.headerValues('Call-ID')).toEqual(['843817637684230@998sdasdh09']);
    expect(view.message.from().params.get('tag')).toBe('456248');
    // Nothing points into the received datagram any more, so it can be collected.
    expect(view.message.headers.list().every((f) => f.src === null)).toBe(true);
    expect(view.message.origin).toBeNull();
  });

  test('a sent response is kept as its bytes and parsed back identically when resent', () => {
    const req = parseMessage(wire) as SipRequest;
    const res = new SipResponse(200, 'OK', 'SIP/2.0', req.headers.clone());
    res.headers.set('To', 'Bob <sip:bob@example.com>;tag=2493k59kd');
    const view = viewOf(res);
    const bytes = serialize(res);
    view.noteSent(bytes);
    view.releaseParsed();
    // Kept as a copy outside Node's shared 8 KiB pool: a pooled slice would pin that slab for 64·T1.
    expect(view.wire?.equals(bytes)).toBe(true);
    expect(view.wire?.buffer).not.toBe(bytes.buffer);
    expect(view.message).not.toBe(res);
    expect(view.message.status).toBe(200);
    expect(view.message.to().params.get('tag')).toBe('2493k59kd');
    expect(serialize(view.message).equals(bytes)).toBe(true);
  });

  test('a response never sent keeps its message (only the parse cache goes)', () => {
    const res = new SipResponse(486, 'Busy Here', 'SIP/2.0', (parseMessage(wire) as SipRequest).headers.clone());
    const view = viewOf(res);
    view.releaseParsed();
    expect(view.message).toBe(res);
    expect(view.wire).toBeNull();
  });
});

test('a client transaction releases the request it sent once its final response arrives (only the match copy stays)', () => {
  const sent: Buffer[] = [];
  const finals: number[] = [];
  const mgr = udpManager(sent, { response: (_tx, res) => void finals.push(res.status) });
  const invite = viewOf(parseRequest(INVITE));
  const tx = mgr.sendRequest(invite, 'udp:192.0.2.9:5060', 0);
  expect(tx).toBeDefined();
  expect(invite.message.headers.get('Max-Forwards')).toBe('70');
  mgr.onInbound(viewOf(parseResponse(BUSY)), 'udp:192.0.2.9:5060', 10);
  expect(finals).toEqual([486]);
  // The ACK for the 486 went out, built while the request was whole (§17.1.1.3).
  expect(sent.map((b) => b.toString('latin1').split(' ')[0])).toEqual(['INVITE', 'ACK']);
  expect(invite.message.headers.get('Max-Forwards')).toBeUndefined();
  expect(invite.message.headers.get('Call-ID')).toBe('a84b4c76e66710@pc33.atlanta.example.com');
  expect(invite.topVia.branch).toBe('z9hG4bKnashds8');
  // A retransmitted 486 is still absorbed and re-ACKed from Completed.
  mgr.onInbound(viewOf(parseResponse(BUSY)), 'udp:192.0.2.9:5060', 20);
  expect(finals).toEqual([486]);
  expect(sent).toHaveLength(3);
});

test('an INVITE server transaction in Accepted keeps neither the request nor the 2xx (RFC 6026: the TU resends it)', () => {
  const sent: Buffer[] = [];
  const mgr = udpManager(sent, {});
  const src = 'udp:192.0.2.1:5060';
  const invite = viewOf(parseRequest(INVITE));
  mgr.onInbound(invite, src, 0);
  const ist = mgr.findCancelTarget(invite);
  const ok = BUSY.toString().replace('486 Busy Here', '200 OK');
  mgr.respond(ist!, viewOf(parseResponse(Buffer.from(ok))), 10);
  expect(ist?.machine.state).toBe('accepted');
  expect((ist?.machine as InviteServerTransaction).lastResponse).toBeUndefined();
  expect(ist?.machine.request.topVia.branch).toBe('z9hG4bKnashds8');
  // A retransmitted INVITE is absorbed in Accepted: nothing is resent.
  mgr.onInbound(viewOf(parseRequest(INVITE)), src, 20);
  expect(sent.map((b) => parseResponse(b).status)).toEqual([200]);
});
