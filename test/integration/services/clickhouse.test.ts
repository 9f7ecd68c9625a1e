import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClickHouse, ClickHouseOptions, Row } from '../../../projections/clickhouse/index.js';
import { BatchInserter, BindError, CDR_COLUMNS, appliedMigrations, clickHouseErrorCode, createClickHouse, ensureDatabase, insertRows, loadMigrations, migrate } from '../../../projections/clickhouse/index.js';
import { requireServices } from '../../setup/services.js';
import { uniqueName } from './kafka-helpers.js';

let ch: ClickHouse;
let opts: ClickHouseOptions;
const database = uniqueName('t').replace(/-/g, '_');

function cdrRow(i: number, caller = `+4930${String(i % 97).padStart(6, '0')}`): Row {
  return {
    event_date: '2026-11-26',
    start_time: `2026-11-26 10:${String(Math.floor(i / 60) % 60).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}`,
    call_id: `call-${i}@siphon`,
    caller,
    callee: `+4989${String(i).padStart(6, '0')}`,
    duration_ms: (i * 37) % 600_000,
    log_index: String(1_000_000 + i),
    disconnect_reason: i % 3 === 0 ? null : 'BYE',
    direction: (['inbound', 'outbound', 'internal'] as const)[i % 3],
    route: ['p-cscf', 's-cscf'],
  };
}

beforeAll(async () => {
  const { clickhouse } = await requireServices(['clickhouse']);
  opts = { url: clickhouse.url, username: clickhouse.username, password: clickhouse.password, database };
  await ensureDatabase(opts, database);
  ch = createClickHouse(opts);
}, 120_000);

afterAll(async () => {
  if (!ch) return;
  await ch.command('DROP DATABASE IF EXISTS {db:Identifier}', { db: database });
  await ch.close();
});

describe('clickhouse migrations', () => {
  it('creates the tables from the versioned files once, and records them', async () => {
    expect(await ch.ping()).toBe(true);
    const all = loadMigrations();
    expect(all.map((m) => m.version)).toEqual([...all.map((m) => m.version)].sort((a, b) => a - b));
    expect(await migrate(ch)).toEqual(all.map((m) => m.version));
    expect(await migrate(ch)).toEqual([]);
    expect(await appliedMigrations(ch)).toEqual(all.map((m) => m.version));
    const cols = await ch.query<{ name: string }>('SELECT name FROM system.columns WHERE database = {db:String} AND table = {t:String}', { db: database, t: 'cdr' });
    expect(cols.map((c) => c.name)).toEqual([...CDR_COLUMNS]);
  });

  it('applies a new migration file with several statements, and refuses badly named files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ch-migrations-'));
    try {
      writeFileSync(join(dir, '001_one.sql'), 'CREATE TABLE IF NOT EXISTS m_one (x UInt8) ENGINE = Memory;\n');
      writeFileSync(join(dir, '002_two.sql'), '-- two statements\nCREATE TABLE IF NOT EXISTS m_two (x UInt8) ENGINE = Memory;\nINSERT INTO m_two VALUES (7);\n');
      await ensureDatabase(opts, `${database}_m`);
      const other = createClickHouse({ ...opts, database: `${database}_m` });
      try {
        expect(await migrate(other, loadMigrations(dir))).toEqual([1, 2]);
        expect(await other.query('SELECT x FROM m_two')).toEqual([{ x: 7 }]);
        writeFileSync(join(dir, '3-bad.sql'), 'SELECT 1');
        expect(() => loadMigrations(dir)).toThrow(/NNN_lower_snake/);
      } finally {
        await other.command('DROP DATABASE IF EXISTS {db:Identifier}', { db: `${database}_m` });
        await other.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('clickhouse inserts', () => {
  it('writes rows in JSONEachRow batches with explicit columns', async () => {
    await migrate(ch);
    const rows = Array.from({ length: 2500 }, (_, i) => cdrRow(i));
    expect(await insertRows(ch, 'cdr', CDR_COLUMNS, rows, 1000)).toBe(3);
    const [c] = await ch.query<{ n: string }>('SELECT count() AS n FROM cdr WHERE call_id LIKE {p:String}', { p: 'call-%' });
    expect(Number(c.n)).toBe(2500);
    const [r] = await ch.query<Record<string, unknown>>('SELECT * FROM cdr WHERE call_id = {id:String}', { id: 'call-3@siphon' });
    expect(r).toEqual({ ...cdrRow(3), log_index: '1000003' });
  });

  it('rejects a row that lacks a column instead of storing a silent default', async () => {
    const { route: _route, ...partial } = cdrRow(1);
    await expect(insertRows(ch, 'cdr', CDR_COLUMNS, [partial])).rejects.toThrow(/missing: route/);
    await expect(insertRows(ch, 'cdr; DROP TABLE cdr', CDR_COLUMNS, [cdrRow(1)])).rejects.toThrow(/bad table name/);
  });

  it('batches through BatchInserter and reports server errors with their code', async () => {
    const b = new BatchInserter(ch, 'cdr', CDR_COLUMNS, 100);
    for (let i = 10_000; i < 10_250; i++) b.add(cdrRow(i, 'batcher'));
    await b.flush();
    const [c] = await ch.query<{ n: string }>('SELECT count() AS n FROM cdr WHERE caller = {c:String}', { c: 'batcher' });
    expect(Number(c.n)).toBe(250);
    const err = await ch.query('SELECT * FROM no_such_table').catch((e: unknown) => e);
    expect(clickHouseErrorCode(err)).toBe(60); // UNKNOWN_TABLE
  });
});

describe('clickhouse hostile input is data, never SQL', () => {
  const hostile = [
    "O'Brien",
    "'; DROP TABLE cdr; --",
    "\\'; DROP TABLE cdr; --",
    'back\\slash\\',
    '\\',
    "'",
    'nul\u0000byte',
    'line\nbreak\r\nand\ttab',
    '"double" `back` {x:String}',
    '/* comment */ -- dash',
    'emoji 📞 ü ß',
    '\u007f\u0001\u001f',
  ];

  it('round-trips through JSONEachRow inserts and bound queries unchanged', async () => {
    await migrate(ch);
    const rows = hostile.map((h, i) => ({ ...cdrRow(50_000 + i, h), callee: h, route: [h, 'x'] }));
    await insertRows(ch, 'cdr', CDR_COLUMNS, rows);
    for (const h of hostile) {
      const found = await ch.query<{ caller: string; callee: string; route: string[] }>('SELECT caller, callee, route FROM cdr WHERE caller = {c:String} AND callee = {c2:String}', { c: h, c2: h });
      expect(found).toEqual([{ caller: h, callee: h, route: [h, 'x'] }]);
      const [echo] = await ch.query<{ s: string; a: string[] }>('SELECT {s:String} AS s, {a:Array(String)} AS a', { s: h, a: [h, h] });
      expect(echo).toEqual({ s: h, a: [h, h] });
    }
    const [tables] = await ch.query<{ n: string }>('SELECT count() AS n FROM system.tables WHERE database = {db:String} AND name = {t:String}', { db: database, t: 'cdr' });
    expect(Number(tables.n)).toBe(1);
  });

  it('binds every supported type against the real server', async () => {
    const [r] = await ch.query<Record<string, unknown>>(
      'SELECT {d:Date} AS d, {t:DateTime} AS t, {u:UInt64} AS u, {i:Int32} AS i, {f:Float64} AS f, {n:Nullable(String)} AS n, {a:Array(UInt32)} AS a, {id:UUID} AS id',
      { d: '2024-02-29', t: new Date('2024-01-02T03:04:05Z'), u: '18446744073709551615', i: -5, f: 2.5, n: null, a: [1, 2, 3], id: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11' },
    );
    expect(r).toEqual({ d: '2024-02-29', t: '2024-01-02 03:04:05', u: '18446744073709551615', i: -5, f: 2.5, n: null, a: [1, 2, 3], id: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11' });
    await expect(ch.query('SELECT {n:UInt32} AS n', { n: "1; DROP TABLE cdr" })).rejects.toBeInstanceOf(BindError);
  });
});
