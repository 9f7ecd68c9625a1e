// Reads one segment file and tells a torn tail apart from mid-log corruption.
//
// A crash during a write can leave the last record incomplete or with a bad CRC (a torn tail):
// nothing after it was ever acknowledged, so recovery truncates it away and starts. A bad record
// FOLLOWED by a valid one cannot come from a crash of an append-only writer: bytes were damaged at
// rest, acknowledged data may be lost, and starting would silently diverge. That refuses loudly.
import { LogCorruptionError } from './errors.js';
import { RECORD_HEADER_BYTES, decodePayload, validRecordAt, type WalRecord } from './record-codec.js';

export interface SegmentScan {
  records: WalRecord[];
  /** Byte length of the valid prefix. */
  validBytes: number;
  /** True when bytes after validBytes were discarded as a torn tail. */
  tornTail: boolean;
}

/** How far past a bad record we look for a valid one (a torn tail is at most one write batch). */
const RESYNC_WINDOW = 4 * 1024 * 1024;

export function scanSegment(file: string, buf: Buffer, isLastSegment: boolean): SegmentScan {
  const records: WalRecord[] = [];
  let off = 0;
  while (off < buf.length) {
    const size = validRecordAt(buf, off);
    if (size === undefined && isLastSegment && isZeroFrom(buf, off)) {
      // Preallocated, never-written space after the last record: the normal end of the active segment.
      return { records, validBytes: off, tornTail: false };
    }
    if (size === undefined) {
      const resync = findValidRecordAfter(buf, off);
      if (!isLastSegment) {
        throw new LogCorruptionError(file, off, 'invalid record in a sealed (non-last) segment');
      }
      if (resync !== undefined) {
        throw new LogCorruptionError(file, off, `invalid record followed by a valid record at offset ${resync}`);
      }
      return { records, validBytes: off, tornTail: true };
    }
    records.push(decodePayload(buf.subarray(off + RECORD_HEADER_BYTES, off + size)) as WalRecord);
    off += size;
  }
  return { records, validBytes: off, tornTail: false };
}

function findValidRecordAfter(buf: Buffer, bad: number): number | undefined {
  // Fast path: the bad record's own length field may still be right (a flipped payload byte).
  if (bad + RECORD_HEADER_BYTES <= buf.length) {
    const next = bad + RECORD_HEADER_BYTES + buf.readUInt32BE(bad);
    if (next < buf.length && validRecordAt(buf, next) !== undefined) return next;
  }
  const end = Math.min(buf.length - RECORD_HEADER_BYTES, bad + RESYNC_WINDOW);
  for (let o = bad + 1; o <= end; o++) {
    // Zero length is never written; skipping zeros keeps the scan of a zero-filled tail cheap.
    if (buf.readUInt32BE(o) === 0) continue;
    if (validRecordAt(buf, o) !== undefined) return o;
  }
  return undefined;
}

const ZERO_CHUNK = Buffer.alloc(64 * 1024);

function isZeroFrom(buf: Buffer, off: number): boolean {
  for (let o = off; o < buf.length; o += ZERO_CHUNK.length) {
    const end = Math.min(buf.length, o + ZERO_CHUNK.length);
    if (buf.compare(ZERO_CHUNK, 0, end - o, o, end) !== 0) return false;
  }
  return true;
}
