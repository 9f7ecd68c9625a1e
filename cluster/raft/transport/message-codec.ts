// Raft Message <-> protobuf object. Field names follow protobufjs' camelCase mapping of raft.proto.
import type { ConfState, Entry, Message, Snapshot } from '../types.js';
import { num } from './schema.js';

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
  return { term: num(e.term), index: num(e.index), type: e.type ?? 0, data: bytes(e.data) };
}

function confFromPb(c: PbConf | undefined): ConfState {
  return {
    voters: (c?.voters ?? []).map(num),
    learners: (c?.learners ?? []).map(num),
    votersOutgoing: (c?.votersOutgoing ?? []).map(num),
    learnersNext: (c?.learnersNext ?? []).map(num),
    autoLeave: c?.autoLeave ?? false,
  };
}

function snapshotFromPb(s: PbSnapshot): Snapshot {
  return {
    metadata: { index: num(s.metadata?.index), term: num(s.metadata?.term), conf: confFromPb(s.metadata?.conf) },
    data: bytes(s.data),
  };
}

export function messageFromPb(pb: PbMessage): Message {
  const m: Message = {
    type: pb.type ?? 0,
    from: num(pb.from),
    to: num(pb.to),
    term: num(pb.term),
    logTerm: num(pb.logTerm),
    index: num(pb.index),
    entries: (pb.entries ?? []).map(entryFromPb),
    commit: num(pb.commit),
    reject: pb.reject ?? false,
    rejectHint: num(pb.rejectHint),
  };
  if (pb.snapshot) m.snapshot = snapshotFromPb(pb.snapshot);
  if (pb.snapshotOffset !== undefined && pb.snapshotOffset !== null) m.snapshotOffset = num(pb.snapshotOffset);
  if (pb.snapshotDone) m.snapshotDone = true;
  const ctx = bytes(pb.context);
  if (ctx.length > 0) m.context = ctx;
  return m;
}
