// RFC 3261 §17.2.2 non-INVITE server transaction, traced under an injected clock.
import { NonInviteServerTransaction, timerConfig } from '../../../node/transaction/index.js';
import { at, request, response, runTimers } from './views.js';

const config = timerConfig();

test('UDP: Trying absorbs, Proceeding re-sends the provisional, Completed re-sends the final, Timer J', () => {
  const tx = new NonInviteServerTransaction(request('REGISTER'), false, config);
  expect(tx.start(0)).toEqual([]);
  const trace = at(10, tx.onRequest());
  trace.push(...at(20, tx.respond(response(tx.request, 100), 20)));
  expect(tx.state).toBe('proceeding');
  trace.push(...at(500, tx.onRequest()));
  trace.push(...at(600, tx.respond(response(tx.request, 200, 'r'), 600)));
  expect(tx.state).toBe('completed');
  trace.push(...at(1500, tx.onRequest()));
  trace.push(...at(1600, tx.respond(response(tx.request, 500, 'r'), 1600)));
  trace.push(...runTimers(tx, 60_000));
  expect(trace).toEqual([
    't=20 send 100',
    't=500 retransmit 100',
    't=600 send 200',
    't=1500 retransmit 200',
    't=32600 terminated',
  ]);
});

test('TCP: Timer J is zero', () => {
  const tx = new NonInviteServerTransaction(request('OPTIONS', { transport: 'TCP' }), true, config);
  tx.start(0);
  expect(at(5, tx.respond(response(tx.request, 200, 'r'), 5))).toEqual(['t=5 send 200', 't=5 terminated']);
});

test('Timer J follows T1 (64*T1)', () => {
  const tx = new NonInviteServerTransaction(request('OPTIONS'), false, timerConfig({ t1Ms: 100 }));
  tx.start(0);
  tx.respond(response(tx.request, 200, 'r'), 0);
  expect(runTimers(tx, 60_000)).toEqual(['t=6400 terminated']);
});

test('guard: a TU that never sends a final drops the transaction after Timer F + 64*T1', () => {
  const tx = new NonInviteServerTransaction(request('SUBSCRIBE'), false, config);
  tx.start(0);
  tx.respond(response(tx.request, 100), 10);
  expect(runTimers(tx, 100_000)).toEqual(['t=64000 timeout unanswered', 't=64000 terminated']);
});

test('transport error', () => {
  const tx = new NonInviteServerTransaction(request('OPTIONS'), false, config);
  tx.start(0);
  expect(at(1, tx.transportError())).toEqual(['t=1 transport-error', 't=1 terminated']);
});
