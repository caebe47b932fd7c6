import type { Logger } from "pino";
import type { BatchHeader } from "../../protocol/records/batch-header.js";

/**
 * The storage interface the broker's handlers call. Two engines implement it:
 * `openFileStorage` (segment files under a data directory) and `createMemoryStorage`
 * (arrays, for tests and throwaway brokers). Record batches stay opaque bytes: the log only
 * reads and patches the v2 batch header fields it needs.
 */
export interface Storage {
  /** The topics persisted by earlier runs (the memory engine starts empty). */
  loadTopics(): Promise<TopicMetadata[]>;
  /** Persists the topic and creates its empty partitions. */
  createTopic(topic: TopicMetadata): Promise<void>;
  /** Forgets the topic and removes its partition data; PartitionLogs held for it stop working. */
  deleteTopic(name: string): Promise<void>;
  /** Grows the topic to `partitionCount` partitions (Kafka never shrinks one). */
  addPartitions(name: string, partitionCount: number): Promise<void>;
  /** Replaces the topic's config overrides; segment.bytes and segment.ms apply from the next append. */
  setTopicConfig(name: string, configs: Record<string, string>): Promise<void>;
  /** The log of one partition, or undefined when the topic or partition does not exist. */
  partition(topic: string, index: number): PartitionLog | undefined;
  /** Makes everything appended so far durable, whatever the fsync policy. */
  flush(): Promise<void>;
  /** Waits for in-flight appends, flushes, and releases files; the storage is unusable afterwards. */
  close(): Promise<void>;
  /**
   * Whether the last run closed this storage cleanly, so that what was written beside its logs
   * just before that close (the broker's producer-state snapshot) matches the logs as opened.
   * Always false for the memory engine.
   */
  readonly openedAfterCleanShutdown: boolean;
}

export interface TopicMetadata {
  name: string;
  /** The topic id as a UUID string. */
  topicId: string;
  partitionCount: number;
  /** Topic-level overrides only ("retention.ms": "60000"); broker defaults are not stored here. */
  configs: Record<string, string>;
}

/**
 * One partition's log. Offsets are assigned by `append`; `highWatermark` is the end of the
 * readable prefix. On this single broker it equals `logEndOffset` except while appends wait for
 * the fsync the policy asks for: data becomes visible to readers only once it is durable.
 */
export interface PartitionLog {
  readonly topic: string;
  readonly partition: number;
  /** First offset a consumer may read; advanced by retention and DeleteRecords. */
  readonly logStartOffset: number;
  /** The offset the next appended record gets. */
  readonly logEndOffset: number;
  /** One past the last readable offset: what Fetch and ListOffsets(latest) report. */
  readonly highWatermark: number;
  /** Bytes of record batches held, for DescribeLogDirs. */
  readonly sizeBytes: number;
  readonly segmentCount: number;
  /** Base offset of the segment appends go to (the newest one). */
  readonly activeSegmentBaseOffset: number;

  /**
   * Appends well-formed v2 batches (validated by the produce path, baseOffset 0), patching each
   * batch's baseOffset and partitionLeaderEpoch in place. Appends to one partition are applied in
   * call order; the promise resolves once the data is as durable as the fsync policy promises
   * and readable. Rejects with a StorageError (KAFKA_STORAGE_ERROR) when the disk fails, in
   * which case nothing of this append is in the log.
   */
  append(batches: Buffer, options?: AppendOptions): Promise<AppendResult>;
  /**
   * Whole batches from the one containing `fetchOffset`, up to `maxBytes` — but always at least
   * that first batch, however large (KIP-74), unless it is larger than `firstBatchMaxBytes`: then
   * nothing, and the batch is not read. A read stops at a segment boundary, so it may return less
   * than `maxBytes` although more follows; the next Fetch continues from there.
   */
  read(fetchOffset: number, maxBytes: number, firstBatchMaxBytes?: number): Promise<ReadResult>;
  /**
   * The headers of the batches from the one containing `fromOffset` up to the high watermark as
   * it is when the walk starts, oldest first, without reading their records (for the broker's
   * startup, which needs only those). They come in groups (the file engine's: what one read
   * brought in), so that a walk over many small batches does not pay an await per batch. Like
   * `read`, a walk stops at a segment boundary; an offset outside the readable log yields nothing.
   */
  batchHeaders(fromOffset: number): AsyncIterable<readonly BatchHeader[]>;
  /**
   * ListOffsets by time: the first batch whose max timestamp is at or after `timestamp`. Batch
   * granularity: the answer is that batch's base offset (or the log start offset when the batch
   * straddles it) and the batch's max timestamp, since the log never decodes records.
   */
  offsetForTimestamp(timestamp: number): Promise<TimestampOffset | undefined>;
  /**
   * ListOffsets(max timestamp): batch granularity again — the largest batch max timestamp in the
   * log and the last offset of the first batch that carries it (what Kafka reports for v2 batches).
   */
  maxTimestampEntry(): TimestampOffset | undefined;
  /** DeleteRecords: moves the log start offset up to `offset` (≤ high watermark) and drops whole segments below it. */
  deleteRecordsBefore(offset: number): Promise<number>;
  /** Deletes whole old segments (never the active one) past the limits; returns how many went. */
  applyRetention(now: number, limits: RetentionLimits): Promise<number>;
  /** Calls `listener` each time the high watermark moves up, so long-poll Fetch can wake; returns the unsubscribe. */
  onAppend(listener: () => void): () => void;
}

export interface AppendOptions {
  /** Set when the topic's message.timestamp.type is LogAppendTime: the broker time to stamp on every batch. */
  logAppendTime?: number;
}

export interface AppendResult {
  baseOffset: number;
  lastOffset: number;
  /** −1 unless the batches were stamped with LogAppendTime. */
  logAppendTime: number;
}

export type ReadResult =
  | { outOfRange: false; records: Buffer[]; highWatermark: number; logStartOffset: number }
  | { outOfRange: true; highWatermark: number; logStartOffset: number };

export interface TimestampOffset {
  offset: number;
  timestamp: number;
}

export interface RetentionLimits {
  /** retention.ms; −1 keeps data forever. */
  retentionMs: number;
  /** retention.bytes per partition; −1 for no size limit. */
  retentionBytes: number;
}

/** Options both engines take. */
export interface StorageOptions {
  /** Where recovery and disk failures are reported; silent by default. */
  logger?: Logger;
  /** The wall clock, replaceable in tests of time-based rolling. */
  clock?: () => number;
  /** segment.bytes for topics without an override (Kafka's default: 1 GiB). */
  segmentBytes?: number;
  /** segment.ms for topics without an override (Kafka's default: 7 days). */
  segmentMs?: number;
}
