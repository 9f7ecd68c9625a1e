import type { Kafka } from 'kafkajs';

export interface TopicSpec {
  readonly topic: string;
  readonly partitions: number;
  readonly replicationFactor: number;
  /** Topic-level configs, e.g. `{ 'min.insync.replicas': '2' }`. */
  readonly config?: Readonly<Record<string, string>>;
}

export interface TopicInfo {
  readonly topic: string;
  readonly partitions: readonly { partition: number; leader: number; replicas: readonly number[]; isr: readonly number[] }[];
}

/**
 * Creates the topics that do not exist yet and waits for their partition leaders, so the first
 * produce does not race leader election. Idempotent: returns only the names it created.
 */
export async function ensureTopics(kafka: Kafka, specs: readonly TopicSpec[], timeoutMs = 30_000): Promise<string[]> {
  for (const s of specs) {
    if (!Number.isInteger(s.partitions) || s.partitions < 1) throw new Error(`kafka topic ${s.topic}: partitions must be ≥ 1`);
    if (!Number.isInteger(s.replicationFactor) || s.replicationFactor < 1) throw new Error(`kafka topic ${s.topic}: replicationFactor must be ≥ 1`);
  }
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = specs.filter((s) => !existing.has(s.topic));
    if (missing.length === 0) return [];
    await admin.createTopics({
      waitForLeaders: true,
      timeout: timeoutMs,
      topics: missing.map((s) => ({
        topic: s.topic,
        numPartitions: s.partitions,
        replicationFactor: s.replicationFactor,
        configEntries: Object.entries(s.config ?? {}).map(([name, value]) => ({ name, value })),
      })),
    });
    return missing.map((s) => s.topic);
  } finally {
    await admin.disconnect();
  }
}

export async function describeTopics(kafka: Kafka, topics: readonly string[]): Promise<TopicInfo[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const md = await admin.fetchTopicMetadata({ topics: [...topics] });
    return md.topics.map((t) => ({
      topic: t.name,
      partitions: t.partitions.map((p) => ({ partition: p.partitionId, leader: p.leader, replicas: p.replicas, isr: p.isr })),
    }));
  } finally {
    await admin.disconnect();
  }
}

export async function deleteTopics(kafka: Kafka, topics: readonly string[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const present = topics.filter((t) => existing.has(t));
    if (present.length > 0) await admin.deleteTopics({ topics: present });
  } finally {
    await admin.disconnect();
  }
}

/** Committed end offsets per partition (the high watermark visible to read_committed readers is ≤ this). */
export async function topicEndOffsets(kafka: Kafka, topic: string): Promise<Map<number, bigint>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offs = await admin.fetchTopicOffsets(topic);
    return new Map(offs.map((o) => [o.partition, BigInt(o.high)]));
  } finally {
    await admin.disconnect();
  }
}
