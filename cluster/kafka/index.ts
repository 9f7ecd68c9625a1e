// Public face of the Kafka client layer: the future log shipper builds on these.
export type { KafkaClientOptions } from './client.js';
export { createKafka } from './client.js';
export type { TopicInfo, TopicSpec } from './admin.js';
export { deleteTopics, describeTopics, ensureTopics, topicEndOffsets } from './admin.js';
export type { OutgoingRecord, ProducerOptions } from './producer.js';
export { IdempotentProducer, ProducerFencedError, TransactionalProducer, TransactionWriter, isFencedError } from './producer.js';
export type { ConsumedRecord, ConsumerGroupHandle, ConsumerGroupOptions } from './consumer-group.js';
export { startConsumerGroup } from './consumer-group.js';
