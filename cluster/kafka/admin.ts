import type { Admin, Kafka } from 'kafkajs';

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
      // kafkajs's own wait gives up on UNKNOWN_TOPIC_OR_PARTITION from a broker whose metadata
      // cache lags the controller (seen with 3 KRaft brokers); waitForTopicLeaders retries it.
      waitForLeaders: false,
      timeout: timeoutMs,
      topics: missing.map((s) => ({
        topic: s.topic,
        numPartitions: s.partitions,
        replicationFactor: s.replicationFactor,
        configEntries: Object.entries(s.config ?? {}).map(([name, value]) => ({ name, value })),
      })),
    });
    await waitForTopicLeaders(admin, missing, timeoutMs);
    return missing.map((s) => s.topic);
  } finally {
    await admin.disconnect();
  }
}

/**
 * Polls metadata until every partition of every topic has a leader and its full replica set.
 * Each broker learns new topics from the KRaft metadata log on its own schedule and kafkajs
 * asks a random broker, so readiness must be seen several times in a row, not once.
 */
async function waitForTopicLeaders(admin: Admin, specs: readonly TopicSpec[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  let streak = 0;
  while (Date.now() < deadline) {
    try {
      const md = await admin.fetchTopicMetadata({ topics: specs.map((s) => s.topic) });
      const ready = specs.every((s) => {
        const t = md.topics.find((x) => x.name === s.topic);
        return t !== undefined && t.partitions.length === s.partitions && t.partitions.every((p) => p.leader >= 0 && p.replicas.length === s.replicationFactor);
      });
      streak = ready ? streak + 1 : 0;
      if (streak >= 3) return;
    } catch (err) {
      last = err;
      streak = 0;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`kafka: topics ${specs.map((s) => s.topic).join(', ')} have no leaders after ${timeoutMs} ms`, { cause: last });
}

export async function describeTopics(kafka: Kafka, topics: readonly string[]): Promise<TopicInfo[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const md = await retryMetadataLag(() => admin.fetchTopicMetadata({ topics: [...topics] }));
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

/** UNKNOWN_TOPIC_OR_PARTITION right after a create is a lagging broker's metadata cache: retry it briefly. */
async function retryMetadataLag<T>(fn: () => Promise<T>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      const type = (err as { type?: unknown }).type;
      if (type !== 'UNKNOWN_TOPIC_OR_PARTITION' || Date.now() >= deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
