// Snapshot files: `snap-<index:16>-<term:16>.snap` = [magic "RSN1"][u32 meta len][u32 CRC32C(rest)][meta JSON][data].
// Written to a temp file, fsynced, renamed into place, then the directory fsynced, so a crash
// leaves either the old snapshot set or the new one, never a half file under a real name.
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { crc32c } from '@node-rs/crc32';
import type { Snapshot, SnapshotMetadata } from '../types.js';
import { SnapshotCorruptionError } from './errors.js';
import { fsyncDir } from './fsync-dir.js';

const MAGIC = Buffer.from('RSN1', 'ascii');
const NAME_RE = /^snap-(\d{16})-(\d{16})\.snap$/;

export function encodeSnapshot(s: Snapshot): Buffer {
  const meta = Buffer.from(JSON.stringify(s.metadata), 'utf8');
  const out = Buffer.allocUnsafe(12 + meta.length + s.data.length);
  MAGIC.copy(out, 0);
  out.writeUInt32BE(meta.length, 4);
  meta.copy(out, 12);
  out.set(s.data, 12 + meta.length);
  out.writeUInt32BE(crc32c(out.subarray(12)), 8);
  return out;
}

export function decodeSnapshot(file: string, buf: Buffer): Snapshot {
  if (buf.length < 12 || !buf.subarray(0, 4).equals(MAGIC)) throw new SnapshotCorruptionError(file, 'bad magic');
  const metaLen = buf.readUInt32BE(4);
  if (12 + metaLen > buf.length) throw new SnapshotCorruptionError(file, 'metadata length past end of file');
  if (crc32c(buf.subarray(12)) !== buf.readUInt32BE(8)) throw new SnapshotCorruptionError(file, 'CRC32C mismatch');
  const metadata = JSON.parse(buf.subarray(12, 12 + metaLen).toString('utf8')) as SnapshotMetadata;
  return { metadata, data: Uint8Array.prototype.slice.call(buf, 12 + metaLen) };
}

export class SnapshotStore {
  constructor(
    readonly dir: string,
    private readonly doFsync = true,
  ) {}

  async save(s: Snapshot): Promise<string> {
    await fsp.mkdir(this.dir, { recursive: true });
    const name = `snap-${pad(s.metadata.index)}-${pad(s.metadata.term)}.snap`;
    const final = path.join(this.dir, name);
    const tmp = `${final}.tmp`;
    const fh = await fsp.open(tmp, 'w');
    try {
      await fh.writeFile(encodeSnapshot(s));
      if (this.doFsync) await fh.sync();
    } finally {
      await fh.close();
    }
    await fsp.rename(tmp, final);
    if (this.doFsync) await fsyncDir(this.dir);
    return final;
  }

  /** Newest snapshot, or undefined. A damaged newest snapshot refuses loudly rather than falling back. */
  async loadLatest(): Promise<Snapshot | undefined> {
    await fsp.mkdir(this.dir, { recursive: true });
    const names = (await fsp.readdir(this.dir)).filter((n) => NAME_RE.test(n)).sort();
    if (names.length === 0) return undefined;
    const file = path.join(this.dir, names[names.length - 1]);
    return decodeSnapshot(file, await fsp.readFile(file));
  }

  /** Removes all but the newest `keep` snapshots and any leftover temp files. */
  async prune(keep = 1): Promise<void> {
    const all = await fsp.readdir(this.dir);
    for (const n of all) if (n.endsWith('.tmp')) await fsp.rm(path.join(this.dir, n), { force: true });
    const names = all.filter((n) => NAME_RE.test(n)).sort();
    for (const n of names.slice(0, Math.max(0, names.length - keep))) await fsp.rm(path.join(this.dir, n), { force: true });
  }
}

function pad(n: number): string {
  return String(n).padStart(16, '0');
}
