// RFC 3261 §26.3.2.4: a 401/407 challenge the server issues is not retransmitted on Timer G.
// Found by sipvicious svmap's INVITE scan (test/e2e/clients): every unanswered probe drew eleven
// copies of the 407 over Timer H, which a forged source turns into a reflection amplifier.
import { InviteServerTransaction, timerConfig } from '../../../node/transaction/index.js';
import { at, factory, request, response, runTimers } from './views.js';

const config = timerConfig();

test('a challenge sent with retransmit: false goes out once; a retransmitted INVITE gets it again; Timer H still ends it', () => {
  const tx = new InviteServerTransaction(request('INVITE'), false, config, factory);
  tx.start(0);
  const trace = at(100, tx.respond(response(tx.request, 407, 'uas'), 100, { retransmit: false }));
  trace.push(...at(700, tx.onRequest()));
  trace.push(...runTimers(tx, 40_000));
  expect(trace).toEqual(['t=100 send 407', 't=700 retransmit 407', 't=32100 timeout H', 't=32100 terminated']);
});

test('the ACK of an unretransmitted challenge confirms the transaction as usual', () => {
  const tx = new InviteServerTransaction(request('INVITE'), false, config, factory);
  tx.start(0);
  tx.respond(response(tx.request, 401, 'uas'), 10, { retransmit: false });
  expect(tx.onAck(request('ACK', { toTag: 'uas' }), 50)).toEqual([]);
  expect(tx.state).toBe('confirmed');
  expect(runTimers(tx, 10_000)).toEqual(['t=5050 terminated']);
});

test('without the option a non-2xx final is still retransmitted on Timer G (§17.2.1)', () => {
  const tx = new InviteServerTransaction(request('INVITE'), false, config, factory);
  tx.start(0);
  tx.respond(response(tx.request, 407, 'uas'), 100);
  expect(runTimers(tx, 1000)).toEqual(['t=600 retransmit 407']);
});
