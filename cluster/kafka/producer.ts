import { Partitioners } from 'kafkajs';
import type { Kafka, Message, Producer, RecordMetadata, RetryOptions, Transaction } from 'kafkajs';
import { PartitionRouter } from './partition-router.js';

export interface ProducerOptions {
  /**
   * Per-request retries. The default rides out a leader election after a broker dies (the
   * controller fences a silent broker after broker.session.timeout.ms, 9 s by default) and
   * still gives up within about a minute instead of hanging a caller for ever.
   */
  readonly retry?: RetryOptions;
}

const DEFAULT_RETRY: RetryOptions = { retries: 15, initialRetryTime: 200, maxRetryTime: 5_000 };

export interface OutgoingRecord {
  readonly topic: string;
  readonly key?: string | Buffer | null;
  readonly value: string | Buffer | null;
  readonly partition?: number;
  readonly headers?: Readonly<Record<string, string | Buffer>>;
}

/** The broker bumped this transactional id's epoch for a newer producer: this one must stop for good. */
export class ProducerFencedError extends Error {
  constructor(readonly transactionalId: string, cause: unknown) {
    super(`kafka producer '${transactionalId}' was fenced by a newer producer with the same transactional id`, { cause });
    this.name = 'ProducerFencedError';
  }
}

// Kafka answers a fenced producer with INVALID_PRODUCER_EPOCH (47) or, since KIP-588, PRODUCER_FENCED (90).
const FENCED_TYPES = new Set(['INVALID_PRODUCER_EPOCH', 'PRODUCER_FENCED']);
const FENCED_CODES = new Set([47, 90]);

export function isFencedError(err: unknown): boolean {
  // Duck-typed, following `originalError`/`cause`: errors may come from another realm (vm contexts).
  for (let e: unknown = err, depth = 0; typeof e === 'object' && e !== null && depth < 5; depth++) {
    const t = e as { type?: unknown; code?: unknown; message?: unknown; originalError?: unknown; cause?: unknown };
    if ((typeof t.type === 'string' && FENCED_TYPES.has(t.type)) || (typeof t.code === 'number' && FENCED_CODES.has(t.code))) return true;
    if (typeof t.message === 'string' && /fenced|INVALID_PRODUCER_EPOCH|producer epoch/i.test(t.message)) return true;
    e = t.originalError ?? t.cause;
  }
  return false;
}

function toMessage(r: OutgoingRecord): Message {
  return {
    key: r.key ?? null,
    value: r.value,
    ...(r.partition !== undefined ? { partition: r.partition } : {}),
    ...(r.headers ? { headers: { ...r.headers } } : {}),
  };
}

/**
 * Sends every partition's batch in its own kafkajs call (see PartitionRouter for why) and
 * checks that each one came back acknowledged without error.
 */
async function sendRouted(
  router: PartitionRouter,
  records: readonly OutgoingRecord[],
  send: (topic: string, messages: Message[]) => Promise<RecordMetadata[]>,
): Promise<RecordMetadata[]> {
  const batches = await router.route(records.map((r) => ({ topic: r.topic, message: toMessage(r) })));
  const results = await Promise.all(
    batches.map(async (b) => {
      const meta = await send(b.topic, b.messages);
      const ack = meta.find((m) => m.topicName === b.topic && m.partition === b.partition);
      if (!ack || ack.errorCode !== 0) throw new Error(`kafka: no acknowledgement for ${b.topic}[${b.partition}]`);
      return meta;
    }),
  );
  return results.flat();
}

/**
 * Idempotent (non-transactional) producer: acks=all, broker-side de-duplication of retries by
 * producer id + sequence number, so a retried batch is never written twice (KIP-98).
 */
export class IdempotentProducer {
  private readonly producer: Producer;
  private readonly router: PartitionRouter;

  constructor(kafka: Kafka, opts: ProducerOptions = {}) {
    this.router = new PartitionRouter(kafka);
    this.producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      // Java-compatible murmur2 key hashing: the same key lands on the same partition as in any Kafka client.
      createPartitioner: Partitioners.DefaultPartitioner,
      retry: opts.retry ?? DEFAULT_RETRY,
    });
  }

  async connect(): Promise<void> {
    await this.router.connect();
    await this.producer.connect();
  }

  /** Resolves once every record is acknowledged by all in-sync replicas (acks=all). */
  send(records: readonly OutgoingRecord[]): Promise<RecordMetadata[]> {
    return sendRouted(this.router, records, (topic, messages) => this.producer.send({ topic, messages, acks: -1 }));
  }

  async disconnect(): Promise<void> {
    await this.producer.disconnect();
    await this.router.disconnect();
  }
}

/**
 * Idempotent transactional producer (exactly-once writes across partitions). Each
 * `inTransaction` call is one Kafka transaction: committed when the callback resolves, aborted
 * when it throws, so a read_committed consumer sees all of it or none of it.
 */
export class TransactionalProducer {
  private readonly producer: Producer;
  private readonly router: PartitionRouter;
  private fenced = false;

  constructor(kafka: Kafka, readonly transactionalId: string, opts: ProducerOptions & { transactionTimeoutMs?: number } = {}) {
    this.router = new PartitionRouter(kafka);
    this.producer = kafka.producer({
      transactionalId,
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
      retry: opts.retry ?? DEFAULT_RETRY,
      transactionTimeout: opts.transactionTimeoutMs ?? 30_000,
    });
  }

  /**
   * Connects and registers the transactional id with its coordinator (KIP-98 initTransactions:
   * InitProducerId bumps the epoch), which fences any older producer holding the id and aborts
   * its open transaction. kafkajs registers lazily on the first transaction, so an empty one is
   * begun and ended here; with no partitions added it sends no EndTxn.
   */
  async connect(): Promise<void> {
    await this.router.connect();
    await this.producer.connect();
    try {
      const txn = await this.producer.transaction();
      await txn.abort();
    } catch (err) {
      throw this.classify(err);
    }
  }

  get isFenced(): boolean {
    return this.fenced;
  }

  async inTransaction<T>(work: (tx: TransactionWriter) => Promise<T>): Promise<T> {
    if (this.fenced) throw new ProducerFencedError(this.transactionalId, undefined);
    let txn: Transaction;
    try {
      txn = await this.producer.transaction();
    } catch (err) {
      throw this.classify(err);
    }
    const writer = new TransactionWriter(txn, this.router);
    try {
      const result = await work(writer);
      await txn.commit();
      return result;
    } catch (err) {
      if (isFencedError(err)) throw this.classify(err);
      // A fenced producer must not even try to abort; anyone else aborts so nothing stays pending.
      await txn.abort().catch(() => undefined);
      throw this.classify(err);
    }
  }

  /** Convenience: one transaction holding exactly these records. */
  sendInTransaction(records: readonly OutgoingRecord[]): Promise<RecordMetadata[]> {
    return this.inTransaction((tx) => tx.send(records));
  }

  async disconnect(): Promise<void> {
    await this.producer.disconnect();
    await this.router.disconnect();
  }

  private classify(err: unknown): unknown {
    if (!isFencedError(err)) return err;
    this.fenced = true;
    return err instanceof ProducerFencedError ? err : new ProducerFencedError(this.transactionalId, err);
  }
}

/** The handle a transaction's callback writes through. */
export class TransactionWriter {
  constructor(
    private readonly txn: Transaction,
    private readonly router: PartitionRouter,
  ) {}

  send(records: readonly OutgoingRecord[]): Promise<RecordMetadata[]> {
    return sendRouted(this.router, records, (topic, messages) => this.txn.send({ topic, messages, acks: -1 }));
  }

  /** Commits a consumer group's offsets atomically with this transaction (consume-transform-produce). */
  sendOffsets(groupId: string, topics: { topic: string; partitions: { partition: number; offset: string }[] }[]): Promise<void> {
    return this.txn.sendOffsets({ consumerGroupId: groupId, topics });
  }
}
