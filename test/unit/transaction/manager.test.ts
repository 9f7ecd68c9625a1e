// The pure TransactionManager: table, timer queue, TU callbacks, retransmission absorption.
import {
  TransactionManager,
  timerConfig,
  type ClientTx,
  type MessageView,
  type RequestView,
  type ResponseView,
  type ServerTx,
  type TimeoutTimer,
  type Tx,
} from '../../../node/transaction/index.js';
import { factory, request, response } from './views.js';

type Addr = string;

function label(m: MessageView): string {
  return m.kind === 'request' ? m.method : String(m.status);
}

function harness(
  options: {
    maxTransactions?: number;
    answer?: (tx: ServerTx<Addr>, req: RequestView) => void;
    onFirstFinal?: (ms: number) => void;
    admit?: (req: RequestView) => boolean;
  } = {},
) {
  const log: string[] = [];
  const sent: { message: MessageView; dest: Addr }[] = [];
  const requests: ServerTx<Addr>[] = [];
  const responses: { tx: ClientTx<Addr>; response: ResponseView }[] = [];
  let now = 0;
  const mgr: TransactionManager<Addr> = new TransactionManager<Addr>({
    config: timerConfig(),
    factory,
    isReliable: (a) => a.startsWith('tcp:'),
    maxTransactions: options.maxTransactions,
    onFirstFinal: options.onFirstFinal,
    admit: options.admit,
    transport: {
      send(message, dest) {
        sent.push({ message, dest });
        log.push(`t=${now} send ${label(message)} -> ${dest}`);
      },
    },
    tu: {
      request(tx, req) {
        requests.push(tx);
        log.push(`t=${now} TU request ${req.method}`);
        options.answer?.(tx, req);
      },
      response(tx, res) {
        responses.push({ tx, response: res });
        log.push(`t=${now} TU response ${res.status}`);
      },
      ack(tx, ack) {
        log.push(`t=${now} TU ack ${tx === undefined ? 'stray' : `tx${tx.id}`} ${ack.topVia.branch}`);
      },
      strayResponse(res) {
        log.push(`t=${now} TU stray ${res.status}`);
      },
      timeout(tx: Tx<Addr>, timer: TimeoutTimer) {
        log.push(`t=${now} TU timeout ${timer}`);
      },
      transportError() {
        log.push(`t=${now} TU transport-error`);
      },
      terminated(tx) {
        log.push(`t=${now} terminated ${tx.side}`);
      },
      overloaded(req, _source, cause) {
        log.push(`t=${now} TU overloaded ${req.method} (${cause})`);
      },
    },
  });
  return {
    mgr,
    log,
    sent,
    requests,
    responses,
    at(t: number, fn?: () => void) {
      now = t;
      if (fn) fn();
      else mgr.advance(t);
    },
    /** Advance through every deadline up to `until`. */
    runTo(until: number) {
      for (let d = mgr.nextDeadline(); d !== undefined && d <= until; d = mgr.nextDeadline()) {
        now = d;
        mgr.advance(d);
      }
      now = until;
    },
  };
}

const UA = 'udp:10.0.0.1:5060';

describe('server transactions', () => {
  test('onFirstFinal measures each server transaction once, request to first final, whoever answered', () => {
    const finals: number[] = [];
    const h = harness({ onFirstFinal: (ms) => finals.push(ms) });
    const invite = request('INVITE');
    h.at(0, () => h.mgr.onInbound(invite, UA, 0));
    const tx = h.requests[0];
    h.at(400, () => h.mgr.respond(tx, response(invite, 180, 'uas'), 400)); // provisional: not yet
    expect(finals).toEqual([]);
    h.at(1000, () => h.mgr.respond(tx, response(invite, 486, 'uas'), 1000));
    h.runTo(1600); // Timer G retransmits the 486
    h.at(1700, () => h.mgr.onInbound(invite, UA, 1700)); // and so does a retransmitted INVITE
    expect(finals).toEqual([1000]);

    const options = request('OPTIONS', { branch: 'z9hG4bK-opt' });
    h.at(2000, () => h.mgr.onInbound(options, UA, 2000));
    const opt = h.requests[1];
    h.at(2030, () => h.mgr.respond(opt, response(options, 200, 'uas'), 2030));
    h.at(2100, () => h.mgr.onInbound(options, UA, 2100)); // absorbed: the 200 again, not measured
    expect(finals).toEqual([1000, 30]);
  });

  test('INVITE: TU once, retransmits absorbed, 100 Trying, 486 retransmitted by Timer G, ACK absorbed, Timer I', () => {
    const h = harness();
    const invite = request('INVITE');
    h.at(0, () => h.mgr.onInbound(invite, UA, 0));
    h.at(100, () => h.mgr.onInbound(invite, UA, 100));
    expect(h.mgr.activeCount).toBe(1);
    h.runTo(250);
    h.at(300, () => h.mgr.onInbound(invite, UA, 300));
    const tx = h.requests[0];
    h.at(1000, () => h.mgr.respond(tx, response(invite, 486, 'uas'), 1000));
    h.runTo(1600);
    h.at(1700, () => h.mgr.onInbound(invite, UA, 1700));
    const ack = request('ACK', { toTag: 'uas' });
    h.at(1800, () => h.mgr.onInbound(ack, UA, 1800));
    expect(tx.machine.state).toBe('confirmed');
    h.at(1900, () => h.mgr.onInbound(ack, UA, 1900));
    h.runTo(60_000);
    expect(h.log).toEqual([
      't=0 TU request INVITE',
      't=200 send 100 -> udp:10.0.0.1:5060',
      't=300 send 100 -> udp:10.0.0.1:5060',
      't=1000 send 486 -> udp:10.0.0.1:5060',
      't=1500 send 486 -> udp:10.0.0.1:5060',
      't=1700 send 486 -> udp:10.0.0.1:5060',
      't=6800 terminated server',
    ]);
    expect(h.mgr.activeCount).toBe(0);
  });

  test('the ACK for a 2xx (new branch) is not matched to the INVITE server transaction', () => {
    const h = harness();
    const invite = request('INVITE', { branch: 'z9hG4bK-inv' });
    h.at(0, () => h.mgr.onInbound(invite, UA, 0));
    const tx = h.requests[0];
    h.at(10, () => h.mgr.respond(tx, response(invite, 200, 'uas'), 10));
    expect(tx.machine.state).toBe('accepted');
    h.at(20, () => h.mgr.onInbound(request('ACK', { branch: 'z9hG4bK-ack2xx', toTag: 'uas' }), UA, 20));
    // An ACK that does reuse the INVITE branch reaches the TU through Accepted (RFC 6026 §8.7).
    h.at(30, () => h.mgr.onInbound(request('ACK', { branch: 'z9hG4bK-inv', toTag: 'uas' }), UA, 30));
    expect(h.log).toEqual([
      't=0 TU request INVITE',
      't=10 send 200 -> udp:10.0.0.1:5060',
      't=20 TU ack stray z9hG4bK-ack2xx',
      `t=30 TU ack tx${tx.id} z9hG4bK-inv`,
    ]);
    expect(tx.machine.state).toBe('accepted');
    expect(h.mgr.activeCount).toBe(1);
    h.runTo(60_000);
    expect(h.mgr.activeCount).toBe(0);
  });

  test('the ACK for a non-2xx with a new branch (a sloppy UA) is absorbed by the dialog fields of the response', () => {
    const h = harness();
    const invite = request('INVITE', { branch: 'z9hG4bK-inv', callId: 'sloppy@x', cseq: 7 });
    h.at(0, () => h.mgr.onInbound(invite, UA, 0));
    const tx = h.requests[0];
    h.at(100, () => h.mgr.respond(tx, response(invite, 487, 'px'), 100));
    // Another dialog's ACK, another CSeq, another To tag: none is this response's ACK.
    h.at(200, () => h.mgr.onInbound(request('ACK', { branch: 'z9hG4bK-a1', callId: 'other@x', cseq: 7, toTag: 'px' }), UA, 200));
    h.at(210, () => h.mgr.onInbound(request('ACK', { branch: 'z9hG4bK-a2', callId: 'sloppy@x', cseq: 8, toTag: 'px' }), UA, 210));
    h.at(220, () => h.mgr.onInbound(request('ACK', { branch: 'z9hG4bK-a3', callId: 'sloppy@x', cseq: 7, toTag: 'uas' }), UA, 220));
    expect(tx.machine.state).toBe('completed');
    h.at(300, () => h.mgr.onInbound(request('ACK', { branch: 'z9hG4bK-a4', callId: 'sloppy@x', cseq: 7, toTag: 'px' }), UA, 300));
    expect(tx.machine.state).toBe('confirmed');
    h.runTo(60_000);
    expect(h.log).toEqual([
      't=0 TU request INVITE',
      't=100 send 487 -> udp:10.0.0.1:5060',
      't=200 TU ack stray z9hG4bK-a1',
      't=210 TU ack stray z9hG4bK-a2',
      't=220 TU ack stray z9hG4bK-a3',
      't=5300 terminated server',
    ]);
    // Gone with its transaction: a late copy is a stray again.
    h.at(60_000, () => h.mgr.onInbound(request('ACK', { branch: 'z9hG4bK-a5', callId: 'sloppy@x', cseq: 7, toTag: 'px' }), UA, 60_000));
    expect(h.log[h.log.length - 1]).toBe('t=60000 TU ack stray z9hG4bK-a5');
  });

  test('a 2xx is not indexed for new-branch ACKs: its ACK stays a TU matter (§13.2.2.4)', () => {
    const h = harness();
    const invite = request('INVITE', { branch: 'z9hG4bK-ok', callId: 'ok@x' });
    h.at(0, () => h.mgr.onInbound(invite, UA, 0));
    h.at(10, () => h.mgr.respond(h.requests[0], response(invite, 200, 'uas'), 10));
    h.at(20, () => h.mgr.onInbound(request('ACK', { branch: 'z9hG4bK-new', callId: 'ok@x', toTag: 'uas' }), UA, 20));
    expect(h.log).toContain('t=20 TU ack stray z9hG4bK-new');
  });

  test('CANCEL is its own transaction and finds the INVITE it cancels', () => {
    const h = harness();
    const invite = request('INVITE', { branch: 'z9hG4bK-c' });
    h.at(0, () => h.mgr.onInbound(invite, UA, 0));
    const cancel = request('CANCEL', { branch: 'z9hG4bK-c' });
    h.at(50, () => h.mgr.onInbound(cancel, UA, 50));
    expect(h.requests).toHaveLength(2);
    expect(h.requests[1].machine.kind).toBe('non-invite-server');
    expect(h.mgr.findCancelTarget(cancel)).toBe(h.requests[0]);
    expect(h.mgr.findCancelTarget(request('CANCEL', { branch: 'z9hG4bK-other' }))).toBeUndefined();
    expect(h.mgr.activeCount).toBe(2);
  });

  test('RFC 2543 peer: INVITE matched by fields, ACK matched by the To tag of our response', () => {
    const h = harness();
    const invite = request('INVITE', { branch: '1234', callId: 'old@x' });
    h.at(0, () => h.mgr.onInbound(invite, UA, 0));
    h.at(50, () => h.mgr.onInbound(request('INVITE', { branch: '1234', callId: 'old@x' }), UA, 50));
    expect(h.requests).toHaveLength(1);
    const tx = h.requests[0];
    expect(h.mgr.findCancelTarget(request('CANCEL', { branch: '1234', callId: 'old@x' }))).toBe(tx);
    h.at(100, () => h.mgr.respond(tx, response(invite, 404, 'srv'), 100));
    h.at(200, () => h.mgr.onInbound(request('ACK', { branch: '1234', callId: 'old@x', toTag: 'wrong' }), UA, 200));
    expect(tx.machine.state).toBe('completed');
    h.at(300, () => h.mgr.onInbound(request('ACK', { branch: '1234', callId: 'old@x', toTag: 'srv' }), UA, 300));
    expect(tx.machine.state).toBe('confirmed');
    expect(h.log).toEqual([
      't=0 TU request INVITE',
      't=100 send 404 -> udp:10.0.0.1:5060',
      't=200 TU ack stray 1234',
    ]);
  });

  test('a TU answering synchronously over TCP: NIST ends at once (Timer J zero)', () => {
    const h = harness({ answer: (tx, req) => h.mgr.respond(tx, response(req, 200, 'x'), 0) });
    h.at(0, () => h.mgr.onInbound(request('OPTIONS', { transport: 'TCP' }), 'tcp:10.0.0.2:40000', 0));
    expect(h.log).toEqual(['t=0 TU request OPTIONS', 't=0 send 200 -> tcp:10.0.0.2:40000', 't=0 terminated server']);
    expect(h.mgr.activeCount).toBe(0);
    expect(h.mgr.nextDeadline()).toBeUndefined();
  });

  test('NIST over UDP: retransmits get the final again until Timer J', () => {
    const h = harness({ answer: (tx, req) => h.mgr.respond(tx, response(req, 200, 'x'), 0) });
    const options = request('OPTIONS');
    h.at(0, () => h.mgr.onInbound(options, UA, 0));
    h.at(500, () => h.mgr.onInbound(options, UA, 500));
    // §18.2.2: a retransmission from elsewhere (a NAT rebinding) is answered where it came from.
    h.at(31_999, () => h.mgr.onInbound(options, 'udp:10.0.0.9:6000', 31_999));
    expect(h.mgr.nextDeadline()).toBe(32_000);
    expect(h.mgr.activeCount).toBe(1);
    h.runTo(32_000);
    expect(h.mgr.activeCount).toBe(0);
    expect(h.mgr.queuedTimers).toBe(0);
    h.at(40_000, () => h.mgr.onInbound(options, UA, 40_000));
    expect(h.log).toEqual([
      't=0 TU request OPTIONS',
      't=0 send 200 -> udp:10.0.0.1:5060',
      // Settled in Completed: out of the TU's reach, the manager answers retransmissions alone.
      't=0 terminated server',
      't=500 send 200 -> udp:10.0.0.1:5060',
      't=31999 send 200 -> udp:10.0.0.9:6000',
      // After Timer J the same request is new again (a fresh transaction).
      't=40000 TU request OPTIONS',
      't=40000 send 200 -> udp:10.0.0.1:5060',
      't=40000 terminated server',
    ]);
  });

  test('NIST over UDP: a second final from the TU after the first is discarded (§17.2.2)', () => {
    const h = harness();
    const options = request('OPTIONS');
    h.at(0, () => h.mgr.onInbound(options, UA, 0));
    const tx = h.requests[0];
    h.at(10, () => h.mgr.respond(tx, response(options, 200, 'x'), 10));
    h.at(20, () => h.mgr.respond(tx, response(options, 500, 'x'), 20));
    h.at(30, () => h.mgr.onInbound(options, UA, 30));
    expect(h.sent.map((s) => label(s.message))).toEqual(['200', '200']);
  });

  test('a TU that never answers (or throws) cannot pin a server transaction forever', () => {
    const h = harness({
      answer: () => {
        throw new Error('TU bug');
      },
    });
    expect(() => h.mgr.onInbound(request('OPTIONS'), UA, 0)).toThrow('TU bug');
    expect(() => h.mgr.onInbound(request('INVITE', { branch: 'z9hG4bK-i' }), UA, 0)).toThrow('TU bug');
    expect(h.mgr.activeCount).toBe(2);
    h.log.length = 0;
    h.runTo(400_000);
    expect(h.log).toEqual([
      't=200 send 100 -> udp:10.0.0.1:5060',
      't=64000 TU timeout unanswered',
      't=64000 terminated server',
      't=212000 TU timeout unanswered',
      't=212000 terminated server',
    ]);
    expect(h.mgr.activeCount).toBe(0);
  });

  test('the table is bounded: beyond maxTransactions new requests are refused', () => {
    const h = harness({ maxTransactions: 2 });
    for (let i = 0; i < 3; i++) h.mgr.onInbound(request('OPTIONS', { branch: `z9hG4bK-${i}` }), UA, 0);
    expect(h.mgr.activeCount).toBe(2);
    expect(h.log.at(-1)).toBe('t=0 TU overloaded OPTIONS (table-full)');
  });

  test('overload control: a refused new request leaves no state, while a retransmission of an admitted one is still absorbed', () => {
    let open = true;
    const asked: string[] = [];
    const h = harness({
      admit: (req) => {
        asked.push(req.method);
        return open;
      },
    });
    const first = request('INVITE', { branch: 'z9hG4bK-admitted' });
    h.mgr.onInbound(first, UA, 0);
    expect(h.mgr.activeCount).toBe(1);
    open = false;
    h.mgr.onInbound(request('INVITE', { branch: 'z9hG4bK-admitted' }), UA, 0); // retransmission: its transaction answers
    h.mgr.onInbound(request('INVITE', { branch: 'z9hG4bK-new' }), UA, 0);
    h.mgr.onInbound(request('ACK', { branch: 'z9hG4bK-ack' }), UA, 0); // never asked: an ACK creates no transaction
    expect(asked).toEqual(['INVITE', 'INVITE']);
    expect(h.mgr.activeCount).toBe(1);
    expect(h.log.filter((l) => l.includes('overloaded'))).toEqual(['t=0 TU overloaded INVITE (shed)']);
  });
});

describe('client transactions', () => {
  const TRUNK = 'udp:192.0.2.10:5060';

  test('INVITE: retransmitted until 180, 486 ACKed inside the transaction, its retransmission re-ACKed', () => {
    const h = harness();
    const invite = request('INVITE', { branch: 'z9hG4bK-out' });
    let tx: ClientTx<Addr> | undefined;
    h.at(0, () => {
      tx = h.mgr.sendRequest(invite, TRUNK, 0);
    });
    h.runTo(1600);
    h.at(1700, () => h.mgr.onInbound(response(invite, 180, 'callee'), TRUNK, 1700));
    h.runTo(10_000);
    const busy = response(invite, 486, 'callee');
    h.at(10_000, () => h.mgr.onInbound(busy, TRUNK, 10_000));
    h.at(10_100, () => h.mgr.onInbound(busy, TRUNK, 10_100));
    h.at(10_200, () => h.mgr.onInbound(response(request('INVITE', { branch: 'z9hG4bK-unknown' }), 200, 'z'), TRUNK, 10_200));
    h.runTo(60_000);
    expect(h.log).toEqual([
      't=0 send INVITE -> udp:192.0.2.10:5060',
      't=500 send INVITE -> udp:192.0.2.10:5060',
      't=1500 send INVITE -> udp:192.0.2.10:5060',
      't=1700 TU response 180',
      't=10000 send ACK -> udp:192.0.2.10:5060',
      't=10000 TU response 486',
      't=10100 send ACK -> udp:192.0.2.10:5060',
      't=10200 TU stray 200',
      't=42000 terminated client',
    ]);
    expect(h.responses.every((r) => r.tx === tx)).toBe(true);
    expect(h.mgr.activeCount).toBe(0);
  });

  test('CANCEL after a provisional goes out on its own transaction with the INVITE branch', () => {
    const h = harness();
    const invite = request('INVITE', { branch: 'z9hG4bK-out' });
    const tx = h.mgr.sendRequest(invite, TRUNK, 0) as ClientTx<Addr>;
    expect(h.mgr.sendCancel(tx, 10)).toBeUndefined();
    h.mgr.onInbound(response(invite, 180, 'callee'), TRUNK, 100);
    const cancelTx = h.mgr.sendCancel(tx, 200) as ClientTx<Addr>;
    const cancel = cancelTx.machine.request;
    expect(cancel.method).toBe('CANCEL');
    expect(cancel.topVia.branch).toBe('z9hG4bK-out');
    expect(cancel.cseq).toEqual({ seq: invite.cseq.seq, method: 'CANCEL' });
    expect(cancel.uri).toBe(invite.uri);
    // The 200 to the CANCEL and the 487 to the INVITE land on their own transactions.
    h.mgr.onInbound(response(cancel, 200), TRUNK, 300);
    h.mgr.onInbound(response(invite, 487, 'callee'), TRUNK, 310);
    expect(h.log.filter((l) => l.includes('TU'))).toEqual(['t=0 TU response 180', 't=0 TU response 200', 't=0 TU response 487']);
    expect(h.sent.map((s) => label(s.message))).toEqual(['INVITE', 'CANCEL', 'ACK']);
  });

  test('a CANCEL sent through sendRequest bounds the INVITE client transaction (§9.1)', () => {
    const h = harness();
    const invite = request('INVITE', { branch: 'z9hG4bK-q', transport: 'TCP' });
    h.mgr.sendRequest(invite, 'tcp:192.0.2.10:5060', 0);
    h.mgr.onInbound(response(invite, 183, 'callee'), 'tcp:192.0.2.10:5060', 100);
    h.mgr.sendRequest(request('CANCEL', { branch: 'z9hG4bK-q', transport: 'TCP' }), 'tcp:192.0.2.10:5060', 1000);
    h.log.length = 0;
    // Neither the 200 to the CANCEL nor the 487 ever comes: the TU hears of both (the CANCEL's
    // Timer F, the INVITE's §9.1 wait), so a proxy can still answer its caller.
    h.runTo(100_000);
    expect(h.log).toEqual(['t=33000 TU timeout F', 't=33000 terminated client', 't=33000 TU timeout cancelled', 't=33000 terminated client']);
    expect(h.mgr.activeCount).toBe(0);
  });

  test('Timer F reaches the TU and frees the entry; ACK is sent without a transaction', () => {
    const h = harness();
    h.mgr.sendRequest(request('OPTIONS', { transport: 'TCP' }), 'tcp:192.0.2.1:5060', 0);
    expect(h.mgr.sendRequest(request('ACK', { branch: 'z9hG4bK-a2' }), TRUNK, 0)).toBeUndefined();
    expect(h.mgr.activeCount).toBe(1);
    h.runTo(40_000);
    expect(h.log).toEqual([
      't=0 send OPTIONS -> tcp:192.0.2.1:5060',
      't=0 send ACK -> udp:192.0.2.10:5060',
      't=32000 TU timeout F',
      't=32000 terminated client',
    ]);
    expect(h.mgr.activeCount).toBe(0);
  });

  test('a transport error reported by the shell ends the transaction', () => {
    const h = harness();
    const tx = h.mgr.sendRequest(request('INVITE'), TRUNK, 0) as ClientTx<Addr>;
    h.at(5, () => h.mgr.transportError(tx, 5));
    expect(h.log.slice(1)).toEqual(['t=5 TU transport-error', 't=5 terminated client']);
    // Its Timer A/B/C entries are gone from the queue's view: nothing left to wake up for.
    expect(h.mgr.nextDeadline()).toBeUndefined();
    expect(h.mgr.activeCount).toBe(0);
  });
});

test('memory stays bounded: 20,000 UDP transactions leave no entries or live timers behind', () => {
  const h = harness({ answer: (tx, req) => h.mgr.respond(tx, response(req, 200, 'x'), 0) });
  for (let i = 0; i < 10_000; i++) {
    h.mgr.onInbound(request('OPTIONS', { branch: `z9hG4bK-s${i}` }), UA, i);
    h.mgr.sendRequest(request('OPTIONS', { branch: `z9hG4bK-c${i}` }), 'udp:192.0.2.10:5060', i);
  }
  expect(h.mgr.activeCount).toBe(20_000);
  h.log.length = 0;
  h.sent.length = 0;
  h.runTo(200_000);
  expect(h.mgr.activeCount).toBe(0);
  expect(h.mgr.queuedTimers).toBe(0);
  expect(h.mgr.nextDeadline()).toBeUndefined();
});

test('a final response lets the request and response drop their parse caches (held until Timer J); provisional does not', () => {
  const h = harness();
  const released: string[] = [];
  const reg = { ...request('REGISTER'), releaseParsed: () => void released.push('request') };
  h.at(0, () => h.mgr.onInbound(reg, 'udp:ua', 0));
  const tx = h.requests[0];
  h.at(10, () => h.mgr.respond(tx, { ...response(reg, 100), releaseParsed: () => void released.push('100') }, 10));
  expect(released).toEqual([]);
  h.at(20, () => h.mgr.respond(tx, { ...response(reg, 200, 'uas'), releaseParsed: () => void released.push('200') }, 20));
  expect(released).toEqual(['request', '200']);
  // The retransmitted request is still answered with the cached final response.
  h.at(30, () => h.mgr.onInbound(reg, 'udp:ua', 30));
  expect(h.sent.map((s) => label(s.message))).toEqual(['100', '200', '200']);
});
