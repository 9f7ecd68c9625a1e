// A failed fsync (EIO, a disk gone read-only) leaves the file state unknown ("fsyncgate"): the WAL
// must fail that write and every later one instead of retrying, and the log must stop serving and
// tell its host, which exits so a supervisor restarts it and recovery reads what is on disk.
// The failure is injected by replacing fs.fdatasyncSync for the duration of one test.
import fs, { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LogStoppedError, ReplicatedLog } from '../../../cluster/log/index.js';
import { DiskStorage } from '../../../cluster/raft/storage/index.js';
import { EntryType, StateRole } from '../../../cluster/raft/types.js';
import { until } from '../../helpers/eventually.js';

let dir: string;
const realFdatasyncSync = fs.fdatasyncSync;
beforeEach(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'raft-eio-'));
});
afterEach(async () => {
  fs.fdatasyncSync = realFdatasyncSync;
  await fsp.rm(dir, { recursive: true, force: true });
});

function failFsync(): void {
  fs.fdatasyncSync = () => {
    throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
  };
}


test('storage: a failed fsync fails that save and every later one, even once the disk answers again', async () => {
  const s = await DiskStorage.open(dir);
  const entry = (i: number) => ({ index: i, term: 1, type: EntryType.Normal, data: Buffer.from(`e${i}`) });
  await s.save({ term: 1, vote: 1, commit: 0 }, [entry(1)]);
  failFsync();
  await expect(s.save(undefined, [entry(2)])).rejects.toThrow('EIO');
  fs.fdatasyncSync = realFdatasyncSync;
  await expect(s.save(undefined, [entry(3)])).rejects.toThrow('EIO');
  await s.close().catch(() => undefined);
  // What was acknowledged is on disk; a restart starts from it.
  const r = await DiskStorage.open(dir);
  expect(r.lastIndex()).toBeGreaterThanOrEqual(1);
  expect(Buffer.from(r.entries(1, 2)[0].data).toString()).toBe('e1');
  await r.close();
});

test('log: an fsync failure halts the node: pending and later appends fail, onHalt names the cause, a restart serves again', async () => {
  const halted: Error[] = [];
  const open = () =>
    new ReplicatedLog({ id: 1, dataDir: dir, listen: { host: '127.0.0.1', port: 0 }, peers: new Map(), onHalt: (e) => halted.push(e) });
  const a = open();
  await a.start();
  await until(() => a.status().role === StateRole.Leader);
  const ok = await a.append([Buffer.from('durable')]);
  failFsync();
  await expect(a.append([Buffer.from('lost')])).rejects.toBeInstanceOf(LogStoppedError);
  await until(() => halted.length === 1);
  expect(halted[0].message).toContain('EIO');
  await expect(a.append([Buffer.from('after')])).rejects.toBeInstanceOf(LogStoppedError);
  await a.stop();

  fs.fdatasyncSync = realFdatasyncSync;
  const b = open();
  await b.start();
  try {
    await until(() => b.status().role === StateRole.Leader && b.status().applied >= ok.index);
    expect(b.readCommitted(1, 10).map((e) => Buffer.from(e.data).toString())[0]).toBe('durable');
    const next = await b.append([Buffer.from('again')]);
    expect(next.index).toBeGreaterThan(ok.index);
    expect(halted).toHaveLength(1);
  } finally {
    await b.stop();
  }
});
