// RFC 3261 §17.2.1 + RFC 6026 INVITE server transaction, traced under an injected clock.
import { InviteServerTransaction, timerConfig } from '../../../node/transaction/index.js';
import { at, factory, request, response, runTimers } from './views.js';

const config = timerConfig();

function ist(reliable = false, invite = request('INVITE')) {
  return new InviteServerTransaction(invite, reliable, config, factory);
}

describe('RFC 3261 §17.2.1 100 Trying', () => {
  test('sent after 200 ms when the TU has not responded, built from the INVITE', () => {
    const invite = request('INVITE', { extraVias: ['SIP/2.0/TCP first.example.com;branch=z9hG4bK-0'] });
    const tx = ist(false, invite);
    expect(tx.start(0)).toEqual([]);
    expect(runTimers(tx, 250)).toEqual(['t=200 send 100']);
    const trying = tx.lastResponse;
    expect(trying?.status).toBe(100);
    expect(trying?.headerValues('Via')).toEqual(invite.headerValues('Via'));
    expect(trying?.callId).toBe(invite.callId);
    expect(trying?.cseq).toEqual({ seq: 1, method: 'INVITE' });
    expect(trying?.toTag).toBeUndefined();
    // A retransmitted INVITE gets the 100 again.
    expect(at(300, tx.onRequest())).toEqual(['t=300 retransmit 100']);
  });

  test('not sent when the TU answers within 200 ms', () => {
    const tx = ist();
    tx.start(0);
    expect(at(50, tx.respond(response(tx.request, 180, 'uas'), 50))).toEqual(['t=50 send 180']);
    expect(runTimers(tx, 1000)).toEqual([]);
  });

  test('INVITE retransmission before any response is absorbed', () => {
    const tx = ist();
    tx.start(0);
    expect(tx.onRequest()).toEqual([]);
  });
});

describe('non-2xx final over UDP: Timer G, H, I', () => {
  test('Timer G doubles to T2 until Timer H: the ACK never came', () => {
    const tx = ist();
    tx.start(0);
    const trace = at(100, tx.respond(response(tx.request, 486, 'uas'), 100));
    trace.push(...runTimers(tx, 40_000));
    expect(trace).toEqual([
      't=100 send 486',
      't=600 retransmit 486',
      't=1600 retransmit 486',
      't=3600 retransmit 486',
      't=7600 retransmit 486',
      't=11600 retransmit 486',
      't=15600 retransmit 486',
      't=19600 retransmit 486',
      't=23600 retransmit 486',
      't=27600 retransmit 486',
      't=31600 retransmit 486',
      't=32100 timeout H',
      't=32100 terminated',
    ]);
  });

  test('INVITE retransmits re-send the final; ACK → Confirmed; ACKs absorbed; Timer I = T4', () => {
    const tx = ist();
    tx.start(0);
    const trace = at(100, tx.respond(response(tx.request, 404, 'uas'), 100));
    trace.push(...at(300, tx.onRequest()));
    trace.push(...runTimers(tx, 700));
    const ack = request('ACK', { toTag: 'uas' });
    trace.push(...at(800, tx.onAck(ack, 800)));
    expect(tx.state).toBe('confirmed');
    trace.push(...at(900, tx.onAck(ack, 900)));
    trace.push(...at(950, tx.onRequest()));
    trace.push(...runTimers(tx, 60_000));
    expect(trace).toEqual(['t=100 send 404', 't=300 retransmit 404', 't=600 retransmit 404', 't=5800 terminated']);
  });

  test('TCP: no Timer G, Timer I zero, Timer H still guards the ACK', () => {
    const tx = ist(true);
    tx.start(0);
    tx.respond(response(tx.request, 603, 'uas'), 10);
    expect([...tx.timerDeadlines().keys()]).toEqual(['H']);
    expect(at(20, tx.onAck(request('ACK', { toTag: 'uas' }), 20))).toEqual(['t=20 terminated']);
    const lost = ist(true);
    lost.start(0);
    lost.respond(response(lost.request, 603, 'uas'), 10);
    expect(runTimers(lost, 60_000)).toEqual(['t=32010 timeout H', 't=32010 terminated']);
  });
});

describe('RFC 6026 §8.5-8.7 2xx → Accepted', () => {
  test('INVITE retransmits absorbed, TU 2xx retransmissions sent, ACKs passed up, Timer L ends it', () => {
    const tx = ist();
    tx.start(0);
    const trace = at(100, tx.respond(response(tx.request, 180, 'uas'), 100));
    trace.push(...at(150, tx.onRequest()));
    const ok = response(tx.request, 200, 'uas');
    trace.push(...at(1000, tx.respond(ok, 1000)));
    expect(tx.state).toBe('accepted');
    trace.push(...at(1100, tx.onRequest()));
    trace.push(...at(1500, tx.respond(ok, 1500)));
    trace.push(...at(1600, tx.respond(response(tx.request, 500, 'uas'), 1600)));
    trace.push(...at(1700, tx.onAck(request('ACK', { toTag: 'uas' }), 1700)));
    trace.push(...runTimers(tx, 60_000));
    expect(trace).toEqual([
      't=100 send 180',
      't=150 retransmit 180',
      't=1000 send 200',
      't=1500 send 200',
      't=1700 TU ACK',
      't=33000 terminated',
    ]);
  });
});

test('guard: an INVITE the TU never answers at all is dropped after invite_timeout + 64*T1', () => {
  const tx = new InviteServerTransaction(request('INVITE'), true, timerConfig({ inviteTimeoutSecs: 60 }), factory);
  tx.start(0);
  expect(runTimers(tx, 200_000)).toEqual(['t=200 send 100', 't=92000 timeout unanswered', 't=92000 terminated']);
});

test('guard: each provisional from the TU pushes it past Timer C + the CANCEL wait (invite_timeout + 128*T1 from it)', () => {
  // A proxy's Timer C restarts with every provisional (§16.6 step 11); when it fires the branch is
  // CANCELled and waits up to 64*T1 for the 487 (§9.1), then the final goes up through this
  // transaction, which must still be there.
  const tx = new InviteServerTransaction(request('INVITE'), true, timerConfig({ inviteTimeoutSecs: 60 }), factory);
  tx.start(0);
  tx.respond(response(tx.request, 180, 'uas'), 100);
  tx.respond(response(tx.request, 183, 'uas'), 50_000);
  expect(runTimers(tx, 50_000 + 60_000 + 64_000 - 1)).toEqual([]);
  expect(at(150_000, tx.respond(response(tx.request, 408, 'uas'), 150_000))).toEqual(['t=150000 send 408']);
  const late = new InviteServerTransaction(request('INVITE'), true, timerConfig({ inviteTimeoutSecs: 60 }), factory);
  late.start(0);
  late.respond(response(late.request, 180, 'uas'), 100);
  expect(runTimers(late, 400_000)).toEqual(['t=124100 timeout unanswered', 't=124100 terminated']);
});

test('responses after Completed are ignored; transport error ends the transaction', () => {
  const tx = ist();
  tx.start(0);
  tx.respond(response(tx.request, 480, 'uas'), 10);
  expect(tx.respond(response(tx.request, 200, 'uas'), 20)).toEqual([]);
  expect(at(30, tx.transportError())).toEqual(['t=30 transport-error', 't=30 terminated']);
});
