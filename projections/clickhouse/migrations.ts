import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClickHouse } from './client.js';

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly statements: readonly string[];
}

const FILE = /^(\d{3,})_([a-z0-9_]+)\.sql$/;

/**
 * The migrations shipped with the project. tsc does not copy .sql files into dist/, so from
 * dist/projections/clickhouse the source folder is found three levels up.
 */
export function defaultMigrationsDir(): string {
  const here = fileURLToPath(new URL('.', import.meta.url));
  const candidates = [join(here, 'migrations'), join(here, '..', '..', '..', 'projections', 'clickhouse', 'migrations')];
  const found = candidates.find((d) => existsSync(d));
  if (!found) throw new Error(`clickhouse migrations folder not found (looked in ${candidates.join(', ')})`);
  return found;
}

/** Reads `NNN_name.sql` files in version order; one file may hold several `;`-terminated statements. */
export function loadMigrations(dir: string = defaultMigrationsDir()): Migration[] {
  const out: Migration[] = [];
  const seen = new Set<number>();
  for (const file of readdirSync(dir).sort()) {
    if (!file.endsWith('.sql')) continue;
    const m = FILE.exec(file);
    if (!m) throw new Error(`clickhouse migration ${file}: name must be NNN_lower_snake.sql`);
    const version = Number(m[1]);
    if (seen.has(version)) throw new Error(`clickhouse migration ${file}: version ${version} used twice`);
    seen.add(version);
    out.push({ version, name: m[2], statements: splitStatements(readFileSync(join(dir, file), 'utf8')) });
  }
  return out.sort((a, b) => a.version - b.version);
}

/**
 * Splits on `;` at the end of a line (ClickHouse's HTTP interface runs one statement per
 * request). Migration files are project code, so this simple rule is enough: a `;` that ends
 * a line inside a string literal would need the statement on one line.
 */
export function splitStatements(text: string): string[] {
  const withoutComments = text
    .split('\n')
    .filter((l) => !/^\s*--/.test(l))
    .join('\n');
  return withoutComments
    .split(/;[ \t]*(?:\r?\n|$)/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

const LEDGER = 'schema_migrations';

/**
 * Applies, in version order, every migration not yet recorded in `schema_migrations` of the
 * client's database; returns the versions it applied. Statements should be idempotent
 * (`IF NOT EXISTS`): a migration interrupted half-way is simply run again.
 */
export async function migrate(ch: ClickHouse, migrations: readonly Migration[] = loadMigrations()): Promise<number[]> {
  await ch.command(`CREATE TABLE IF NOT EXISTS ${LEDGER} (version UInt32, name String, applied_at DateTime) ENGINE = TinyLog`);
  const done = new Set((await ch.query<{ version: number }>(`SELECT version FROM ${LEDGER}`)).map((r) => Number(r.version)));
  const applied: number[] = [];
  for (const m of migrations) {
    if (done.has(m.version)) continue;
    for (const stmt of m.statements) await ch.command(stmt);
    await ch.command(`INSERT INTO ${LEDGER} (version, name, applied_at) VALUES ({v:UInt32}, {n:String}, {t:DateTime})`, { v: m.version, n: m.name, t: new Date() });
    applied.push(m.version);
  }
  return applied;
}

export async function appliedMigrations(ch: ClickHouse): Promise<number[]> {
  const rows = await ch.query<{ version: number }>(`SELECT version FROM ${LEDGER} ORDER BY version`);
  return rows.map((r) => Number(r.version));
}
