// Interaction scripts in the manner of etcd-raft's testdata/*.txt: a command, `----`, and the
// trace it must print (every Ready, message and state change), so a test reads like a trace a
// human can check. REWRITE=1 regenerates the expected blocks (review the diff before committing).
import { decodeConfChange } from '../../../cluster/raft/confchange/index.js';
import { MemoryStorage } from '../../../cluster/raft/memory-storage.js';
import { ErrProposalDropped } from '../../../cluster/raft/raft.js';
import { RawNode } from '../../../cluster/raft/rawnode.js';
import {
  ConfChangeType,
  EntryType,
  MessageType,
  type ConfChangeSingle,
  type Entry,
  type Message,
  type NodeId,
  type Ready,
} from '../../../cluster/raft/types.js';
import { dec, enc, seeded } from './harness.js';

const ROLE: Record<string, string> = {
  follower: 'StateFollower',
  'pre-candidate': 'StatePreCandidate',
  candidate: 'StateCandidate',
  leader: 'StateLeader',
};

function fmtEntry(e: Entry): string {
  const t = e.type === EntryType.Normal ? 'EntryNormal' : e.type === EntryType.Noop ? 'EntryNoop' : 'EntryConfChange';
  let d = '';
  if (e.type === EntryType.ConfChange) {
    const cc = decodeConfChange(e.data);
    const names = ['v', 'r', 'l'];
    d = ` ${cc.changes.map((c) => `${names[c.type]}${c.nodeId}`).join(' ') || 'leave-joint'}`;
  } else if (e.data.byteLength) {
    d = ` "${dec(e.data)}"`;
  }
  return `${e.term}/${e.index} ${t}${d}`;
}

export function fmtMsg(m: Message): string {
  let s = `${m.from}->${m.to} Msg${MessageType[m.type]} Term:${m.term} Log:${m.logTerm}/${m.index}`;
  if (m.reject) s += ` Rejected (Hint: ${m.rejectHint})`;
  if (m.commit) s += ` Commit:${m.commit}`;
  if (m.entries.length) s += ` Entries:[${m.entries.map(fmtEntry).join(', ')}]`;
  if (m.snapshot) {
    const md = m.snapshot.metadata;
    s += ` Snapshot: Index:${md.index} Term:${md.term} Voters:[${md.conf.voters.join(' ')}] Chunk@${m.snapshotOffset ?? 0}${m.snapshotDone ? ' done' : ''}`;
  }
  if (m.context?.byteLength) s += ` Ctx:${dec(m.context)}`;
  return s;
}

interface INode {
  rn: RawNode;
  st: MemoryStorage;
  inbox: Message[];
}

export class Interaction {
  private readonly nodes = new Map<NodeId, INode>();
  private readonly blocked = new Set<NodeId>();
  private out: string[] = [];

  run(cmd: string, args: Map<string, string>, positional: string[]): string {
    this.out = [];
    switch (cmd) {
      case 'add-nodes':
        this.addNodes(positional, args);
        break;
      case 'campaign':
        this.node(Number(positional[0])).rn.campaign();
        break;
      case 'propose':
        try {
          this.node(Number(positional[0])).rn.propose(enc(positional[1] ?? ''));
        } catch (e) {
          if (!(e instanceof ErrProposalDropped)) throw e;
          this.out.push(`error: ${e.message}`);
        }
        break;
      case 'propose-conf-change': {
        const changes: ConfChangeSingle[] = positional.slice(1).map((p) => {
          const type = p[0] === 'v' ? ConfChangeType.AddNode : p[0] === 'l' ? ConfChangeType.AddLearner : ConfChangeType.RemoveNode;
          return { type, nodeId: Number(p.slice(1)) };
        });
        const transition = args.get('transition') === 'explicit' ? 2 : args.get('transition') === 'implicit' ? 1 : 0;
        this.node(Number(positional[0])).rn.proposeConfChange({ changes, transition });
        break;
      }
      case 'tick-heartbeat': {
        const n = this.node(Number(positional[0]));
        for (let i = 0; i < n.rn.raft.heartbeatTimeout; i++) n.rn.tick();
        break;
      }
      case 'tick-election': {
        const n = this.node(Number(positional[0]));
        for (let i = 0; i < n.rn.raft.randomizedElectionTimeout; i++) n.rn.tick();
        break;
      }
      case 'transfer-leadership':
        this.node(Number(args.get('from'))).rn.transferLeader(Number(args.get('to')));
        break;
      case 'read-index':
        this.node(Number(positional[0])).rn.readIndex(enc(positional[1]));
        break;
      case 'compact': {
        const n = this.node(Number(positional[0]));
        const i = Number(positional[1]);
        n.st.createSnapshot(i, n.rn.status().config, enc(`snap@${i}`));
        n.st.compact(i);
        break;
      }
      case 'isolate':
        this.blocked.add(Number(positional[0]));
        break;
      case 'recover':
        this.blocked.clear();
        break;
      case 'stabilize':
        this.stabilize();
        break;
      case 'raft-state':
        for (const [id, n] of this.sorted()) {
          const s = n.rn.status();
          const c = s.config;
          const vs = c.voters.includes(id) || c.votersOutgoing.includes(id) ? 'voter' : c.learners.includes(id) ? 'learner' : 'not a member';
          this.out.push(`${id}: ${ROLE[s.role]} (${vs}) Term:${s.term} Lead:${s.lead} Commit:${s.commit}`);
        }
        break;
      case 'raft-log': {
        const n = this.node(Number(positional[0]));
        const l = n.rn.raft.raftLog;
        if (l.lastIndex() < l.firstIndex()) this.out.push(`log is empty: first index=${l.firstIndex()}, last index=${l.lastIndex()}`);
        else for (const e of l.slice(l.firstIndex(), l.lastIndex() + 1, 1e12)) this.out.push(fmtEntry(e));
        break;
      }
      default:
        throw new Error(`unknown command ${cmd}`);
    }
    return this.out.join('\n');
  }

  private sorted(): [NodeId, INode][] {
    return [...this.nodes].sort((a, b) => a[0] - b[0]);
  }

  private node(id: NodeId): INode {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  private addNodes(positional: string[], args: Map<string, string>): void {
    const count = Number(positional[0]);
    const list = (k: string): NodeId[] => (args.get(k) ?? '').replace(/[()]/g, '').split(',').filter(Boolean).map(Number);
    const voters = list('voters');
    const learners = list('learners');
    const first = this.nodes.size + 1;
    for (let id = first; id < first + count; id++) {
      const st = new MemoryStorage({ voters, learners });
      const rn = new RawNode({
        id,
        storage: st,
        electionTick: 10,
        heartbeatTick: 1,
        preVote: args.has('prevote'),
        checkQuorum: args.has('checkquorum'),
        snapshotChunkSize: Number(args.get('chunk') ?? 1 << 20),
        random: seeded(id),
      });
      this.nodes.set(id, { rn, st, inbox: [] });
      this.out.push(`INFO ${id} switched to configuration voters=(${voters.join(' ')})${learners.length ? ` learners=(${learners.join(' ')})` : ''}`);
    }
  }

  private handleReady(id: NodeId, n: INode): void {
    const rd: Ready = n.rn.ready();
    this.out.push(`> ${id} handling Ready`);
    if (rd.softState) this.out.push(`  Lead:${rd.softState.lead} State:${ROLE[rd.softState.role]}`);
    if (rd.hardState) this.out.push(`  HardState Term:${rd.hardState.term} Vote:${rd.hardState.vote} Commit:${rd.hardState.commit}`);
    if (rd.entries.length) {
      this.out.push('  Entries:');
      for (const e of rd.entries) this.out.push(`  ${fmtEntry(e)}`);
    }
    if (rd.snapshot) this.out.push(`  Snapshot Index:${rd.snapshot.metadata.index} Term:${rd.snapshot.metadata.term} Data:"${dec(rd.snapshot.data)}"`);
    if (rd.committedEntries.length) {
      this.out.push('  CommittedEntries:');
      for (const e of rd.committedEntries) this.out.push(`  ${fmtEntry(e)}`);
    }
    if (rd.readStates.length) {
      this.out.push('  ReadStates:');
      for (const r of rd.readStates) this.out.push(`  Index:${r.index} Ctx:${dec(r.requestCtx)}`);
    }
    if (rd.messages.length) {
      this.out.push('  Messages:');
      for (const m of rd.messages) this.out.push(`  ${fmtMsg(m)}`);
    }
    if (rd.snapshot) n.st.applySnapshot(rd.snapshot);
    n.st.append(rd.entries);
    if (rd.hardState) n.st.setHardState(rd.hardState);
    for (const e of rd.committedEntries) {
      if (e.type === EntryType.ConfChange) {
        const cs = n.rn.applyConfChange(decodeConfChange(e.data));
        const out = cs.votersOutgoing.length ? `&&(${cs.votersOutgoing.join(' ')})` : '';
        const l = cs.learners.length ? ` learners=(${cs.learners.join(' ')})` : '';
        const ln = cs.learnersNext.length ? ` learners_next=(${cs.learnersNext.join(' ')})` : '';
        this.out.push(`INFO ${id} switched to configuration voters=(${cs.voters.join(' ')})${out}${l}${ln}${cs.autoLeave ? ' autoleave' : ''}`);
      }
    }
    for (const m of rd.messages) {
      if (this.blocked.has(m.from) || this.blocked.has(m.to)) continue;
      const to = this.nodes.get(m.to);
      if (to) to.inbox.push(m);
      // The transport reports the last snapshot chunk as delivered.
      if (m.type === MessageType.Snap && m.snapshotDone) n.rn.reportSnapshot(m.to, true);
    }
    n.rn.advance(rd);
  }

  /** Processes Readies and delivers messages until nothing moves (etcd's `stabilize`). */
  private stabilize(): void {
    for (let round = 0; round < 1000; round++) {
      let moved = false;
      for (const [id, n] of this.sorted()) {
        if (n.rn.hasReady()) {
          this.handleReady(id, n);
          moved = true;
        }
      }
      for (const [id, n] of this.sorted()) {
        if (n.inbox.length === 0) continue;
        moved = true;
        const msgs = n.inbox;
        n.inbox = [];
        this.out.push(`> ${id} receiving messages`);
        for (const m of msgs) {
          this.out.push(`  ${fmtMsg(m)}`);
          try {
            n.rn.step(m);
          } catch (e) {
            if (!(e instanceof ErrProposalDropped)) throw e;
            this.out.push(`  error: ${e.message}`);
          }
        }
      }
      if (!moved) return;
    }
    throw new Error('stabilize did not converge');
  }
}

export interface Block {
  line: number;
  comment: string; // comment lines just above the command, kept on rewrite
  command: string;
  expected: string;
}

/** Parses `command args\n----\noutput\n\n` blocks; lines starting with # are comments. */
export function parseScript(text: string): Block[] {
  const lines = text.split('\n');
  const blocks: Block[] = [];
  let i = 0;
  let comment: string[] = [];
  while (i < lines.length) {
    const l = lines[i];
    if (l.startsWith('#')) {
      comment.push(l);
      i++;
      continue;
    }
    if (l.trim() === '') {
      i++;
      continue;
    }
    const start = i;
    const command = l.trim();
    i++;
    if (lines[i] !== '----') throw new Error(`line ${i + 1}: expected ---- after command`);
    i++;
    const out: string[] = [];
    while (i < lines.length && lines[i] !== '') out.push(lines[i++]);
    blocks.push({ line: start + 1, comment: comment.join('\n'), command, expected: out.join('\n') === 'ok' ? '' : out.join('\n') });
    comment = [];
  }
  return blocks;
}

export function splitCommand(command: string): [string, Map<string, string>, string[]] {
  const [cmd, ...rest] = command.split(/\s+/);
  const args = new Map<string, string>();
  const positional: string[] = [];
  for (const r of rest) {
    const eq = r.indexOf('=');
    if (eq > 0) args.set(r.slice(0, eq), r.slice(eq + 1));
    else if (/^[a-z]+$/.test(r) && ['prevote', 'checkquorum'].includes(r)) args.set(r, '');
    else positional.push(r);
  }
  return [cmd, args, positional];
}

export function renderScript(blocks: { comment: string; command: string; output: string }[]): string {
  return blocks
    .map((b) => `${b.comment ? `${b.comment}\n` : ''}${b.command}\n----\n${b.output === '' ? 'ok' : b.output}\n`)
    .join('\n');
}
