import type { Logger } from "pino";
import { type BatchHeader, readBatchHeader } from "../../protocol/records/batch-header.js";
import { AppendListeners } from "./append-listeners.js";
import {
  maxTimestampEntry,
  type SegmentConfig,
  type SegmentSummary,
  segmentIndexFor,
  segmentsBelow,
  segmentsPastRetention,
  shouldRoll,
  totalBytes,
} from "./segment-policy.js";
import { type StampedBatch, stampBatches } from "./stamp-batches.js";
import type {
  AppendOptions,
  AppendResult,
  PartitionLog,
  ReadResult,
  RetentionLimits,
  TimestampOffset,
} from "./storage.js";
import { StorageError } from "./storage-error.js";

interface MemoryBatch {
  baseOffset: number;
  lastOffset: number;
  maxTimestamp: number;
  bytes: Buffer;
}

/** A segment in memory: its batches, and the summary the shared roll and retention rules read. */
class MemorySegment implements SegmentSummary {
  readonly batches: MemoryBatch[] = [];
  nextOffset: number;
  sizeBytes = 0;
  maxTimestamp = -1;
  offsetOfMaxTimestamp = -1;
  lastModified: number;
  rollBaseTime: number;

  constructor(
    readonly baseOffset: number,
    now: number,
  ) {
    this.nextOffset = baseOffset;
    this.lastModified = now;
    this.rollBaseTime = now;
  }

  append(bytes: Buffer, stamped: readonly StampedBatch[], now: number): void {
    if (this.sizeBytes === 0) this.rollBaseTime = now;
    for (const batch of stamped) {
      this.batches.push({
        baseOffset: batch.baseOffset,
        lastOffset: batch.lastOffset,
        maxTimestamp: batch.maxTimestamp,
        bytes: bytes.subarray(batch.position, batch.position + batch.size),
      });
      if (batch.maxTimestamp > this.maxTimestamp) {
        this.maxTimestamp = batch.maxTimestamp;
        this.offsetOfMaxTimestamp = batch.lastOffset;
      }
    }
    this.sizeBytes += bytes.length;
    this.nextOffset = stamped[stamped.length - 1]!.lastOffset + 1;
    this.lastModified = now;
  }

  /** Position in `batches` of the first batch ending at or after `offset`. */
  batchIndexFor(offset: number): number {
    let low = 0;
    let high = this.batches.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.batches[middle]!.lastOffset < offset) low = middle + 1;
      else high = middle;
    }
    return low;
  }
}

/**
 * A partition log held in arrays, with the same segments, offsets and rules as the file engine
 * so that rolling, retention and DeleteRecords behave alike; appends are durable at once (there
 * is nothing to sync), so the high watermark is always the log end offset.
 */
export class MemoryPartitionLog implements PartitionLog {
  private readonly segments: MemorySegment[];
  private logStart = 0;
  private readonly listeners: AppendListeners;
  private closed = false;

  constructor(
    readonly topic: string,
    readonly partition: number,
    public segmentConfig: SegmentConfig,
    private readonly clock: () => number,
    logger: Logger,
  ) {
    this.segments = [new MemorySegment(0, clock())];
    this.listeners = new AppendListeners(logger);
  }

  get logStartOffset(): number {
    return this.logStart;
  }

  get logEndOffset(): number {
    return this.active.nextOffset;
  }

  get highWatermark(): number {
    return this.active.nextOffset;
  }

  get sizeBytes(): number {
    return totalBytes(this.segments);
  }

  get segmentCount(): number {
    return this.segments.length;
  }

  get activeSegmentBaseOffset(): number {
    return this.active.baseOffset;
  }

  async append(batches: Buffer, options: AppendOptions = {}): Promise<AppendResult> {
    this.checkOpen();
    const stamped = stampBatches(batches, this.logEndOffset, options.logAppendTime);
    const lastOffset = stamped[stamped.length - 1]!.lastOffset;
    const now = this.clock();
    if (shouldRoll(this.active, { sizeBytes: batches.length, lastOffset }, now, this.segmentConfig)) {
      this.segments.push(new MemorySegment(this.active.nextOffset, now));
    }
    // One copy, so the log does not pin the request buffer the batches arrived in.
    this.active.append(Buffer.from(batches), stamped, now);
    this.listeners.notify();
    return { baseOffset: stamped[0]!.baseOffset, lastOffset, logAppendTime: options.logAppendTime ?? -1 };
  }

  async read(
    fetchOffset: number,
    maxBytes: number,
    firstBatchMaxBytes = Number.POSITIVE_INFINITY,
  ): Promise<ReadResult> {
    const bounds = { highWatermark: this.highWatermark, logStartOffset: this.logStart };
    if (fetchOffset < this.logStart || fetchOffset > this.highWatermark) return { outOfRange: true, ...bounds };
    const segment = this.segments[segmentIndexFor(this.segments, fetchOffset)]!;
    const records: Buffer[] = [];
    let bytes = 0;
    for (let i = segment.batchIndexFor(fetchOffset); i < segment.batches.length; i++) {
      const batch = segment.batches[i]!;
      if (records.length === 0 ? batch.bytes.length > firstBatchMaxBytes : bytes + batch.bytes.length > maxBytes) break;
      records.push(batch.bytes);
      bytes += batch.bytes.length;
    }
    return { outOfRange: false, records, ...bounds };
  }

  async *batchHeaders(fromOffset: number): AsyncGenerator<BatchHeader[]> {
    if (fromOffset < this.logStart || fromOffset >= this.highWatermark) return;
    const segment = this.segments[segmentIndexFor(this.segments, fromOffset)]!;
    yield segment.batches.slice(segment.batchIndexFor(fromOffset)).map((batch) => readBatchHeader(batch.bytes));
  }

  async offsetForTimestamp(timestamp: number): Promise<TimestampOffset | undefined> {
    for (const segment of this.segments) {
      if (segment.maxTimestamp < timestamp || segment.nextOffset <= this.logStart) continue;
      for (let i = segment.batchIndexFor(this.logStart); i < segment.batches.length; i++) {
        const batch = segment.batches[i]!;
        if (batch.maxTimestamp >= timestamp) {
          return { offset: Math.max(batch.baseOffset, this.logStart), timestamp: batch.maxTimestamp };
        }
      }
    }
    return undefined;
  }

  maxTimestampEntry(): TimestampOffset | undefined {
    return maxTimestampEntry(this.segments);
  }

  async deleteRecordsBefore(offset: number): Promise<number> {
    this.checkOpen();
    if (offset < 0 || offset > this.highWatermark) {
      throw new StorageError(
        "OFFSET_OUT_OF_RANGE",
        `cannot delete records before ${offset}: the log ends at ${this.highWatermark}`,
      );
    }
    this.logStart = Math.max(this.logStart, offset);
    this.segments.splice(0, segmentsBelow(this.segments, this.logStart));
    return this.logStart;
  }

  async applyRetention(now: number, limits: RetentionLimits): Promise<number> {
    this.checkOpen();
    const count = segmentsPastRetention(this.segments, now, limits, this.highWatermark);
    if (count === 0) return 0;
    this.logStart = Math.max(this.logStart, this.segments[count]!.baseOffset);
    this.segments.splice(0, count);
    return count;
  }

  onAppend(listener: () => void): () => void {
    return this.listeners.add(listener);
  }

  close(): void {
    this.closed = true;
  }

  private get active(): MemorySegment {
    return this.segments[this.segments.length - 1]!;
  }

  private checkOpen(): void {
    if (this.closed) {
      throw new StorageError("KAFKA_STORAGE_ERROR", `partition ${this.topic}-${this.partition} is closed`);
    }
  }
}
