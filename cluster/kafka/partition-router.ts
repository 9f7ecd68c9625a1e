import { Partitioners } from 'kafkajs';
import type { Admin, Kafka, Message, PartitionMetadata } from 'kafkajs';

/** One produce call's worth: messages bound for exactly one topic-partition. */
export interface PartitionBatch {
  readonly topic: string;
  readonly partition: number;
  readonly messages: Message[];
}

/**
 * Assigns every message its partition before kafkajs sees it, with the same Java-compatible
 * murmur2 rule kafkajs's DefaultPartitioner uses (keyless messages round-robin).
 *
 * Why: kafkajs 2.2.4 remembers, within one send call, which *brokers* already answered and
 * skips them on retry. When a broker dies mid-send and its partition's leadership moves to a
 * broker that already answered for other partitions, that partition's messages are never
 * re-sent, yet the call resolves — acknowledged messages lost (seen here with kill -9 on a
 * 3-broker cluster). Sending each partition in its own call leaves nothing to skip.
 */
export class PartitionRouter {
  private readonly partitioner = Partitioners.DefaultPartitioner();
  /** Partition count per topic and when it was read; re-read after `maxAgeMs` so added partitions are used. */
  private readonly counts = new Map<string, { n: number; at: number }>();
  private admin: Admin | undefined;

  constructor(
    private readonly kafka: Kafka,
    private readonly maxAgeMs = 60_000,
  ) {}

  async connect(): Promise<void> {
    if (this.admin) return;
    const admin = this.kafka.admin();
    await admin.connect();
    this.admin = admin;
  }

  async disconnect(): Promise<void> {
    const admin = this.admin;
    this.admin = undefined;
    if (admin) await admin.disconnect();
  }

  /** Forget a topic's partition count (after partitions were added, or an unknown-partition error). */
  invalidate(topic: string): void {
    this.counts.delete(topic);
  }

  async route(records: readonly { topic: string; message: Message }[]): Promise<PartitionBatch[]> {
    const out = new Map<string, PartitionBatch>();
    for (const { topic, message } of records) {
      const n = await this.partitionCount(topic);
      const partition = message.partition ?? this.partitioner({ topic, partitionMetadata: syntheticMetadata(n), message });
      if (!Number.isInteger(partition) || partition < 0 || partition >= n) throw new Error(`kafka: topic ${topic} has no partition ${partition}`);
      const id = `${topic}\u0000${partition}`;
      let batch = out.get(id);
      if (!batch) {
        batch = { topic, partition, messages: [] };
        out.set(id, batch);
      }
      batch.messages.push({ ...message, partition });
    }
    return [...out.values()];
  }

  private async partitionCount(topic: string): Promise<number> {
    const known = this.counts.get(topic);
    if (known !== undefined && Date.now() - known.at < this.maxAgeMs) return known.n;
    if (!this.admin) throw new Error('kafka producer: not connected');
    const md = await this.admin.fetchTopicMetadata({ topics: [topic] });
    const n = md.topics.find((t) => t.name === topic)?.partitions.length ?? 0;
    if (n === 0) throw new Error(`kafka: topic ${topic} does not exist`);
    this.counts.set(topic, { n, at: Date.now() });
    return n;
  }
}

const synthetic = new Map<number, PartitionMetadata[]>();
/** The partitioner only reads partition ids and whether a leader exists; the live leaders do not matter here. */
function syntheticMetadata(n: number): PartitionMetadata[] {
  let md = synthetic.get(n);
  if (!md) {
    md = Array.from({ length: n }, (_, i) => ({ partitionErrorCode: 0, partitionId: i, leader: 0, replicas: [0], isr: [0] }));
    synthetic.set(n, md);
  }
  return md;
}
