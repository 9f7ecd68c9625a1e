import { PostgresStore, isConnectionError } from '../../../projections/stores/index.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPostgres, stopPostgres } from '../../../ops/services-lib/index.js';
import { requireServices } from '../../setup/services.js';
import { uniqueName } from './kafka-helpers.js';

let store: PostgresStore;
const table = uniqueName('kv').replace(/-/g, '_');

beforeAll(async () => {
  const { postgres } = await requireServices(['postgres']);
  store = new PostgresStore({ url: postgres.url, retryForMs: 20_000 });
  await store.ensureKvTable(table);
}, 60_000);

afterAll(async () => {
  if (!store) return;
  await store.query(`DROP TABLE IF EXISTS "${table}"`).catch(() => undefined);
  await store.close();
});

it('connects and reports health', async () => {
  const h = await store.health();
  expect(h.ok).toBe(true);
});

it('upserts in batches, and a lower version never overwrites a newer one', async () => {
  const rows = Array.from({ length: 2500 }, (_, i) => ({ key: `aor-${i}`, value: { contact: `sip:u${i}@10.0.0.1`, q: 0.5 }, version: 10 }));
  await store.upsertMany(table, rows, 1000);
  const [{ n }] = await store.query<{ n: string }>(`SELECT count(*) AS n FROM "${table}"`);
  expect(Number(n)).toBe(2500);

  await store.upsertMany(table, [
    { key: 'aor-1', value: { contact: 'stale' }, version: 9 },
    { key: 'aor-2', value: { contact: 'newer' }, version: 11n },
  ]);
  const got = await store.getMany(table, ['aor-1', 'aor-2', 'nope']);
  expect(got.get('aor-1')).toEqual({ value: { contact: 'sip:u1@10.0.0.1', q: 0.5 }, version: 10n });
  expect(got.get('aor-2')).toEqual({ value: { contact: 'newer' }, version: 11n });
  expect(got.has('nope')).toBe(false);
});

it('keeps hostile keys and values as data', async () => {
  const evil = `x'); DROP TABLE "${table}"; --\u00e9\\`;
  await store.upsertMany(table, [{ key: evil, value: { s: evil }, version: 1 }]);
  expect((await store.getMany(table, [evil])).get(evil)?.value).toEqual({ s: evil });
  await expect(store.ensureKvTable('bad; DROP TABLE x')).rejects.toThrow(/table name/);
});

// A private throwaway cluster, so stopping it disturbs no other test file.
it('recovers after the server restarts: pooled connections are replaced, writes go on', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'siphon-pg-'));
  let server = await startPostgres(dir);
  const own = new PostgresStore({ url: `postgres://${server.user}@127.0.0.1:${server.port}/postgres`, retryForMs: 20_000 });
  try {
    await own.ensureKvTable('kv');
    await own.upsertMany('kv', [{ key: 'before', value: 1, version: 1 }]);
    // Hold several pooled connections so the restart really breaks clients the pool owns.
    await Promise.all(Array.from({ length: 3 }, () => own.health()));
    await stopPostgres(server.pid);
    expect((await own.health()).ok).toBe(false);
    // Started while the server is down: the idempotent upsert retries until it is back.
    const pending = own.upsertMany('kv', [{ key: 'during', value: 2, version: 1 }]);
    server = await startPostgres(dir, server.port);
    await pending;
    await own.upsertMany('kv', [{ key: 'after', value: 3, version: 1 }]);
    const got = await own.getMany('kv', ['before', 'during', 'after']);
    expect([...got.entries()].map(([k, v]) => [k, v.value]).sort()).toEqual([['after', 3], ['before', 1], ['during', 2]]);
    expect((await own.health()).ok).toBe(true);
    expect(own.droppedConnections).toBeGreaterThan(0);
  } finally {
    await own.close();
    await stopPostgres(server.pid);
    rmSync(dir, { recursive: true, force: true });
  }
}, 90_000);

it('classifies connection loss as retryable and other errors as not', () => {
  expect(isConnectionError(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }))).toBe(true);
  expect(isConnectionError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toBe(true);
  expect(isConnectionError(Object.assign(new Error('duplicate key'), { code: '23505' }))).toBe(false);
});
