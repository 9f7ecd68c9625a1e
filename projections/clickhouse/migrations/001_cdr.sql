-- Call detail records, one row per finished call, folded from the committed log.
-- ReplacingMergeTree on the log index: replaying the log (or a re-delivered Kafka batch)
-- rewrites the same row instead of adding one; read with FINAL or argMax for exact answers.
-- Dialect: ClickHouse 18.16 (no LowCardinality by default, no DateTime64, no CODEC/TTL).
CREATE TABLE IF NOT EXISTS cdr (
  event_date Date,
  start_time DateTime,
  call_id String,
  caller String,
  callee String,
  duration_ms UInt32,
  log_index UInt64,
  disconnect_reason Nullable(String),
  direction Enum8('inbound' = 1, 'outbound' = 2, 'internal' = 3),
  route Array(String)
) ENGINE = ReplacingMergeTree(log_index)
PARTITION BY toYYYYMM(event_date)
ORDER BY (caller, start_time, call_id);
