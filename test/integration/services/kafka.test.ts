import type { Kafka } from 'kafkajs';
import { ProducerFencedError, TransactionalProducer, createKafka, describeTopics, ensureTopics } from '../../../cluster/kafka/index.js';
import { requireServices } from '../../setup/services.js';
import { readTopic, uniqueName } from './kafka-helpers.js';

let kafka: Kafka;

beforeAll(async () => {
  const { kafka: ep } = await requireServices(['kafka']);
  kafka = createKafka({ brokers: ep.brokers, clientId: 'kafka-test' });
}, 180_000);

describe('kafka admin', () => {
  it('creates topics with the requested partitions and replication, idempotently', async () => {
    const topic = uniqueName('admin');
    expect(await ensureTopics(kafka, [{ topic, partitions: 3, replicationFactor: 1 }])).toEqual([topic]);
    expect(await ensureTopics(kafka, [{ topic, partitions: 3, replicationFactor: 1 }])).toEqual([]);
    const [info] = await describeTopics(kafka, [topic]);
    expect(info.partitions).toHaveLength(3);
    for (const p of info.partitions) expect(p.replicas).toHaveLength(1);
  });

  it('rejects a topic spec with no partitions before talking to the broker', async () => {
    await expect(ensureTopics(kafka, [{ topic: uniqueName('bad'), partitions: 0, replicationFactor: 1 }])).rejects.toThrow(/partitions/);
  });
});

describe('kafka transactional producer', () => {
  it('keeps a transaction aborted mid-way invisible to a read_committed consumer', async () => {
    const topic = uniqueName('txn');
    await ensureTopics(kafka, [{ topic, partitions: 1, replicationFactor: 1 }]);
    const producer = new TransactionalProducer(kafka, uniqueName('txid'));
    await producer.connect();
    try {
      await producer.sendInTransaction([
        { topic, value: 'committed-1' },
        { topic, value: 'committed-2' },
      ]);
      // Records are written to the log, then the work fails before the commit: the producer aborts.
      await expect(
        producer.inTransaction(async (tx) => {
          await tx.send([{ topic, value: 'aborted-1' }]);
          await tx.send([{ topic, value: 'aborted-2' }]);
          throw new Error('work failed mid-transaction');
        }),
      ).rejects.toThrow('work failed mid-transaction');
      await producer.sendInTransaction([{ topic, value: 'committed-3' }]);
    } finally {
      await producer.disconnect();
    }

    const committed = await readTopic(kafka, topic, (v) => v.includes('committed-3'));
    expect(committed).toEqual(['committed-1', 'committed-2', 'committed-3']);
    // The aborted records really are in the log: a read_uncommitted reader sees them.
    const raw = await readTopic(kafka, topic, (v) => v.includes('committed-3'), { readUncommitted: true });
    expect(raw).toEqual(['committed-1', 'committed-2', 'aborted-1', 'aborted-2', 'committed-3']);
  });

  it('fences the first producer when a second one registers the same transactional id', async () => {
    const topic = uniqueName('fence');
    const txid = uniqueName('txid');
    await ensureTopics(kafka, [{ topic, partitions: 1, replicationFactor: 1 }]);
    const first = new TransactionalProducer(kafka, txid);
    const second = new TransactionalProducer(kafka, txid);
    await first.connect();
    try {
      let releaseFirst: () => void = () => undefined;
      let markSent: () => void = () => undefined;
      const secondRegistered = new Promise<void>((r) => (releaseFirst = r));
      const firstSent = new Promise<void>((r) => (markSent = r));
      const firstOutcome = first
        .inTransaction(async (tx) => {
          await tx.send([{ topic, value: 'zombie' }]);
          markSent();
          await secondRegistered; // the newer instance takes over while this transaction is open
        })
        .then(
          () => 'committed',
          (err: unknown) => err,
        );
      await firstSent;
      await second.connect();
      releaseFirst();
      expect(await firstOutcome).toBeInstanceOf(ProducerFencedError);
      expect(first.isFenced).toBe(true);
      await expect(first.sendInTransaction([{ topic, value: 'zombie-2' }])).rejects.toBeInstanceOf(ProducerFencedError);

      await second.sendInTransaction([{ topic, value: 'successor' }]);
    } finally {
      await first.disconnect().catch(() => undefined);
      await second.disconnect();
    }
    const seen = await readTopic(kafka, topic, (v) => v.includes('successor'));
    expect(seen).toEqual(['successor']);
  });
});
