import type { BatchFlags, BatchHeader } from "./batch-header.js";
import type { KafkaRecord, RecordInput } from "./record.js";

/**
 * A decoded batch: every header field, what the attribute bits mean, and the records.
 * Legacy (magic 0/1) entries decode to this shape too, with producer fields at -1.
 */
export interface RecordBatch extends BatchHeader, BatchFlags {
  records: KafkaRecord[];
}

/**
 * What encodeRecordBatch needs; everything but the records has Kafka's producer defaults.
 * A decoded RecordBatch satisfies it, so a batch can be decoded, changed and re-encoded.
 */
export interface RecordBatchInput extends Partial<BatchFlags> {
  records: readonly RecordInput[];
  /** Default 0: producers write 0 and the broker assigns the real offset. */
  baseOffset?: number;
  /** Default -1: set by the broker. */
  partitionLeaderEpoch?: number;
  /** Default: the first record's timestamp (so its delta is 0), else now. */
  baseTimestamp?: number;
  /**
   * Used only for LogAppendTime batches (the broker's append time, default now) and for
   * empty batches (default -1); otherwise it is the largest record timestamp.
   */
  maxTimestamp?: number;
  /** Default: the last record's offsetDelta. Compaction keeps a larger one when it drops records. */
  lastOffsetDelta?: number;
  /** Default -1 (not idempotent), as are producerEpoch and baseSequence. */
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
}
