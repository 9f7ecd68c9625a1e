import { Kafka, logLevel } from 'kafkajs';
import type { KafkaConfig } from 'kafkajs';

export interface KafkaClientOptions {
  readonly brokers: readonly string[];
  readonly clientId?: string;
  /** kafkajs logs to the console; silent unless asked, the caller logs what matters. */
  readonly logLevel?: 'nothing' | 'error' | 'warn' | 'info' | 'debug';
  readonly connectionTimeoutMs?: number;
  readonly requestTimeoutMs?: number;
  readonly retry?: KafkaConfig['retry'];
}

const LEVELS = { nothing: logLevel.NOTHING, error: logLevel.ERROR, warn: logLevel.WARN, info: logLevel.INFO, debug: logLevel.DEBUG } as const;

export function createKafka(opts: KafkaClientOptions): Kafka {
  if (opts.brokers.length === 0) throw new Error('kafka: no brokers configured');
  return new Kafka({
    clientId: opts.clientId ?? 'siphon',
    brokers: [...opts.brokers],
    logLevel: LEVELS[opts.logLevel ?? 'nothing'],
    connectionTimeout: opts.connectionTimeoutMs ?? 3000,
    requestTimeout: opts.requestTimeoutMs ?? 30_000,
    ...(opts.retry ? { retry: opts.retry } : {}),
  });
}
