// On-disk record framing: [u32 BE payload length][u32 BE CRC32C(payload)][payload].
// CRC32C (Castagnoli) is what etcd's WAL and most storage engines use; hardware accelerated.
import { crc32c } from '@node-rs/crc32';
import type { ConfState, Entry, EntryType, HardState } from '../types.js';

export const RECORD_HEADER_BYTES = 8;
/** A single record never exceeds this; a larger length field is garbage (torn or corrupt). */
export const MAX_RECORD_BYTES = 256 * 1024 * 1024;

export enum RecordKind {
  Entry = 1,
  HardState = 2,
  ConfState = 3,
  /** A snapshot was installed at (index, term): everything before it in the WAL is superseded. */
  SnapshotMarker = 4,
}

export type WalRecord =
  | { kind: RecordKind.Entry; entry: Entry }
  | { kind: RecordKind.HardState; hardState: HardState }
  | { kind: RecordKind.ConfState; confState: ConfState }
  | { kind: RecordKind.SnapshotMarker; index: number; term: number };

// Raft indexes and terms fit in 48 bits for ~9e15 entries; 6-byte fields keep records compact.
const U48 = 6;

export function frame(payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(RECORD_HEADER_BYTES + payload.length);
  out.writeUInt32BE(payload.length, 0);
  out.writeUInt32BE(crc32c(payload), 4);
  payload.copy(out, RECORD_HEADER_BYTES);
  return out;
}

/** Frames an entry directly into one buffer (hot path: no intermediate payload copy). */
export function encodeEntryRecord(e: Entry): Buffer {
  const payloadLen = 1 + U48 + U48 + 1 + e.data.length;
  const out = Buffer.allocUnsafe(RECORD_HEADER_BYTES + payloadLen);
  out.writeUInt32BE(payloadLen, 0);
  let o = RECORD_HEADER_BYTES;
  out[o++] = RecordKind.Entry;
  out.writeUIntBE(e.term, o, U48);
  o += U48;
  out.writeUIntBE(e.index, o, U48);
  o += U48;
  out[o++] = e.type;
  out.set(e.data, o);
  out.writeUInt32BE(crc32c(out.subarray(RECORD_HEADER_BYTES)), 4);
  return out;
}

export function encodeHardStateRecord(hs: HardState): Buffer {
  const p = Buffer.allocUnsafe(1 + 3 * U48);
  p[0] = RecordKind.HardState;
  p.writeUIntBE(hs.term, 1, U48);
  p.writeUIntBE(hs.vote, 1 + U48, U48);
  p.writeUIntBE(hs.commit, 1 + 2 * U48, U48);
  return frame(p);
}

export function encodeConfStateRecord(cs: ConfState): Buffer {
  const json = Buffer.from(JSON.stringify(cs), 'utf8');
  const p = Buffer.allocUnsafe(1 + json.length);
  p[0] = RecordKind.ConfState;
  json.copy(p, 1);
  return frame(p);
}

export function encodeSnapshotMarkerRecord(index: number, term: number): Buffer {
  const p = Buffer.allocUnsafe(1 + 2 * U48);
  p[0] = RecordKind.SnapshotMarker;
  p.writeUIntBE(index, 1, U48);
  p.writeUIntBE(term, 1 + U48, U48);
  return frame(p);
}

/** Decodes a CRC-verified payload. Returns undefined when the payload is not a well-formed record. */
export function decodePayload(p: Buffer): WalRecord | undefined {
  if (p.length < 1) return undefined;
  switch (p[0]) {
    case RecordKind.Entry: {
      if (p.length < 1 + 2 * U48 + 1) return undefined;
      const term = p.readUIntBE(1, U48);
      const index = p.readUIntBE(1 + U48, U48);
      const type = p[1 + 2 * U48] as EntryType;
      // Copy: the scan buffer is reused/large, entries must not pin it.
      const data = Uint8Array.prototype.slice.call(p, 2 + 2 * U48);
      return { kind: RecordKind.Entry, entry: { term, index, type, data } };
    }
    case RecordKind.HardState: {
      if (p.length !== 1 + 3 * U48) return undefined;
      return {
        kind: RecordKind.HardState,
        hardState: { term: p.readUIntBE(1, U48), vote: p.readUIntBE(1 + U48, U48), commit: p.readUIntBE(1 + 2 * U48, U48) },
      };
    }
    case RecordKind.ConfState: {
      try {
        return { kind: RecordKind.ConfState, confState: JSON.parse(p.subarray(1).toString('utf8')) as ConfState };
      } catch {
        return undefined;
      }
    }
    case RecordKind.SnapshotMarker: {
      if (p.length !== 1 + 2 * U48) return undefined;
      return { kind: RecordKind.SnapshotMarker, index: p.readUIntBE(1, U48), term: p.readUIntBE(1 + U48, U48) };
    }
    default:
      return undefined;
  }
}

/** Checks the record starting at `off`: returns its total size if length, CRC and payload are valid. */
export function validRecordAt(buf: Buffer, off: number): number | undefined {
  if (off + RECORD_HEADER_BYTES > buf.length) return undefined;
  const len = buf.readUInt32BE(off);
  if (len === 0 || len > MAX_RECORD_BYTES || off + RECORD_HEADER_BYTES + len > buf.length) return undefined;
  const payload = buf.subarray(off + RECORD_HEADER_BYTES, off + RECORD_HEADER_BYTES + len);
  if (crc32c(payload) !== buf.readUInt32BE(off + 4)) return undefined;
  if (decodePayload(payload) === undefined) return undefined;
  return RECORD_HEADER_BYTES + len;
}
