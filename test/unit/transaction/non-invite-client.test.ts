// RFC 3261 §17.1.2 non-INVITE client transaction, traced under an injected clock.
import { NonInviteClientTransaction, timerConfig, timerConfigFromSection } from '../../../node/transaction/index.js';
import { at, request, response, runTimers } from './views.js';

const config = timerConfig();

test('UDP: Timer E doubles to T2 in Trying; Timer F at 64*T1 times out', () => {
  const tx = new NonInviteClientTransaction(request('OPTIONS'), false, config);
  expect([...at(0, tx.start(0)), ...runTimers(tx, 40_000)]).toEqual([
    't=0 send OPTIONS',
    't=500 retransmit OPTIONS',
    't=1500 retransmit OPTIONS',
    't=3500 retransmit OPTIONS',
    't=7500 retransmit OPTIONS',
    't=11500 retransmit OPTIONS',
    't=15500 retransmit OPTIONS',
    't=19500 retransmit OPTIONS',
    't=23500 retransmit OPTIONS',
    't=27500 retransmit OPTIONS',
    't=31500 retransmit OPTIONS',
    't=32000 timeout F',
    't=32000 terminated',
  ]);
});

test('UDP: in Proceeding Timer E is reset to T2', () => {
  const tx = new NonInviteClientTransaction(request('REGISTER'), false, config);
  const trace = at(0, tx.start(0));
  trace.push(...at(100, tx.onResponse(response(tx.request, 100), 100)));
  trace.push(...runTimers(tx, 9000));
  expect(trace).toEqual([
    't=0 send REGISTER',
    't=100 TU 100',
    // Timer E armed at T1 fires in Proceeding, then every T2.
    't=500 retransmit REGISTER',
    't=4500 retransmit REGISTER',
    't=8500 retransmit REGISTER',
  ]);
});

test('transaction.timeout_secs sets Timer F', () => {
  const tx = new NonInviteClientTransaction(request('OPTIONS'), true, timerConfig({ timeoutSecs: 8 }));
  expect([...at(0, tx.start(0)), ...runTimers(tx, 40_000)]).toEqual(['t=0 send OPTIONS', 't=8000 timeout F', 't=8000 terminated']);
});

test('UDP: final response → Completed, retransmitted finals absorbed, Timer K = T4', () => {
  const tx = new NonInviteClientTransaction(request('BYE', { toTag: 'b' }), false, config);
  tx.start(0);
  const ok = response(tx.request, 200);
  const trace = at(600, tx.onResponse(ok, 600));
  expect(tx.state).toBe('completed');
  trace.push(...at(700, tx.onResponse(ok, 700)));
  trace.push(...runTimers(tx, 40_000));
  expect(trace).toEqual(['t=600 TU 200', 't=5600 terminated']);
});

test('TCP: no Timer E; Timer K is zero', () => {
  const tx = new NonInviteClientTransaction(request('OPTIONS', { transport: 'TCP' }), true, config);
  const trace = [...at(0, tx.start(0)), ...runTimers(tx, 1000)];
  trace.push(...at(1500, tx.onResponse(response(tx.request, 200), 1500)));
  expect(trace).toEqual(['t=0 send OPTIONS', 't=1500 TU 200', 't=1500 terminated']);
});

test('transport error', () => {
  const tx = new NonInviteClientTransaction(request('OPTIONS'), false, config);
  tx.start(0);
  expect(at(3, tx.transportError())).toEqual(['t=3 transport-error', 't=3 terminated']);
});

test('timer configuration from the transaction.* config section', () => {
  const cfg = timerConfigFromSection({ timeout_secs: 10, invite_timeout_secs: 200, t1_ms: 250, t2_ms: 2000, t4_ms: 3000 });
  expect(cfg).toMatchObject({ t1Ms: 250, t2Ms: 2000, t4Ms: 3000, transactionTimeoutMs: 10_000, inviteTimeoutMs: 200_000 });
  expect(timerConfig()).toMatchObject({ t1Ms: 500, t2Ms: 4000, t4Ms: 5000, transactionTimeoutMs: 32_000, inviteTimeoutMs: 180_000, timerDMs: 32_000 });
  expect(() => timerConfig({ t1Ms: 0 })).toThrow(RangeError);
});
