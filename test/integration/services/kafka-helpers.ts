import { randomBytes } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { startConsumerGroup } from '../../../cluster/kafka/index.js';

export const uniqueName = (prefix: string): string => `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;

/**
 * Reads `topic` from the beginning with a fresh consumer group until `done(values)` holds or
 * `timeoutMs` passes; returns the record values (as strings) in delivery order.
 */
export async function readTopic(
  kafka: Kafka,
  topic: string,
  done: (values: readonly string[]) => boolean,
  opts: { readUncommitted?: boolean; timeoutMs?: number } = {},
): Promise<string[]> {
  const values: string[] = [];
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((r) => (finish = r));
  const group = await startConsumerGroup(kafka, {
    groupId: uniqueName('reader'),
    topics: [topic],
    fromBeginning: true,
    readUncommitted: opts.readUncommitted ?? false,
    onBatch: async (records) => {
      for (const r of records) values.push(r.value?.toString() ?? '');
      if (done(values)) finish();
    },
  });
  const timer = setTimeout(finish, opts.timeoutMs ?? 30_000);
  try {
    await finished;
  } finally {
    clearTimeout(timer);
    await group.stop();
  }
  return values;
}
