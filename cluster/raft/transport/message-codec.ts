// Raft Message <-> protobuf object. Field names follow protobufjs' camelCase mapping of raft.proto.
import { MessageType, type ConfState, type Entry, type Message, type Snapshot } from '../types.js';
import { num } from './schema.js';

/**
 * Largest term, index or node id taken off the wire. Storage records hold them in 48 bits
 * (storage/record-codec.ts), and a forged term just below that would halt the member at its next
 * election; 2^47 leaves 2^47 elections of headroom, more than any cluster will ever hold.
 */
export const MAX_WIRE_NUMBER = 2 ** 47;

/** A decoded frame whose content no member could have sent: the connection is dropped, the member lives on. */
export class WireMessageError extends Error {
  override readonly name = 'WireMessageError';
}

/** Types a member puts on the wire; the local ones (Hup, Beat, Unreachable, SnapStatus, CheckQuorum) never travel. */
const WIRE_TYPES = new Set<number>([
  MessageType.Prop, MessageType.App, MessageType.AppResp, MessageType.Vote, MessageType.VoteResp, MessageType.PreVote,
  MessageType.PreVoteResp, MessageType.Snap, MessageType.SnapResp, MessageType.Heartbeat, MessageType.HeartbeatResp,
  MessageType.TransferLeader, MessageType.TimeoutNow, MessageType.ReadIndex, MessageType.ReadIndexResp,
]);
/** EntryType values (Normal, ConfChange, Noop). */
const ENTRY_TYPES = 3;

/** A uint64 field as a number within [0, MAX_WIRE_NUMBER]; anything else refuses the frame. */
export function wireNumber(v: unknown, field: string): number {
  const n = num(v);
  if (!Number.isSafeInteger(n) || n < 0 || n > MAX_WIRE_NUMBER) throw new WireMessageError(`${field} ${String(v)} out of range`);
  return n;
}

interface PbEntry {
  term?: unknown;
  index?: unknown;
  type?: number;
  data?: Uint8Array;
}
interface PbConf {
  voters?: unknown[];
  learners?: unknown[];
  votersOutgoing?: unknown[];
  learnersNext?: unknown[];
  autoLeave?: boolean;
}
interface PbSnapshot {
  metadata?: { index?: unknown; term?: unknown; conf?: PbConf };
  data?: Uint8Array;
}
export interface PbMessage {
  type?: number;
  from?: unknown;
  to?: unknown;
  term?: unknown;
  logTerm?: unknown;
  index?: unknown;
  entries?: PbEntry[];
  commit?: unknown;
  reject?: boolean;
  rejectHint?: unknown;
  snapshot?: PbSnapshot;
  snapshotOffset?: unknown;
  snapshotDone?: boolean;
  context?: Uint8Array;
}

export function messageToPb(m: Message): PbMessage {
  const pb: PbMessage = {
    type: m.type,
    from: m.from,
    to: m.to,
    term: m.term,
    logTerm: m.logTerm,
    index: m.index,
    entries: m.entries,
    commit: m.commit,
    reject: m.reject,
    rejectHint: m.rejectHint,
  };
  if (m.snapshot) pb.snapshot = m.snapshot;
  if (m.snapshotOffset !== undefined) pb.snapshotOffset = m.snapshotOffset;
  if (m.snapshotDone !== undefined) pb.snapshotDone = m.snapshotDone;
  if (m.context !== undefined) pb.context = m.context;
  return pb;
}

const EMPTY = new Uint8Array(0);

/** protobufjs decodes an absent `bytes` field as its default, an empty plain array: normalise. */
function bytes(v: unknown): Uint8Array {
  return v instanceof Uint8Array ? v : EMPTY;
}

function entryFromPb(e: PbEntry): Entry {
  const type = e.type ?? 0;
  if (type >= ENTRY_TYPES) throw new WireMessageError(`entry type ${type} unknown`);
  return { term: wireNumber(e.term, 'entry term'), index: wireNumber(e.index, 'entry index'), type, data: bytes(e.data) };
}

const ids = (xs: unknown[] | undefined, field: string): number[] => (xs ?? []).map((x) => wireNumber(x, field));

function confFromPb(c: PbConf | undefined): ConfState {
  return {
    voters: ids(c?.voters, 'voter'),
    learners: ids(c?.learners, 'learner'),
    votersOutgoing: ids(c?.votersOutgoing, 'outgoing voter'),
    learnersNext: ids(c?.learnersNext, 'next learner'),
    autoLeave: c?.autoLeave ?? false,
  };
}

function snapshotFromPb(s: PbSnapshot): Snapshot {
  return {
    metadata: {
      index: wireNumber(s.metadata?.index, 'snapshot index'),
      term: wireNumber(s.metadata?.term, 'snapshot term'),
      conf: confFromPb(s.metadata?.conf),
    },
    data: bytes(s.data),
  };
}

/**
 * A received message, checked as far as the wire can tell: a type members send, every number within
 * [0, MAX_WIRE_NUMBER], known entry types. Throws WireMessageError otherwise (the Raft core judges the rest).
 */
export function messageFromPb(pb: PbMessage): Message {
  const type = pb.type ?? 0;
  if (!WIRE_TYPES.has(type)) throw new WireMessageError(`message type ${type} is not sent between members`);
  const m: Message = {
    type,
    from: wireNumber(pb.from, 'from'),
    to: wireNumber(pb.to, 'to'),
    term: wireNumber(pb.term, 'term'),
    logTerm: wireNumber(pb.logTerm, 'logTerm'),
    index: wireNumber(pb.index, 'index'),
    entries: (pb.entries ?? []).map(entryFromPb),
    commit: wireNumber(pb.commit, 'commit'),
    reject: pb.reject ?? false,
    rejectHint: wireNumber(pb.rejectHint, 'rejectHint'),
  };
  if (pb.snapshot) m.snapshot = snapshotFromPb(pb.snapshot);
  if (pb.snapshotOffset !== undefined && pb.snapshotOffset !== null) m.snapshotOffset = wireNumber(pb.snapshotOffset, 'snapshotOffset');
  if (pb.snapshotDone) m.snapshotDone = true;
  const ctx = bytes(pb.context);
  if (ctx.length > 0) m.context = ctx;
  return m;
}
