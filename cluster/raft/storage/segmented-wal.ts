// Segmented append-only write-ahead log with group commit.
//
// Files are `<seq:16 digits>.wal` in one directory. Appends accumulate while an fsync is in flight;
// the next flush writes them all with one writev and one fdatasync (group commit), so N concurrent
// callers cost one disk flush. A segment is sealed once it exceeds `segmentBytes`.
//
// The active segment is preallocated with zeros in `preallocBytes` steps (etcd preallocates its WAL
// for the same reason), so a record write overwrites allocated blocks and fdatasync flushes data
// only: an append that grows the file must also commit the inode size through the filesystem
// journal, queueing behind every other process's metadata. A zero run after the last record is
// free space, not a torn tail. Sealing a segment trims its zeros first, so sealed segments end
// exactly at their last record.
import fs, { promises as fsp } from 'node:fs';
import path from 'node:path';
import { fsyncDir, fsyncDirSync } from './fsync-dir.js';
import { scanSegment } from './segment-scanner.js';
import { RecordKind, type WalRecord } from './record-codec.js';

export interface WalOptions {
  dir: string;
  segmentBytes?: number;
  /** false only for throw-away tests; production keeps durability. */
  fsync?: boolean;
  /** Zero-fill step ahead of the write offset (default 1 MiB: each step costs one larger fsync; 0 = plain appends). */
  preallocBytes?: number;
}

export interface SegmentInfo {
  seq: number;
  file: string;
  /** Highest entry/marker index recorded in the segment (0 if none). */
  maxIndex: number;
  bytes: number;
}

export interface WalOpenResult {
  records: WalRecord[];
  tornTailTruncated: { file: string; offset: number } | undefined;
}

interface Waiter {
  resolve: () => void;
  reject: (e: Error) => void;
}

const SEGMENT_RE = /^(\d{16})\.wal$/;

export class SegmentedWal {
  readonly dir: string;
  private readonly segmentBytes: number;
  private readonly doFsync: boolean;
  private segments: SegmentInfo[] = [];
  private fd = -1;
  private readonly preallocBytes: number;
  /** File size of the active segment (written records + zero-filled reserve). */
  private allocated = 0;
  private pending: Buffer[] = [];
  private pendingMaxIndex = 0;
  private pendingSync = false;
  private waiters: Waiter[] = [];
  private flushing = false;
  private closed = false;
  private failed: Error | undefined;
  /** Records re-written at the head of every new segment (latest hard state / conf state). */
  headerRecords: () => Buffer[] = () => [];
  /** fdatasync on the thread pool instead of inline (see write()). */
  backgroundSync = false;
  /** Observability: flushes performed and records written. */
  stats = { flushes: 0, fsyncs: 0, records: 0 };

  constructor(opts: WalOptions) {
    this.dir = opts.dir;
    this.segmentBytes = opts.segmentBytes ?? 64 * 1024 * 1024;
    this.doFsync = opts.fsync ?? true;
    this.preallocBytes = opts.preallocBytes ?? 1024 * 1024;
  }

  /** Reads every segment in order, truncating a torn tail of the last one. */
  async open(): Promise<WalOpenResult> {
    await fsp.mkdir(this.dir, { recursive: true });
    const names = (await fsp.readdir(this.dir)).filter((n) => SEGMENT_RE.test(n)).sort();
    const records: WalRecord[] = [];
    let torn: WalOpenResult['tornTailTruncated'];
    for (let i = 0; i < names.length; i++) {
      const file = path.join(this.dir, names[i]);
      const buf = await fsp.readFile(file);
      const scan = scanSegment(file, buf, i === names.length - 1);
      if (scan.tornTail) {
        await fsp.truncate(file, scan.validBytes);
        torn = { file, offset: scan.validBytes };
      }
      let maxIndex = 0;
      for (const r of scan.records) {
        records.push(r);
        if (r.kind === RecordKind.Entry) maxIndex = Math.max(maxIndex, r.entry.index);
        else if (r.kind === RecordKind.SnapshotMarker) maxIndex = Math.max(maxIndex, r.index);
      }
      this.segments.push({ seq: Number(SEGMENT_RE.exec(names[i])![1]), file, maxIndex, bytes: scan.validBytes });
    }
    if (this.segments.length === 0) {
      this.createSegment(1);
    } else {
      const last = this.segments[this.segments.length - 1];
      this.fd = fs.openSync(last.file, 'r+');
      this.allocated = fs.fstatSync(this.fd).size;
      if (torn && this.doFsync) fs.fsyncSync(this.fd);
    }
    return { records, tornTailTruncated: torn };
  }

  /**
   * Queues records; resolves once they are written and, if `sync`, durable (one fsync shared by every
   * caller in the batch). Unsynced records become durable with the next synced batch.
   *
   * The flush runs on a microtask, so every write queued in the same turn shares one write + one
   * fdatasync. By default the syscalls are synchronous: a thread-pool round trip adds two context
   * switches per fsync, and a follower's Raft loop waits for the result anyway. With
   * `backgroundSync` the fdatasync runs on the thread pool so the event loop keeps
   * taking acks and proposals meanwhile; writes queued during it share the next fsync.
   */
  write(records: Buffer[], maxIndex: number, sync = true): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    if (this.closed) return Promise.reject(new Error('wal closed'));
    for (const r of records) this.pending.push(r);
    if (maxIndex > this.pendingMaxIndex) this.pendingMaxIndex = maxIndex;
    if (sync) this.pendingSync = true;
    const p = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    if (!this.flushing) {
      this.flushing = true;
      queueMicrotask(() => this.flush());
    }
    return p;
  }

  private flush(): void {
    if (this.pending.length === 0 || this.failed) {
      this.flushing = false;
      return;
    }
    const batch = this.pending;
    const waiters = this.waiters;
    const maxIndex = this.pendingMaxIndex;
    const sync = this.pendingSync && this.doFsync;
    this.pending = [];
    this.waiters = [];
    this.pendingMaxIndex = 0;
    this.pendingSync = false;
    const seg = this.segments[this.segments.length - 1];
    const done = (e: Error | null): void => {
      if (!e) {
        try {
          if (maxIndex > seg.maxIndex) seg.maxIndex = maxIndex;
          this.stats.flushes++;
          this.stats.records += batch.length;
          if (sync) this.stats.fsyncs++;
          if (seg.bytes >= this.segmentBytes) this.createSegment(seg.seq + 1);
        } catch (err) {
          e = err instanceof Error ? err : new Error(String(err));
        }
      }
      if (e) {
        // A failed fsync leaves the file state unknown (fsyncgate): fail this and all later writes.
        this.failed = e;
        for (const w of waiters) w.reject(e);
        for (const w of this.waiters) w.reject(e);
        this.waiters = [];
        this.pending = [];
        this.flushing = false;
        return;
      }
      for (const w of waiters) w.resolve();
      if (this.pending.length > 0) queueMicrotask(() => this.flush());
      else this.flushing = false;
    };
    try {
      const buf = batch.length === 1 ? batch[0] : Buffer.concat(batch);
      this.reserve(seg.bytes + buf.length);
      writeAt(this.fd, buf, seg.bytes);
      seg.bytes += buf.length;
      if (sync && this.backgroundSync) {
        fs.fdatasync(this.fd, (err) => done(err));
        return;
      }
      if (sync) fs.fdatasyncSync(this.fd);
    } catch (e) {
      done(e instanceof Error ? e : new Error(String(e)));
      return;
    }
    done(null);
  }

  /** Zero-fills the active segment up to at least `end` bytes, in preallocBytes steps. */
  private reserve(end: number): void {
    if (this.preallocBytes <= 0 || end <= this.allocated) return;
    const target = Math.max(end, this.allocated + this.preallocBytes);
    const zeros = Buffer.alloc(Math.min(1024 * 1024, target - this.allocated));
    while (this.allocated < target) {
      const n = Math.min(zeros.length, target - this.allocated);
      writeAt(this.fd, zeros.subarray(0, n), this.allocated);
      this.allocated += n;
    }
  }

  private createSegment(seq: number): void {
    const prev = this.segments[this.segments.length - 1];
    if (this.fd >= 0) {
      // Seal: drop the zero reserve so the sealed file ends at its last record, durably, before
      // the next segment exists (recovery treats bad bytes in a sealed segment as corruption).
      if (prev && this.allocated > prev.bytes) {
        fs.ftruncateSync(this.fd, prev.bytes);
        if (this.doFsync) fs.fsyncSync(this.fd);
      }
      fs.closeSync(this.fd);
    }
    const file = path.join(this.dir, `${String(seq).padStart(16, '0')}.wal`);
    this.fd = fs.openSync(file, 'w+');
    this.allocated = 0;
    const header = this.headerRecords();
    let bytes = 0;
    if (header.length > 0) {
      const buf = Buffer.concat(header);
      this.reserve(buf.length);
      writeAt(this.fd, buf, 0);
      bytes = buf.length;
    } else {
      this.reserve(1);
    }
    if (this.doFsync) {
      fs.fsyncSync(this.fd);
      fsyncDirSync(this.dir);
    }
    this.segments.push({ seq, file, maxIndex: 0, bytes });
  }

  /** Deletes sealed segments holding only indexes ≤ `index` (already covered by a durable snapshot). */
  async compact(index: number): Promise<number> {
    let dropped = 0;
    while (this.segments.length > 1 && this.segments[0].maxIndex <= index) {
      const seg = this.segments.shift()!;
      await fsp.rm(seg.file, { force: true });
      dropped++;
    }
    if (dropped > 0 && this.doFsync) await fsyncDir(this.dir);
    return dropped;
  }

  segmentList(): readonly SegmentInfo[] {
    return this.segments;
  }

  async close(): Promise<void> {
    while (this.flushing) await new Promise((r) => setImmediate(r));
    this.closed = true;
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
  }
}

function writeAt(fd: number, buf: Buffer, position: number): void {
  let off = 0;
  while (off < buf.length) off += fs.writeSync(fd, buf, off, buf.length - off, position + off);
}
