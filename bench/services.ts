/**
 * Outside-service throughput from Node on this machine (issue 4):
 *  - Kafka produce: 1 KiB records, acks=all, idempotent producer, single-broker KRaft;
 *  - ClickHouse insert: 10-column CDR-shaped rows (table `cdr`, migration 001) as JSONEachRow
 *    batches of 10,000 with explicit columns, rows built before timing starts.
 * Starts the services it needs (and stops them again if it started them) through
 * ops/services-lib. Bounded: fixed record counts. Writes bench/results/services.json.
 * Run: `npm run bench:services` (after `npx tsc -p .`).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { IdempotentProducer, createKafka, deleteTopics, ensureTopics } from '../cluster/kafka/index.js';
import { CDR_COLUMNS, createClickHouse, ensureDatabase, insertRows, migrate } from '../projections/clickhouse/index.js';
import type { Row } from '../projections/clickhouse/index.js';
import { readRecord, release, repoRoot, up } from '../ops/services-lib/index.js';

const KAFKA_MESSAGES = Number(process.env.BENCH_KAFKA_MESSAGES ?? 50_000);
const KAFKA_BATCH = Number(process.env.BENCH_KAFKA_BATCH ?? 500);
const KAFKA_PARTITIONS = 3;
const CH_ROWS = Number(process.env.BENCH_CH_ROWS ?? 200_000);
const CH_BATCH = 10_000;

const percentile = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const round = (x: number, d = 1): number => Math.round(x * 10 ** d) / 10 ** d;

async function benchKafka(brokers: string[]): Promise<Record<string, unknown>> {
  const kafka = createKafka({ brokers, clientId: 'bench-services' });
  const topic = `bench-produce-${Date.now()}`;
  await ensureTopics(kafka, [{ topic, partitions: KAFKA_PARTITIONS, replicationFactor: 1 }]);
  const producer = new IdempotentProducer(kafka);
  await producer.connect();
  const value = Buffer.alloc(1024, 0x61);
  const batches = Math.ceil(KAFKA_MESSAGES / KAFKA_BATCH);
  // Warm-up: connections, metadata, producer id, JIT on both sides.
  for (let i = 0; i < 5; i++) await producer.send(Array.from({ length: KAFKA_BATCH }, (_, j) => ({ topic, key: `w${j}`, value })));
  const lat: number[] = [];
  const t0 = performance.now();
  for (let b = 0; b < batches; b++) {
    const records = Array.from({ length: KAFKA_BATCH }, (_, j) => ({ topic, key: `k${(b * KAFKA_BATCH + j) % 10_000}`, value }));
    const s = performance.now();
    await producer.send(records);
    lat.push(performance.now() - s);
  }
  const secs = (performance.now() - t0) / 1000;
  await producer.disconnect();
  await deleteTopics(kafka, [topic]);
  const n = batches * KAFKA_BATCH;
  return {
    messages: n,
    message_bytes: 1024,
    batch_messages: KAFKA_BATCH,
    partitions: KAFKA_PARTITIONS,
    acks: 'all',
    idempotent: true,
    seconds: round(secs, 2),
    msgs_per_s: Math.round(n / secs),
    mib_per_s: round((n * 1024) / secs / 1048576, 2),
    batch_ms_p50: round(percentile(lat, 50)),
    batch_ms_p99: round(percentile(lat, 99)),
  };
}

function cdrRow(i: number): Row {
  const t = 1_764_000_000 + i;
  const d = new Date(t * 1000).toISOString();
  return {
    event_date: d.slice(0, 10),
    start_time: `${d.slice(0, 10)} ${d.slice(11, 19)}`,
    call_id: `${i.toString(36)}-bench@siphon.example`,
    caller: `+49301${String(i % 50_000).padStart(7, '0')}`,
    callee: `+49891${String((i * 7) % 90_000).padStart(7, '0')}`,
    duration_ms: (i * 7919) % 3_600_000,
    log_index: String(10_000_000 + i),
    disconnect_reason: i % 5 === 0 ? null : 'BYE',
    direction: (['inbound', 'outbound', 'internal'] as const)[i % 3],
    route: ['p-cscf.example', 's-cscf.example'],
  };
}

async function benchClickHouse(url: string): Promise<Record<string, unknown>> {
  const database = `bench_${Date.now()}`;
  await ensureDatabase({ url }, database);
  const ch = createClickHouse({ url, database });
  try {
    await migrate(ch);
    const rows = Array.from({ length: CH_ROWS }, (_, i) => cdrRow(i));
    await insertRows(ch, 'cdr', CDR_COLUMNS, rows.slice(0, CH_BATCH), CH_BATCH); // warm-up batch
    const lat: number[] = [];
    const t0 = performance.now();
    for (let i = 0; i < rows.length; i += CH_BATCH) {
      const s = performance.now();
      await insertRows(ch, 'cdr', CDR_COLUMNS, rows.slice(i, i + CH_BATCH), CH_BATCH);
      lat.push(performance.now() - s);
    }
    const secs = (performance.now() - t0) / 1000;
    const [c] = await ch.query<{ n: string }>('SELECT count() AS n FROM cdr');
    return {
      rows: CH_ROWS,
      columns: CDR_COLUMNS.length,
      batch_rows: CH_BATCH,
      format: 'JSONEachRow',
      seconds: round(secs, 2),
      rows_per_s: Math.round(CH_ROWS / secs),
      batch_ms_p50: round(percentile(lat, 50)),
      batch_ms_max: round(Math.max(...lat)),
      rows_in_table: Number(c.n),
    };
  } finally {
    await ch.command('DROP DATABASE IF EXISTS {db:Identifier}', { db: database }).catch(() => undefined);
    await ch.close();
  }
}

async function main(): Promise<void> {
  const runId = `bench-${process.pid}`;
  // The box is shared (2 cores): record how busy it was, numbers are only comparable at similar load.
  const loadBefore = round(loadavg()[0], 2);
  const endpoints = await up(['kafka', 'clickhouse'], { startedBy: 'test', lease: { runId, pid: process.pid } });
  try {
    if (!endpoints.kafka || !endpoints.clickhouse) throw new Error('services did not come up');
    const kafka = await benchKafka(endpoints.kafka.brokers);
    console.log('kafka', kafka);
    const clickhouse = await benchClickHouse(endpoints.clickhouse.url);
    console.log('clickhouse', clickhouse);
    const result = {
      kafka: { ...kafka, version: readRecord('kafka')?.version, brokers: endpoints.kafka.brokers.length },
      clickhouse: { ...clickhouse, version: readRecord('clickhouse')?.version },
      machine: { cpus: cpus().length, cpu_model: cpus()[0]?.model, mem_gib: round(totalmem() / 2 ** 30), node: process.version, load_avg_1m_before: loadBefore, load_avg_1m_after: round(loadavg()[0], 2) },
      date: new Date().toISOString(),
    };
    const dir = join(repoRoot(), 'bench', 'results');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'services.json'), JSON.stringify(result, null, 2) + '\n');
    console.log(`written ${join(dir, 'services.json')}`);
  } finally {
    await release(runId);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
