import type { Consumer, IHeaders, Kafka } from 'kafkajs';

export interface ConsumedRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Readonly<IHeaders>;
}

export interface ConsumerGroupOptions {
  readonly groupId: string;
  readonly topics: readonly string[];
  readonly fromBeginning?: boolean;
  /**
   * read_committed by default: records of aborted or still-open transactions are never
   * delivered (KIP-98). Only tools that inspect raw logs should read uncommitted.
   */
  readonly readUncommitted?: boolean;
  readonly sessionTimeoutMs?: number;
  readonly heartbeatIntervalMs?: number;
  /** Called per batch in offset order; offsets are committed only after it resolves. */
  readonly onBatch: (records: readonly ConsumedRecord[]) => Promise<void>;
}

export interface ConsumerGroupHandle {
  readonly consumer: Consumer;
  stop(): Promise<void>;
}

/** Joins a consumer group and feeds each fetched batch to `onBatch` (at-least-once: offsets follow processing). */
export async function startConsumerGroup(kafka: Kafka, opts: ConsumerGroupOptions): Promise<ConsumerGroupHandle> {
  const consumer = kafka.consumer({
    groupId: opts.groupId,
    readUncommitted: opts.readUncommitted ?? false,
    sessionTimeout: opts.sessionTimeoutMs ?? 10_000,
    heartbeatInterval: opts.heartbeatIntervalMs ?? 1_000,
    allowAutoTopicCreation: false,
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [...opts.topics], fromBeginning: opts.fromBeginning ?? true });
    await consumer.run({
      autoCommit: true,
      eachBatchAutoResolve: true,
      eachBatch: async ({ batch, heartbeat }) => {
        const records: ConsumedRecord[] = batch.messages.map((m) => ({
          topic: batch.topic,
          partition: batch.partition,
          offset: m.offset,
          key: m.key,
          value: m.value,
          headers: m.headers ?? {},
        }));
        if (records.length > 0) await opts.onBatch(records);
        await heartbeat();
      },
    });
  } catch (err) {
    await consumer.disconnect().catch(() => undefined);
    throw err;
  }
  return { consumer, stop: () => consumer.disconnect() };
}
