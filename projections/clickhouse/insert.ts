import type { ClickHouse } from './client.js';

export type Row = Readonly<Record<string, unknown>>;

const TABLE = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/;
const COLUMN = /^[A-Za-z_][A-Za-z0-9_]*$/;

function checkRow(row: Row, columns: readonly string[], index: number): void {
  const keys = Object.keys(row);
  if (keys.length !== columns.length || !columns.every((c) => Object.prototype.hasOwnProperty.call(row, c))) {
    const missing = columns.filter((c) => !Object.prototype.hasOwnProperty.call(row, c));
    const extra = keys.filter((k) => !columns.includes(k));
    throw new Error(`clickhouse insert: row ${index} does not match columns (missing: ${missing.join(',') || '-'}; extra: ${extra.join(',') || '-'})`);
  }
}

/**
 * Inserts rows as JSONEachRow in batches of `batchSize`, naming the `columns` explicitly.
 * Every row must carry exactly those columns: on 18.16 an omitted field is silently stored as
 * its type's zero instead of the column DEFAULT, so a missing field is an error here.
 * Returns the number of insert requests made.
 */
export async function insertRows(ch: ClickHouse, table: string, columns: readonly string[], rows: readonly Row[], batchSize = 10_000): Promise<number> {
  if (!TABLE.test(table)) throw new Error(`clickhouse insert: bad table name ${JSON.stringify(table)}`);
  if (columns.length === 0 || !columns.every((c) => COLUMN.test(c))) throw new Error('clickhouse insert: columns must be plain identifiers');
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error('clickhouse insert: batchSize must be ≥ 1');
  rows.forEach((r, i) => checkRow(r, columns, i));
  let requests = 0;
  for (let i = 0; i < rows.length; i += batchSize) {
    await ch.client.insert({ table, values: rows.slice(i, i + batchSize), format: 'JSONEachRow', columns: [...columns] as [string, ...string[]] });
    requests++;
  }
  return requests;
}

/**
 * Accumulates rows and writes them in batches: when `batchSize` rows are pending, or on
 * `flush()`. Writes are serialised so batches land in the order they were filled.
 */
export class BatchInserter {
  private pending: Row[] = [];
  private chain: Promise<void> = Promise.resolve();
  private failure: unknown = undefined;

  constructor(
    private readonly ch: ClickHouse,
    readonly table: string,
    readonly columns: readonly string[],
    readonly batchSize = 10_000,
  ) {
    if (!TABLE.test(table)) throw new Error(`clickhouse insert: bad table name ${JSON.stringify(table)}`);
  }

  /** Queues a row (validated now, so a bad row fails its caller, not a later batch). */
  add(row: Row): void {
    if (this.failure !== undefined) throw this.failure;
    checkRow(row, this.columns, this.pending.length);
    this.pending.push(row);
    if (this.pending.length >= this.batchSize) void this.flush().catch(() => undefined);
  }

  get pendingRows(): number {
    return this.pending.length;
  }

  /** Writes everything queued so far; rejects if any batch failed. */
  flush(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    if (batch.length > 0) {
      this.chain = this.chain.then(async () => {
        if (this.failure !== undefined) return;
        try {
          await insertRows(this.ch, this.table, this.columns, batch, batch.length);
        } catch (err) {
          this.failure = err;
        }
      });
    }
    return this.chain.then(() => {
      if (this.failure !== undefined) throw this.failure;
    });
  }
}
