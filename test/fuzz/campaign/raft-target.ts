/**
 * Target (c): the Raft member wire (cluster/raft/transport) and the log client protocol
 * (cluster/log/client-server.ts), in process against a real single-member ReplicatedLog on
 * 127.0.0.1. Random and mutated frames go to both ports, over many short connections: after each
 * burst the member must still answer Status and commit an append through a LogClient, and be
 * leader again within a bounded time (a forged higher term may cost it one election, no more).
 * Any uncaught exception or unhandled rejection in the process is a finding (it would kill a member).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LogClient, LogClientServer, ReplicatedLog } from '../../../cluster/log/index.js';
import {
  ClientRequestType, ClientResponseType, FrameDecoder, PeerFrameType, encodeFrame, messageFromPb, messageToPb,
} from '../../../cluster/raft/transport/index.js';
import { WireMessageError } from '../../../cluster/raft/transport/message-codec.js';
import { StateRole, type Message } from '../../../cluster/raft/types.js';
import type { Findings } from './findings.js';
import { pick, type Rand } from './mutators.js';

const BIG = [0, 1, 2, 3, 7, 1000, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 47, 2 ** 47 + 1, 2 ** 48, 2 ** 53 - 1, 2 ** 63, 2 ** 64 - 1];

function randomNumber(rand: Rand): number {
  return rand() < 0.6 ? Math.floor(rand() * 20) : pick(rand, BIG);
}

function randomMessage(rand: Rand, from: number, to: number): Message {
  const type = rand() < 0.9 ? Math.floor(rand() * 20) : Math.floor(rand() * 1000);
  const index = randomNumber(rand);
  const n = rand() < 0.5 ? 0 : Math.floor(rand() * 5);
  const m: Message = {
    type, from: rand() < 0.8 ? from : randomNumber(rand), to: rand() < 0.8 ? to : randomNumber(rand), term: randomNumber(rand),
    logTerm: randomNumber(rand), index, commit: randomNumber(rand), reject: rand() < 0.3, rejectHint: randomNumber(rand),
    entries: Array.from({ length: n }, (_, k) => ({
      term: randomNumber(rand), index: rand() < 0.7 ? index + k + 1 : randomNumber(rand), type: Math.floor(rand() * 4),
      data: Buffer.from(Array.from({ length: Math.floor(rand() * 40) }, () => Math.floor(rand() * 256))),
    })),
  };
  if (rand() < 0.1) {
    m.snapshot = {
      metadata: { index: randomNumber(rand), term: randomNumber(rand), conf: { voters: [randomNumber(rand)], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false } },
      data: Buffer.from('snap'),
    };
    m.snapshotOffset = randomNumber(rand);
    m.snapshotDone = rand() < 0.5;
  }
  if (rand() < 0.2) m.context = Buffer.from([1, 2, 3, Math.floor(rand() * 256)]);
  return m;
}

function noise(rand: Rand, b: Uint8Array): Buffer {
  const out = Buffer.from(b);
  const k = Math.floor(rand() * 4);
  for (let i = 0; i < k && out.length > 0; i++) out[Math.floor(rand() * out.length)] = Math.floor(rand() * 256);
  if (rand() < 0.2) return out.subarray(0, Math.floor(rand() * (out.length + 1)));
  return out;
}

function randomBytes(rand: Rand, max: number): Buffer {
  return Buffer.from(Array.from({ length: Math.floor(rand() * max) }, () => Math.floor(rand() * 256)));
}

/** One connection's worth of bytes for the member port. */
export function peerStream(rand: Rand, selfId: number, cluster: string): Buffer {
  const from = 2 + Math.floor(rand() * 3);
  const frames: Buffer[] = [];
  const r = rand();
  if (r < 0.1) return randomBytes(rand, 3000);
  if (r < 0.15) { // a length prefix promising more than is sent (or more than allowed)
    const b = Buffer.alloc(8);
    b.writeUInt32BE(pick(rand, [0xffffffff, 64 * 1024 * 1024, 64 * 1024 * 1024 + 1, 1 << 20]), 0);
    return b;
  }
  const hello = PeerFrameType.encode({ hello: { from: rand() < 0.9 ? from : randomNumber(rand), cluster: rand() < 0.9 ? cluster : 'other' } }).finish();
  frames.push(encodeFrame(rand() < 0.9 ? hello : noise(rand, hello)));
  const count = 1 + Math.floor(rand() * 6);
  for (let i = 0; i < count; i++) {
    let body: Uint8Array;
    if (rand() < 0.8) {
      const msgs = Array.from({ length: 1 + Math.floor(rand() * 4) }, () => randomMessage(rand, from, selfId));
      body = PeerFrameType.encode({ batch: { messages: msgs.map(messageToPb) } }).finish();
    } else {
      body = PeerFrameType.encode({ forward: { data: [randomBytes(rand, 60)], term: randomNumber(rand) } }).finish();
    }
    frames.push(encodeFrame(rand() < 0.7 ? body : noise(rand, body)));
  }
  return Buffer.concat(frames);
}

/** One connection's worth of bytes for the client port. */
export function clientStream(rand: Rand): Buffer {
  if (rand() < 0.1) return randomBytes(rand, 3000);
  const frames: Buffer[] = [];
  const count = 1 + Math.floor(rand() * 6);
  for (let i = 0; i < count; i++) {
    const req: Record<string, unknown> = {
      id: randomNumber(rand), op: rand() < 0.8 ? Math.floor(rand() * 6) : Math.floor(rand() * 1000),
      fromIndex: randomNumber(rand), limit: pick(rand, [0, 1, 10, -1, -2147483648, 2147483647, 100000]), target: randomNumber(rand),
    };
    // Appends carry data the log would keep: small, so a long run does not grow the member's log by much.
    if (req.op === 0) req.data = rand() < 0.5 ? [] : [randomBytes(rand, 30)];
    // Transfer to a node that does not exist would leave the single member without a leader for a
    // whole election timeout: legitimate, and not what is fuzzed here.
    if (req.op === 4) req.op = 1;
    const body = ClientRequestType.encode(req).finish();
    frames.push(encodeFrame(rand() < 0.7 ? body : noise(rand, body)));
  }
  return Buffer.concat(frames);
}

function send(port: number, bytes: Buffer, rand: Rand): Promise<void> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    const done = (): void => {
      clearTimeout(t);
      s.destroy();
      resolve();
    };
    const t = setTimeout(done, 300);
    s.on('error', done);
    s.on('close', done);
    s.on('data', () => undefined);
    s.on('connect', () => {
      // Split at random points: the decoders must reassemble frames across chunks.
      let at = 0;
      while (at < bytes.length) {
        const n = rand() < 0.3 ? 1 + Math.floor(rand() * 7) : 1 + Math.floor(rand() * 4000);
        s.write(bytes.subarray(at, at + n));
        at += n;
      }
      setTimeout(() => s.end(), 20);
    });
  });
}

/** The decoders alone: whatever the bytes, a frame is refused with an error object, never a crash of another kind. */
function decodeOne(rand: Rand, bytes: Buffer, findings: Findings): void {
  const dec = new FrameDecoder(1 << 20);
  let frames: Buffer[] = [];
  try {
    let at = 0;
    while (at < bytes.length) {
      const n = 1 + Math.floor(rand() * 300);
      frames = frames.concat(dec.push(bytes.subarray(at, at + n)));
      at += n;
    }
  } catch (e) {
    if (!(e instanceof Error && e.name === 'FrameTooLargeError')) findings.add('raft-decode', 'throw', e, bytes);
  }
  for (const f of frames) {
    let pb: { batch?: { messages?: unknown[] } | null } | undefined;
    try {
      pb = PeerFrameType.decode(f) as unknown as typeof pb;
    } catch {
      pb = undefined; // refused: what the transport does with it
    }
    try {
      if (pb?.batch) (pb.batch.messages ?? []).map((m) => messageFromPb(m as Parameters<typeof messageFromPb>[0]));
    } catch (e) {
      // WireMessageError is the refusal; anything else would escape the transport's data handler.
      if (!(e instanceof WireMessageError)) findings.add('raft-decode', 'messageFromPb', e, f);
    }
    try {
      ClientResponseType.decode(f);
    } catch {
      // refused
    }
  }
}

export interface RaftOptions {
  readonly seconds: number;
  readonly rand: Rand;
}

export async function runRaftTarget(o: RaftOptions, findings: Findings): Promise<Record<string, number>> {
  const { rand } = o;
  const dir = mkdtempSync(join(tmpdir(), 'siphon-fuzz-raft-'));
  const crashes: unknown[] = [];
  const onCrash = (e: unknown): void => {
    crashes.push(e);
  };
  process.on('uncaughtException', onCrash);
  process.on('unhandledRejection', onCrash);
  const warnings: string[] = [];
  const onWarning = (w: Error): void => {
    warnings.push(w.message);
  };
  process.on('warning', onWarning);
  const log = new ReplicatedLog({ id: 1, dataDir: dir, listen: { host: '127.0.0.1', port: 0 }, peers: new Map(), fsync: false });
  const peerPort = await log.start();
  const server = new LogClientServer(log);
  const clientPort = await server.listen('127.0.0.1', 0);
  const stats = { peerConnections: 0, clientConnections: 0, decoded: 0, bursts: 0, reelections: 0, rssMaxMb: 0, warnings: 0 };
  const stop = Date.now() + o.seconds * 1000;
  const recent: Buffer[] = [];
  try {
    while (Date.now() < stop) {
      recent.length = 0;
      const conns: Array<Promise<void>> = [];
      for (let i = 0; i < 20; i++) {
        const toPeer = rand() < 0.6;
        const bytes = toPeer ? peerStream(rand, 1, 'siphon') : clientStream(rand);
        recent.push(bytes);
        if (toPeer) stats.peerConnections++;
        else stats.clientConnections++;
        conns.push(send(toPeer ? peerPort : clientPort, bytes, rand));
        // The same bytes through the decoders alone, twice with other splits.
        decodeOne(rand, bytes, findings);
        stats.decoded++;
      }
      await Promise.all(conns);
      stats.bursts++;
      for (const c of crashes.splice(0)) findings.add('raft-live', 'uncaught', c, Buffer.concat(recent));
      // The member must serve again within a bounded time: an election timeout at most.
      const t0 = Date.now();
      let healthy = false;
      let lastErr: unknown;
      if (log.status().role !== StateRole.Leader) stats.reelections++;
      while (!healthy && Date.now() - t0 < 8000) {
        let client: LogClient | undefined;
        try {
          client = await LogClient.connect('127.0.0.1', clientPort, 1000);
          await client.status(1000);
          const r = await client.append([Buffer.from('fuzz-probe')], 3000);
          healthy = r.index > 0;
        } catch (e) {
          lastErr = e;
          await new Promise((r) => setTimeout(r, 100));
        } finally {
          client?.close();
        }
      }
      if (!healthy) {
        findings.add('raft-live', 'wedged', new Error(`member not serving 8 s after a burst: ${String(lastErr)}; status ${log.statusJson()}`), Buffer.concat(recent));
        break;
      }
      const rss = process.memoryUsage().rss / 1e6;
      if (rss > stats.rssMaxMb) stats.rssMaxMb = Math.round(rss);
    }
  } finally {
    stats.warnings = warnings.length;
    await server.close();
    await log.stop();
    process.off('uncaughtException', onCrash);
    process.off('unhandledRejection', onCrash);
    process.off('warning', onWarning);
    rmSync(dir, { recursive: true, force: true });
  }
  if (warnings.length > 0) process.stderr.write(`raft warnings (first 5 of ${warnings.length}):\n  ${warnings.slice(0, 5).join('\n  ')}\n`);
  return { ...stats, term: log.status().term };
}



/**
 * Target raft3: a three-member cluster, and frames that impersonate its members: each connection
 * says hello as one member and sends messages "from" it to another, with the real term mixed in so
 * the core acts on them. After each burst the cluster must commit an append and every member must
 * hold it within a bounded time: a forged acknowledgement must not leave a follower behind for good,
 * nor make a leader count an entry as replicated where it is not.
 */
export async function runRaft3Target(o: RaftOptions, findings: Findings): Promise<Record<string, number>> {
  const { rand } = o;
  const dir = mkdtempSync(join(tmpdir(), 'siphon-fuzz-raft3-'));
  const free = await Promise.all([0, 1, 2].map(() => new Promise<number>((r) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => r(p));
    });
  })));
  const peers = new Map(free.map((p, i) => [i + 1, { host: '127.0.0.1', port: p }]));
  const logs = [1, 2, 3].map((id) => new ReplicatedLog({ id, dataDir: join(dir, `n${id}`), listen: peers.get(id)!, peers, fsync: false, electionTicks: 20 }));
  const crashes: unknown[] = [];
  const onCrash = (e: unknown): void => void crashes.push(e);
  process.on('uncaughtException', onCrash);
  process.on('unhandledRejection', onCrash);
  const stats = { connections: 0, bursts: 0, leaderChanges: 0 };
  const leaderOf = (): ReplicatedLog | undefined => logs.find((l) => l.status().role === StateRole.Leader);
  try {
    await Promise.all(logs.map((l) => l.start()));
    const stop = Date.now() + o.seconds * 1000;
    let lastLeader = 0;
    while (Date.now() < stop) {
      const recent: Buffer[] = [];
      const conns: Array<Promise<void>> = [];
      const term = Math.max(...logs.map((l) => l.status().term));
      const last = Math.max(...logs.map((l) => l.status().lastIndex));
      for (let i = 0; i < 10; i++) {
        const to = 1 + Math.floor(rand() * 3);
        const from = [1, 2, 3].filter((x) => x !== to)[Math.floor(rand() * 2)];
        const msgs = Array.from({ length: 1 + Math.floor(rand() * 3) }, () => {
          const m = randomMessage(rand, from, to);
          // Mostly plausible: the current term, indexes around the log's end.
          if (rand() < 0.7) m.term = term;
          if (rand() < 0.5) m.index = Math.max(0, last + Math.floor(rand() * 7) - 3);
          if (rand() < 0.3) m.commit = last + Math.floor(rand() * 5);
          return m;
        });
        const bytes = Buffer.concat([
          encodeFrame(PeerFrameType.encode({ hello: { from, cluster: 'siphon' } }).finish()),
          encodeFrame(PeerFrameType.encode({ batch: { messages: msgs.map(messageToPb) } }).finish()),
        ]);
        recent.push(bytes);
        conns.push(send(peers.get(to)!.port, bytes, rand));
        stats.connections++;
      }
      await Promise.all(conns);
      stats.bursts++;
      for (const c of crashes.splice(0)) findings.add('raft3', 'uncaught', c, Buffer.concat(recent));
      // Bounded recovery: a leader commits an append, and every member holds it within 10 s.
      const t0 = Date.now();
      let index = 0;
      while (index === 0 && Date.now() - t0 < 10_000) {
        const l = leaderOf();
        if (l !== undefined) {
          try {
            index = (await l.append([Buffer.from('raft3-probe')])).index;
          } catch {
            // no leader yet, or it changed: retry
          }
        }
        if (index === 0) await new Promise((r) => setTimeout(r, 100));
      }
      while (index > 0 && Date.now() - t0 < 10_000 && logs.some((l) => l.status().applied < index)) await new Promise((r) => setTimeout(r, 50));
      const behind = logs.filter((l) => l.status().applied < index).map((l) => l.status());
      if (index === 0 || behind.length > 0) {
        findings.add('raft3', index === 0 ? 'no-commit' : 'member-left-behind', new Error(index === 0
          ? `no append committed within 10 s of a burst; ${logs.map((l) => { const st = l.status(); return `${st.id}: ${st.role} term ${st.term} leader ${st.leader} commit ${st.commit} applied ${st.applied} last ${st.lastIndex}`; }).join('; ')}`
          : `members ${behind.map((s) => `${s.id} (applied ${s.applied}, role ${s.role})`).join(', ')} still behind index ${index} 10 s after a burst`), Buffer.concat(recent));
        break;
      }
      const ld = leaderOf()?.status().id ?? 0;
      if (ld !== lastLeader) stats.leaderChanges++;
      lastLeader = ld;
    }
  } finally {
    await Promise.all(logs.map((l) => l.stop()));
    process.off('uncaughtException', onCrash);
    process.off('unhandledRejection', onCrash);
    rmSync(dir, { recursive: true, force: true });
  }
  return stats;
}
