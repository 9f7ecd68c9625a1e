import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DiskStorage, LogCorruptionError, CompactedError } from '../../../cluster/raft/storage/index.js';
import { EntryType, type Entry } from '../../../cluster/raft/types.js';

const conf = { voters: [1, 2, 3], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };

function ents(from: number, to: number, term: number, tag = 'x'): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) out.push({ index: i, term, type: EntryType.Normal, data: Buffer.from(`${tag}${i}`) });
  return out;
}

let dir: string;
beforeEach(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'raft-storage-'));
});
afterEach(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

async function walFiles(): Promise<string[]> {
  return (await fsp.readdir(path.join(dir, 'wal'))).sort().map((n) => path.join(dir, 'wal', n));
}

test('restart recovers entries, hard state and conf state', async () => {
  const s = await DiskStorage.open(dir);
  await s.setConfState(conf);
  await s.save({ term: 3, vote: 2, commit: 7 }, ents(1, 10, 3));
  await s.close();
  const r = await DiskStorage.open(dir);
  expect(r.initialState()).toEqual({ hardState: { term: 3, vote: 2, commit: 7 }, confState: conf });
  expect(r.firstIndex()).toBe(1);
  expect(r.lastIndex()).toBe(10);
  expect(Buffer.from(r.entries(4, 6)[1].data).toString()).toBe('x5');
  expect(r.term(10)).toBe(3);
  expect(r.recovery.tornTailTruncated).toBeUndefined();
  await r.close();
});

test('a torn last record is truncated away and the node starts', async () => {
  const s = await DiskStorage.open(dir, { preallocBytes: 0 }); // plain file: the tail is the last record
  await s.save({ term: 1, vote: 1, commit: 0 }, []);
  await s.save(undefined, ents(1, 20, 1));
  await s.close();
  const [file] = await walFiles();
  const size = (await fsp.stat(file)).size;
  await fsp.truncate(file, size - 3); // crash in the middle of the last record
  const r = await DiskStorage.open(dir, { preallocBytes: 0 });
  expect(r.lastIndex()).toBe(19);
  expect(r.initialState().hardState).toEqual({ term: 1, vote: 1, commit: 0 });
  expect(r.recovery.tornTailTruncated?.file).toBe(file);
  const validBytes = r.recovery.tornTailTruncated!.offset;
  expect((await fsp.stat(file)).size).toBe(validBytes);
  // The log keeps working after recovery, and the new tail survives another restart.
  await r.save(undefined, ents(20, 22, 1, 'y'));
  await r.close();
  const r2 = await DiskStorage.open(dir, { preallocBytes: 0 });
  expect(r2.lastIndex()).toBe(22);
  expect(Buffer.from(r2.entries(20, 21)[0].data).toString()).toBe('y20');
  await r2.close();
});

test('a garbage / zero-filled tail after the last record is a torn tail, not corruption', async () => {
  const s = await DiskStorage.open(dir);
  await s.save(undefined, ents(1, 5, 1));
  await s.close();
  const [file] = await walFiles();
  await fsp.appendFile(file, Buffer.concat([Buffer.from([0, 0, 0, 40, 1, 2, 3, 4, 9, 9]), Buffer.alloc(4096)]));
  const r = await DiskStorage.open(dir);
  expect(r.lastIndex()).toBe(5);
  expect(r.recovery.tornTailTruncated).toBeDefined();
  await r.close();
});

test('a flipped byte mid-log refuses to start with a typed error naming file and offset', async () => {
  const s = await DiskStorage.open(dir, { preallocBytes: 0 });
  for (let i = 1; i <= 30; i++) await s.save(undefined, ents(i, i, 1));
  await s.close();
  const [file] = await walFiles();
  const buf = await fsp.readFile(file);
  const victim = Math.floor(buf.length / 2);
  buf[victim] ^= 0x40;
  await fsp.writeFile(file, buf);
  let err: unknown;
  try {
    await DiskStorage.open(dir);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(LogCorruptionError);
  const lc = err as LogCorruptionError;
  expect(lc.file).toBe(file);
  expect(lc.offset).toBeLessThanOrEqual(victim);
  expect(lc.offset).toBeGreaterThan(victim - 40);
  expect(lc.message).toContain(file);
  expect(lc.message).toMatch(/offset \d+/);
});

test('a flipped length field mid-log is corruption too', async () => {
  const s = await DiskStorage.open(dir);
  for (let i = 1; i <= 10; i++) await s.save(undefined, ents(i, i, 1));
  await s.close();
  const [file] = await walFiles();
  const buf = await fsp.readFile(file);
  // First record starts at 0: make its length point past the end of the file.
  buf[0] = 0x7f;
  await fsp.writeFile(file, buf);
  await expect(DiskStorage.open(dir)).rejects.toBeInstanceOf(LogCorruptionError);
});

test('group commit: concurrent appends share fsyncs', async () => {
  const s = await DiskStorage.open(dir);
  const writes: Promise<void>[] = [];
  for (let i = 1; i <= 200; i++) writes.push(s.save(undefined, ents(i, i, 1)));
  await Promise.all(writes);
  const st = s.walStats();
  expect(st.records).toBe(200);
  expect(st.flushes).toBeLessThanOrEqual(2);
  await s.close();
  const r = await DiskStorage.open(dir);
  expect(r.lastIndex()).toBe(200);
  await r.close();
});

test('suffix overwrite on conflict truncates from the conflicting index, in memory and after restart', async () => {
  const s = await DiskStorage.open(dir);
  await s.save({ term: 1, vote: 1, commit: 2 }, ents(1, 6, 1, 'old'));
  await s.save({ term: 2, vote: 0, commit: 2 }, ents(4, 5, 2, 'new'));
  expect(s.lastIndex()).toBe(5);
  expect(s.term(3)).toBe(1);
  expect(s.term(4)).toBe(2);
  await s.close();
  const r = await DiskStorage.open(dir);
  expect(r.lastIndex()).toBe(5);
  expect(r.entries(1, 6).map((e) => Buffer.from(e.data).toString())).toEqual(['old1', 'old2', 'old3', 'new4', 'new5']);
  expect(r.initialState().hardState).toEqual({ term: 2, vote: 0, commit: 2 });
  await r.close();
});

test('snapshot + compaction drops whole segments below the snapshot and survives restart', async () => {
  const s = await DiskStorage.open(dir, { segmentBytes: 512 });
  await s.setConfState(conf);
  for (let i = 1; i <= 100; i += 5) await s.save({ term: 1, vote: 1, commit: i + 4 }, ents(i, i + 4, 1));
  const before = s.segmentCount();
  expect(before).toBeGreaterThan(5);
  const snap = await s.createSnapshot(80, conf, Buffer.from('state@80'));
  expect(snap.metadata).toEqual({ index: 80, term: 1, conf });
  expect(s.segmentCount()).toBeLessThan(before);
  expect(s.firstIndex()).toBe(81);
  expect(() => s.entries(70, 90)).toThrow(CompactedError);
  expect(s.term(80)).toBe(1);
  await s.close();
  const r = await DiskStorage.open(dir, { segmentBytes: 512 });
  expect(r.firstIndex()).toBe(81);
  expect(r.lastIndex()).toBe(100);
  expect(Buffer.from(r.snapshot().data).toString()).toBe('state@80');
  expect(r.initialState()).toEqual({ hardState: { term: 1, vote: 1, commit: 100 }, confState: conf });
  expect(Buffer.from(r.entries(81, 82)[0].data).toString()).toBe('x81');
  await r.close();
});

test('an installed snapshot supersedes a conflicting log, also after restart', async () => {
  const s = await DiskStorage.open(dir);
  await s.save({ term: 1, vote: 1, commit: 0 }, ents(1, 10, 1, 'stale'));
  const snap = { metadata: { index: 50, term: 4, conf }, data: Buffer.from('leader-state') };
  await s.save({ term: 4, vote: 0, commit: 50 }, [], snap);
  expect(s.firstIndex()).toBe(51);
  expect(s.lastIndex()).toBe(50);
  await s.save(undefined, ents(51, 52, 4, 'fresh'));
  await s.close();
  const r = await DiskStorage.open(dir);
  expect(r.firstIndex()).toBe(51);
  expect(r.lastIndex()).toBe(52);
  expect(r.term(50)).toBe(4);
  expect(r.entries(51, 53).map((e) => Buffer.from(e.data).toString())).toEqual(['fresh51', 'fresh52']);
  await r.close();
});

test('a commit-only hard state change is written without an fsync; term/vote changes and entries are synced', async () => {
  const s = await DiskStorage.open(dir);
  await s.save({ term: 1, vote: 1, commit: 0 }, ents(1, 3, 1), undefined, false);
  expect(s.walStats().fsyncs).toBe(1);
  await s.save({ term: 1, vote: 1, commit: 3 }, [], undefined, false);
  expect(s.walStats().fsyncs).toBe(1);
  await s.save({ term: 2, vote: 0, commit: 3 }, [], undefined, false);
  expect(s.walStats().fsyncs).toBe(2);
  await s.close();
  const r = await DiskStorage.open(dir);
  expect(r.initialState().hardState).toEqual({ term: 2, vote: 0, commit: 3 });
  await r.close();
});

test('recovery spans many segments; a torn tail in the last one is cut, damage in a sealed one refuses', async () => {
  const s = await DiskStorage.open(dir, { segmentBytes: 300 });
  for (let i = 1; i <= 60; i++) await s.save({ term: 1, vote: 1, commit: i - 1 }, ents(i, i, 1));
  expect(s.segmentCount()).toBeGreaterThan(5);
  await s.close();
  const files = await walFiles();
  const last = files[files.length - 1];
  await fsp.appendFile(last, Buffer.from([0, 0, 1, 0, 0xde, 0xad])); // half-written next record
  const r = await DiskStorage.open(dir, { segmentBytes: 300 });
  expect(r.lastIndex()).toBe(60);
  expect(r.initialState().hardState.commit).toBe(59);
  expect(r.recovery.tornTailTruncated?.file).toBe(last);
  await r.close();

  const sealed = files[1];
  const buf = await fsp.readFile(sealed);
  buf[buf.length - 1] ^= 0xff; // last record of a sealed segment: not a tail, corruption
  await fsp.writeFile(sealed, buf);
  await expect(DiskStorage.open(dir, { segmentBytes: 300 })).rejects.toThrow(/sealed/);
});

test('snapshot files are written via temp + rename; a damaged snapshot refuses loudly', async () => {
  const s = await DiskStorage.open(dir);
  await s.setConfState(conf);
  await s.save({ term: 1, vote: 1, commit: 5 }, ents(1, 5, 1));
  await s.createSnapshot(5, conf, Buffer.from('state'));
  await s.close();
  const snapDir = path.join(dir, 'snap');
  const names = await fsp.readdir(snapDir);
  expect(names.filter((n) => n.endsWith('.tmp'))).toEqual([]);
  expect(names).toHaveLength(1);
  const f = path.join(snapDir, names[0]);
  const b = await fsp.readFile(f);
  b[b.length - 2] ^= 1;
  await fsp.writeFile(f, b);
  await expect(DiskStorage.open(dir)).rejects.toThrow(/snapshot corrupt.*CRC32C/);
});

test('background fsync (leader mode): writes queued during an fsync share the next one, all durable', async () => {
  const s = await DiskStorage.open(dir);
  s.setBackgroundSync(true);
  const first = s.save(undefined, ents(1, 1, 1));
  await Promise.resolve(); // the first flush is now in flight on the thread pool
  const rest: Promise<void>[] = [];
  for (let i = 2; i <= 100; i++) rest.push(s.save(undefined, ents(i, i, 1)));
  await Promise.all([first, ...rest]);
  expect(s.walStats().fsyncs).toBeLessThanOrEqual(2);
  await s.close();
  const r = await DiskStorage.open(dir);
  expect(r.lastIndex()).toBe(100);
  await r.close();
});

describe('preallocated segments (zero reserve ahead of the write offset)', () => {
  test('the zero reserve is free space, not a torn tail; appends resume at the data end', async () => {
    const s = await DiskStorage.open(dir, { preallocBytes: 64 * 1024 });
    await s.save({ term: 1, vote: 1, commit: 0 }, ents(1, 10, 1));
    await s.close();
    const [file] = await walFiles();
    expect((await fsp.stat(file)).size).toBe(64 * 1024);
    const r = await DiskStorage.open(dir, { preallocBytes: 64 * 1024 });
    expect(r.recovery.tornTailTruncated).toBeUndefined();
    expect(r.lastIndex()).toBe(10);
    await r.save(undefined, ents(11, 12, 1));
    await r.close();
    const r2 = await DiskStorage.open(dir, { preallocBytes: 64 * 1024 });
    expect(r2.entries(1, 13).map((e) => Buffer.from(e.data).toString())).toEqual(ents(1, 12, 1).map((e) => Buffer.from(e.data).toString()));
    await r2.close();
  });

  test('a torn record inside the reserve is cut; a flipped byte in the data refuses', async () => {
    const s = await DiskStorage.open(dir, { preallocBytes: 64 * 1024 });
    for (let i = 1; i <= 20; i++) await s.save(undefined, ents(i, i, 1));
    await s.close();
    const [file] = await walFiles();
    const buf = await fsp.readFile(file);
    let end = buf.length;
    while (end > 0 && buf[end - 1] === 0) end--; // data end (records never end in a zero CRC here)
    const torn = Buffer.from(buf);
    torn.writeUInt32BE(50, end); // a record header promising 50 bytes...
    torn[end + 8] = 1; // ...of which only one was written before the crash
    await fsp.writeFile(file, torn);
    const r = await DiskStorage.open(dir, { preallocBytes: 64 * 1024 });
    expect(r.lastIndex()).toBe(20);
    expect(r.recovery.tornTailTruncated).toBeDefined();
    await r.close();

    const bad = await fsp.readFile(file);
    bad[Math.floor(end / 2)] ^= 0x10;
    await fsp.writeFile(file, bad);
    await expect(DiskStorage.open(dir, { preallocBytes: 64 * 1024 })).rejects.toBeInstanceOf(LogCorruptionError);
  });

  test('sealed segments are trimmed to their last record', async () => {
    const s = await DiskStorage.open(dir, { segmentBytes: 400, preallocBytes: 4096 });
    for (let i = 1; i <= 40; i++) await s.save({ term: 1, vote: 1, commit: i - 1 }, ents(i, i, 1));
    await s.close();
    const files = await walFiles();
    expect(files.length).toBeGreaterThan(3);
    for (const f of files.slice(0, -1)) {
      const b = await fsp.readFile(f);
      expect(b[b.length - 1] !== 0 || b[b.length - 2] !== 0 || b[b.length - 3] !== 0).toBe(true);
      expect(b.length).toBeLessThan(4096);
    }
    const r = await DiskStorage.open(dir, { segmentBytes: 400, preallocBytes: 4096 });
    expect(r.lastIndex()).toBe(40);
    expect(r.initialState().hardState.commit).toBe(39);
    await r.close();
  });
});

test('a commit-only hard state change writes nothing on its own, rides the next write, and close() keeps it', async () => {
  const s = await DiskStorage.open(dir);
  await s.save({ term: 2, vote: 1, commit: 0 }, ents(1, 5, 2));
  const before = s.walStats();
  await s.save({ term: 2, vote: 1, commit: 3 }, [], undefined, false);
  expect(s.walStats()).toEqual(before);
  expect(s.initialState().hardState.commit).toBe(3);
  // The next write carries it (one record more than the entries).
  await s.save(undefined, ents(6, 6, 2));
  expect(s.walStats().records).toBe(before.records + 2);
  await s.save({ term: 2, vote: 1, commit: 6 }, [], undefined, false);
  await s.close();
  const r = await DiskStorage.open(dir);
  expect(r.initialState().hardState).toEqual({ term: 2, vote: 1, commit: 6 });
  expect(r.lastIndex()).toBe(6);
  await r.close();
});

test('a term or vote change is written and synced even when the caller says sync=false', async () => {
  const s = await DiskStorage.open(dir);
  await s.save({ term: 1, vote: 0, commit: 0 }, []);
  const before = s.walStats();
  await s.save({ term: 2, vote: 3, commit: 0 }, [], undefined, false);
  expect(s.walStats().fsyncs).toBe(before.fsyncs + 1);
  await s.close();
});
