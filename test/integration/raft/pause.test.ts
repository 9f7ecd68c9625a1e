// A frozen leader (SIGSTOP: a stop-the-world GC pause, a suspended VM, a process stuck on a dead
// NFS mount) while writers append through every member. Its sockets stay open and its peers see
// silence, not a closed connection. The other two must elect a leader while it is frozen; after
// SIGCONT it must step down (it hears a higher term, and CheckQuorum would depose it anyway) and
// must acknowledge nothing the new majority did not commit, even though it wakes up believing it
// leads and with a backlog of client requests and stale peer messages in its socket buffers.
import { readFileSync } from 'node:fs';
import { LogClient } from '../../../cluster/log/index.js';
import { FaultCluster, sleep, type NodeStatus } from './fault-cluster.js';

const ROUNDS = 4;
const PAUSE_MS = 2500; // election timeout is 10-20 ticks of 50 ms: 0.5-1 s

let cluster: FaultCluster | undefined;

/** Resident set of a process, MB (Linux /proc). */
function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : 0;
}

afterAll(async () => {
  await cluster?.close();
});

test('SIGSTOP of the leader: a new leader is elected, the resumed one steps down; of a follower: nothing changes; no acked entry is lost or doubled', async () => {
  cluster = await FaultCluster.create();
  const c = cluster;
  await c.underLoad();

  const rounds: string[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const old = await c.leader();
    const others = c.ids.filter((id) => id !== old.id);
    const ackedBefore = c.acked().length;
    const t0 = Date.now();
    c.pause(old.id);

    // A new leader, at a higher term, among the two that are still running.
    const s = await c.waitFor(
      `round ${round}: a new leader while ${old.id} is frozen`,
      (all) => all.some((x) => x !== undefined && x.id !== old.id && x.role === 'leader' && x.term > old.term),
      PAUSE_MS + 3000,
    );
    const elected = s.find((x) => x?.role === 'leader' && x.id !== old.id) as NodeStatus;
    const electedAfter = Date.now() - t0;
    expect(others).toContain(elected.id);
    // The majority side keeps committing while the old leader is frozen.
    const ackedAtElection = c.acked().length;
    const rest = PAUSE_MS - (Date.now() - t0);
    if (rest > 0) await sleep(rest);
    await c.waitFor(`round ${round}: commits continue without ${old.id}`, () => c.acked().length > ackedAtElection, 3000);
    // A linearizable read asked of the frozen member after a write the new leader acknowledged:
    // it is served on wake-up (the request waits in its socket), when it still believes it leads.
    // It must not answer with an index before that write (ReadIndex confirms leadership with a
    // quorum first), nor with an index it has not applied.
    const lastWrite = c.acked().filter((r) => r.node !== old.id).sort((x, y) => y.index - x.index)[0];
    const reader = await LogClient.connect('127.0.0.1', c.node(old.id).clientPort, 1000);
    const read = reader.readIndex(3000).then(
      (r) => r.index,
      (e: Error) => e.name,
    );
    await sleep(50);
    const resumedAt = Date.now();
    c.resume(old.id);
    const readResult = await read;
    reader.close();
    // Answered, not left to time out: a fresh index, or NotLeader from a member that stepped down.
    if (typeof readResult === 'number') expect(readResult).toBeGreaterThanOrEqual(lastWrite.index);
    else expect(readResult).toBe('NotLeader');

    // The resumed member is no longer leader and has caught up with the new term.
    const after = await c.waitFor(
      `round ${round}: resumed ${old.id} steps down`,
      (all) => {
        const o = all[c.ids.indexOf(old.id)];
        return o !== undefined && o.role !== 'leader' && o.term >= elected.term && o.leader !== 0 && o.leader !== old.id;
      },
      3000,
    );
    const stepDownMs = Date.now() - resumedAt;
    // Whatever it acknowledged after waking is checked at the end: committed (in every member's
    // log at the acked index and term), never an entry of its stale leadership.
    rounds.push(
      `r${round}: leader ${old.id}@t${old.term} frozen, ${elected.id}@t${elected.term} elected in ${electedAfter} ms, ` +
        `${old.id} stepped down ${stepDownMs} ms after SIGCONT (now t${after[c.ids.indexOf(old.id)]!.term}), ` +
        `acked during round ${c.acked().length - ackedBefore}, read on wake-up: ${readResult} (last write ${lastWrite.index})`,
    );
    await sleep(1000);
  }

  // A frozen follower: the leader keeps committing with the other one, in the same term, without
  // piling up what it cannot deliver (its memory stays put); thawed, the follower catches up and,
  // although its election timer ran out while frozen, deposes nobody (PreVote, leader lease).
  const lead = await c.leader();
  const f = c.ids.find((id) => id !== lead.id)!;
  const rssBefore = rssMb(c.node(lead.id).child!.pid!);
  const frozenAt = Date.now();
  c.pause(f);
  await sleep(3000);
  const during = (await c.status(lead.id))!;
  expect(during.role).toBe('leader');
  expect(during.term).toBe(lead.term);
  expect(c.acked().filter((r) => r.node !== f && r.end > frozenAt + 500).length).toBeGreaterThan(0);
  const rssFrozen = rssMb(c.node(lead.id).child!.pid!);
  c.resume(f);
  const thawedAt = Date.now();
  await c.waitFor(
    `thawed follower ${f} catches up`,
    (all) => {
      const l = all[c.ids.indexOf(lead.id)];
      const p = l?.peers.find((x) => x.id === f);
      return l?.role === 'leader' && l.term === lead.term && p !== undefined && p.match >= during.lastIndex;
    },
    5000,
  );
  const catchUpMs = Date.now() - thawedAt;
  await sleep(1000);
  const settled = (await c.status(lead.id))!;
  expect(settled.role).toBe('leader');
  expect(settled.term).toBe(lead.term);
  expect(rssFrozen - rssBefore).toBeLessThan(200);
  rounds.push(`follower ${f} frozen 3 s: leader ${lead.id}@t${lead.term} kept, leader RSS ${rssBefore} → ${rssFrozen} MB, caught up ${catchUpMs} ms after SIGCONT`);

  const { log, late } = await c.finish();
  process.stdout.write(`pause: ${rounds.join('\n  ')}\n  ${c.summary()}, log length ${log.length} (+${late} late)\n`);
  expect(c.acked().length).toBeGreaterThan(200);
  // Every member took writes that were acknowledged.
  for (const id of c.ids) expect(c.acked().some((r) => r.node === id)).toBe(true);
}, 60_000);
