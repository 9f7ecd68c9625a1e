import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kafka } from 'kafkajs';
import { IdempotentProducer, createKafka, describeTopics, ensureTopics } from '../../../cluster/kafka/index.js';
import type { KafkaCluster } from '../../../ops/services-lib/index.js';
import { startKafkaCluster, stopKafkaCluster } from '../../../ops/services-lib/index.js';
import { readTopic, uniqueName } from './kafka-helpers.js';

// A dedicated three-broker cluster (RF 3, min ISR 2): killing one of its brokers must not
// disturb the shared single-broker Kafka other test files use at the same time.
let dir: string;
let cluster: KafkaCluster | undefined;
let kafka: Kafka;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'siphon-kafka3-'));
  cluster = await startKafkaCluster({
    dir,
    brokers: 3,
    // Detect the dead broker in ~3 s instead of 9 s so the test stays short.
    properties: { 'broker.session.timeout.ms': '3000', 'broker.heartbeat.interval.ms': '500' },
  });
  kafka = createKafka({ brokers: cluster.brokers.map((b) => `127.0.0.1:${b.port}`), clientId: 'failover-test' });
}, 180_000);

afterAll(async () => {
  if (cluster) await stopKafkaCluster(cluster, 5_000);
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

it('loses no acknowledged message when a broker is killed -9 mid-produce (3 brokers, RF 3, min ISR 2)', async () => {
  if (!cluster) throw new Error('cluster did not start');
  const topic = uniqueName('failover');
  await ensureTopics(kafka, [{ topic, partitions: 3, replicationFactor: 3, config: { 'min.insync.replicas': '2' } }]);
  const [before] = await describeTopics(kafka, [topic]);
  for (const p of before.partitions) expect(p.replicas).toHaveLength(3);

  // The leader of partition 0 dies: at least one partition must move to a new leader under load.
  const victim = cluster.brokers.find((b) => b.nodeId === before.partitions[0].leader);
  if (!victim) throw new Error('partition 0 has no leader');

  const producer = new IdempotentProducer(kafka);
  await producer.connect();
  const acked: string[] = [];
  let failedBatches = 0;
  let ackedAfterKill = 0;
  let killed = false;
  const batches = 60;
  const perBatch = 25;
  try {
    for (let i = 0; i < batches; i++) {
      if (i === batches / 3) {
        process.kill(victim.pid, 'SIGKILL');
        killed = true;
      }
      const values = Array.from({ length: perBatch }, (_, j) => `m-${i}-${j}`);
      try {
        await producer.send(values.map((v, j) => ({ topic, key: `k${j}`, value: v })));
        acked.push(...values);
        if (killed) ackedAfterKill += values.length;
      } catch {
        // Not acknowledged: the producer owes nothing for this batch, the test counts it.
        failedBatches++;
      }
    }
  } finally {
    await producer.disconnect();
  }
  expect(ackedAfterKill).toBeGreaterThan(0);
  expect(failedBatches).toBeLessThan(batches / 3);

  const want = new Set(acked);
  const seen = await readTopic(kafka, topic, (v) => v.length >= want.size && [...want].every((x) => v.includes(x)), { timeoutMs: 60_000 });
  const seenSet = new Set(seen);
  const lost = acked.filter((v) => !seenSet.has(v));
  expect(lost).toEqual([]);
  // Idempotence: the broker dropped every retried duplicate.
  expect(seen.length).toBe(seenSet.size);
}, 240_000);
