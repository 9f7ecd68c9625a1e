// RFC 3261 §17.1.1 + RFC 6026 INVITE client transaction, traced under an injected clock.
import { InviteClientTransaction, timerConfig } from '../../../node/transaction/index.js';
import { at, factory, request, response, runTimers } from './views.js';

const config = timerConfig();

function ict(reliable = false, cfg = config, invite = request('INVITE')) {
  return new InviteClientTransaction(invite, reliable, cfg, factory);
}

describe('RFC 3261 §17.1.1.2 Timer A / Timer B over UDP', () => {
  test('Timer A doubles from T1 and is capped at T2; Timer B at 64*T1 times out', () => {
    const tx = ict();
    const trace = [...at(0, tx.start(0)), ...runTimers(tx, 40_000)];
    expect(trace).toEqual([
      't=0 send INVITE',
      't=500 retransmit INVITE',
      't=1500 retransmit INVITE',
      't=3500 retransmit INVITE',
      't=7500 retransmit INVITE',
      't=11500 retransmit INVITE',
      't=15500 retransmit INVITE',
      't=19500 retransmit INVITE',
      't=23500 retransmit INVITE',
      't=27500 retransmit INVITE',
      't=31500 retransmit INVITE',
      't=32000 timeout B',
      't=32000 terminated',
    ]);
    expect(tx.state).toBe('terminated');
    expect(tx.nextDeadline()).toBeUndefined();
  });

  test('without the T2 cap Timer A doubles as RFC 3261 writes it', () => {
    const tx = ict(false, timerConfig({ capTimerAAtT2: false }));
    expect([...at(0, tx.start(0)), ...runTimers(tx, 40_000)]).toEqual([
      't=0 send INVITE',
      't=500 retransmit INVITE',
      't=1500 retransmit INVITE',
      't=3500 retransmit INVITE',
      't=7500 retransmit INVITE',
      't=15500 retransmit INVITE',
      't=31500 retransmit INVITE',
      't=32000 timeout B',
      't=32000 terminated',
    ]);
  });

  test('T1, T2 and transaction.timeout_secs are configurable', () => {
    const tx = ict(false, timerConfig({ t1Ms: 100, t2Ms: 300, timeoutSecs: 1 }));
    expect([...at(0, tx.start(0)), ...runTimers(tx, 2000)]).toEqual([
      't=0 send INVITE',
      't=100 retransmit INVITE',
      't=300 retransmit INVITE',
      't=600 retransmit INVITE',
      't=900 retransmit INVITE',
      't=1000 timeout B',
      't=1000 terminated',
    ]);
  });

  test('a late advance fires each due timer once, in deadline order', () => {
    const tx = ict();
    tx.start(0);
    // The shell was stalled until after Timer B: one retransmission, then the timeout.
    expect(at(33_000, tx.advance(33_000))).toEqual(['t=33000 retransmit INVITE', 't=33000 timeout B', 't=33000 terminated']);
  });
});

describe('over TCP (reliable)', () => {
  test('no Timer A; Timer B still times out', () => {
    const tx = ict(true);
    expect([...at(0, tx.start(0)), ...runTimers(tx, 40_000)]).toEqual([
      't=0 send INVITE',
      't=32000 timeout B',
      't=32000 terminated',
    ]);
  });

  test('3xx-6xx: ACK generated and Timer D is zero', () => {
    const tx = ict(true);
    tx.start(0);
    expect(at(100, tx.onResponse(response(tx.request, 486, 'uas'), 100))).toEqual([
      't=100 send ACK',
      't=100 TU 486',
      't=100 terminated',
    ]);
  });
});

describe('provisional responses (Proceeding)', () => {
  test('a 1xx cancels Timer A and Timer B; Proceeding has no retransmissions', () => {
    const tx = ict();
    const trace = [...at(0, tx.start(0)), ...runTimers(tx, 1000)];
    trace.push(...at(1200, tx.onResponse(response(tx.request, 100), 1200)));
    trace.push(...at(1300, tx.onResponse(response(tx.request, 180, 'uas'), 1300)));
    expect(tx.state).toBe('proceeding');
    expect([...tx.timerDeadlines().keys()]).toEqual(['C']);
    trace.push(...runTimers(tx, 60_000));
    expect(trace).toEqual(['t=0 send INVITE', 't=500 retransmit INVITE', 't=1200 TU 100', 't=1300 TU 180']);
  });

  test('Timer C (invite_timeout_secs) is reset by 101-199, not by 100, then bounds the cancel wait', () => {
    const tx = ict(false, timerConfig({ inviteTimeoutSecs: 10 }));
    tx.start(0);
    tx.onResponse(response(tx.request, 100), 100);
    expect(tx.timerDeadlines().get('C')).toBe(10_000);
    tx.onResponse(response(tx.request, 183, 'uas'), 4000);
    expect(tx.timerDeadlines().get('C')).toBe(14_000);
    // RFC 3261 §16.8: C fires after a provisional → the TU must CANCEL; the 487 still completes.
    expect(runTimers(tx, 14_000)).toEqual(['t=14000 timeout C']);
    expect(tx.state).toBe('proceeding');
    expect(at(14_500, tx.onResponse(response(tx.request, 487, 'uas'), 14_500))).toEqual(['t=14500 send ACK', 't=14500 TU 487']);
  });

  test('Timer C without any answer: timeout and the transaction ends; silence after C ends it too', () => {
    const early = ict(false, timerConfig({ inviteTimeoutSecs: 5 }));
    early.start(0);
    expect(runTimers(early, 5000).slice(-2)).toEqual(['t=5000 timeout C', 't=5000 terminated']);
    const silent = ict(true, timerConfig({ inviteTimeoutSecs: 5 }));
    silent.start(0);
    silent.onResponse(response(silent.request, 180, 'uas'), 10);
    expect(runTimers(silent, 60_000)).toEqual(['t=5010 timeout C', 't=37010 timeout cancelled', 't=37010 terminated']);
  });
});

test('clientTimerC: false leaves Timer C to the TU; a guard 64*T1 later still bounds the wait', () => {
  const tx = ict(true, timerConfig({ inviteTimeoutSecs: 5, clientTimerC: false }));
  tx.start(0);
  tx.onResponse(response(tx.request, 180, 'uas'), 10);
  expect([...tx.timerDeadlines().keys()]).toEqual(['Guard']);
  expect(runTimers(tx, 600_000)).toEqual(['t=37010 timeout unanswered', 't=37010 terminated']);
});

test('RFC 3261 §9.1: after a CANCEL the INVITE waits 64*T1 for its final, then gives up and tells the TU', () => {
  const tx = ict(true);
  tx.start(0);
  tx.onResponse(response(tx.request, 180, 'uas'), 10);
  tx.cancelSent(1000);
  expect(runTimers(tx, 600_000)).toEqual(['t=33000 timeout cancelled', 't=33000 terminated']);
});

test('RFC 3261 §9.1: a 487 inside the 64*T1 wait completes as usual, and nothing times out later', () => {
  const tx = ict(false);
  tx.start(0);
  tx.onResponse(response(tx.request, 180, 'uas'), 10);
  tx.cancelSent(1000);
  expect(at(20_000, tx.onResponse(response(tx.request, 487, 'uas'), 20_000))).toEqual(['t=20000 send ACK', 't=20000 TU 487']);
  expect(runTimers(tx, 600_000)).toEqual(['t=52000 terminated']);
});

describe('RFC 3261 §17.1.1.3 non-2xx final response over UDP', () => {
  test('ACK generated, Timer D 32 s, retransmitted finals re-ACKed and not passed up', () => {
    const tx = ict();
    tx.start(0);
    const final = response(tx.request, 486, 'uas', 'Busy Here');
    const trace = at(700, tx.onResponse(final, 700));
    expect(tx.state).toBe('completed');
    trace.push(...at(1200, tx.onResponse(final, 1200)));
    trace.push(...at(1300, tx.onResponse(response(tx.request, 180, 'uas'), 1300)));
    trace.push(...runTimers(tx, 60_000));
    expect(trace).toEqual([
      't=700 send ACK',
      't=700 TU 486',
      't=1200 retransmit ACK',
      't=32700 terminated',
    ]);
  });

  test('the ACK copies R-URI, Call-ID, From, CSeq number, top Via only, Route, and To from the response', () => {
    const invite = request('INVITE', {
      uri: 'sip:bob@biloxi.example.com;transport=udp',
      cseq: 314,
      routes: ['<sip:p1.example.com;lr>', '<sip:p2.example.com;lr>'],
      extraVias: ['SIP/2.0/UDP upstream.example.com;branch=z9hG4bK-up'],
      branch: 'z9hG4bK-ict',
    });
    const tx = ict(false, config, invite);
    tx.start(0);
    tx.onResponse(response(invite, 404, 'uas-tag'), 10);
    const ack = tx.generatedAck;
    expect(ack).toBeDefined();
    expect(ack?.method).toBe('ACK');
    expect(ack?.uri).toBe('sip:bob@biloxi.example.com;transport=udp');
    expect(ack?.headerValues('Via')).toEqual([invite.topVia.raw]);
    expect(ack?.topVia.branch).toBe('z9hG4bK-ict');
    expect(ack?.headerValues('Route')).toEqual(['<sip:p1.example.com;lr>', '<sip:p2.example.com;lr>']);
    expect(ack?.headerValues('From')).toEqual(invite.headerValues('From'));
    expect(ack?.headerValues('To')).toEqual(['<sip:bob@example.com>;tag=uas-tag']);
    expect(ack?.callId).toBe(invite.callId);
    expect(ack?.cseq).toEqual({ seq: 314, method: 'ACK' });
    expect(ack?.headerValues('Max-Forwards')).toEqual(['70']);
  });
});

describe('RFC 6026 §8.4 2xx → Accepted', () => {
  test('2xx passed up, Timer A cancelled, further 2xx (forks) passed up, Timer M ends it', () => {
    const tx = ict();
    const trace = [...at(0, tx.start(0)), ...runTimers(tx, 600)];
    trace.push(...at(800, tx.onResponse(response(tx.request, 200, 'fork-a'), 800)));
    expect(tx.state).toBe('accepted');
    trace.push(...at(900, tx.onResponse(response(tx.request, 200, 'fork-b'), 900)));
    trace.push(...at(950, tx.onResponse(response(tx.request, 486, 'fork-c'), 950)));
    trace.push(...runTimers(tx, 60_000));
    expect(trace).toEqual([
      't=0 send INVITE',
      't=500 retransmit INVITE',
      't=800 TU 200',
      't=900 TU 200',
      't=32800 terminated',
    ]);
    expect(tx.generatedAck).toBeUndefined();
  });

  test('over TCP a 2xx still enters Accepted (Timer M does not depend on the transport)', () => {
    const tx = ict(true);
    tx.start(0);
    tx.onResponse(response(tx.request, 200, 'x'), 10);
    expect(tx.state).toBe('accepted');
    expect(runTimers(tx, 60_000)).toEqual(['t=32010 terminated']);
  });
});

test('RFC 3261 §17.1.4 transport error ends the transaction and tells the TU', () => {
  const tx = ict();
  tx.start(0);
  expect(at(1, tx.transportError())).toEqual(['t=1 transport-error', 't=1 terminated']);
  expect(tx.transportError()).toEqual([]);
  expect(tx.onResponse(response(tx.request, 200, 'x'), 2)).toEqual([]);
});
