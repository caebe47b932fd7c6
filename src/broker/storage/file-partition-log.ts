import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { BatchHeader } from "../../protocol/records/batch-header.js";
import { AppendListeners } from "./append-listeners.js";
import { readLogStartCheckpoint, writeLogStartCheckpoint } from "./log-start-checkpoint.js";
import { LogSegment, type SegmentContext } from "./segment.js";
import { baseOffsetOfIndexFile, baseOffsetOfLogFile, segmentFiles } from "./segment-files.js";
import {
  maxTimestampEntry,
  type SegmentConfig,
  segmentIndexFor,
  segmentsBelow,
  segmentsPastRetention,
  shouldRoll,
  totalBytes,
} from "./segment-policy.js";
import { type LoadedSegment, loadActiveSegment, loadSealedSegment } from "./segment-recovery.js";
import { SerialQueue } from "./serial-queue.js";
import { type StampedBatch, stampBatches } from "./stamp-batches.js";
import type {
  AppendOptions,
  AppendResult,
  PartitionLog,
  ReadResult,
  RetentionLimits,
  TimestampOffset,
} from "./storage.js";
import { ioError, StorageError } from "./storage-error.js";

export interface PartitionContext extends SegmentContext {
  clock: () => number;
}

/** The end of the readable prefix of the log, and where it lies on disk. */
interface ReadableEnd {
  offset: number;
  segment: LogSegment;
  position: number;
}

/**
 * An append on its way: waiting to be written, then (once `end` is set) written and waiting for
 * its fsync and those of the appends before it.
 */
interface QueuedAppend {
  batches: Buffer;
  options: AppendOptions;
  stamped?: StampedBatch[];
  end?: ReadableEnd;
  synced: boolean;
  done: Promise<AppendResult>;
  resolve: (result: AppendResult) => void;
  reject: (error: unknown) => void;
}

/**
 * How many rolled segments of a partition keep their indexes in memory and their log file open.
 * Consumers catching up read one segment after another, so a couple suffice, and memory and
 * open files stay independent of the log's size (the active segment's are always kept).
 */
const ROLLED_SEGMENTS_KEPT_OPEN = 2;

/**
 * A partition log as a directory of segments. Changes (append, roll, deletion) go through one
 * queue; reads run beside them, each reading one contiguous byte range of one segment.
 *
 * Appends that arrive while the queue is busy (typically: while the previous write or fsync
 * runs) are written together, with one gathering write, and then share one fsync — group
 * commit, which keeps the number of disk round trips independent of the number of producers.
 *
 * Appends become readable in order, each once its fsync (per the policy) is done: the high
 * watermark is the end of the longest durable prefix. A failed fsync takes the partition offline
 * (appends fail until the broker restarts and recovery checks the files), as after fsync fails
 * the kernel may have dropped the unwritten pages — retrying it would lie.
 */
export class FilePartitionLog implements PartitionLog {
  private readonly segments: LogSegment[];
  private logStart: number;
  private readable: ReadableEnd;
  /** Appends not written yet, all to be written by the next queued write task. */
  private waiting: QueuedAppend[] = [];
  /** Appends written and waiting for their fsync, in offset order. */
  private readonly pending: QueuedAppend[] = [];
  private readonly queue = new SerialQueue();
  private readonly listeners: AppendListeners;
  private readonly recentlyRead: LogSegment[] = [];
  private failure: StorageError | undefined;
  private closed = false;

  private constructor(
    readonly topic: string,
    readonly partition: number,
    private readonly context: PartitionContext,
    public segmentConfig: SegmentConfig,
    loaded: LoadedSegment[],
    logStart: number,
  ) {
    this.listeners = new AppendListeners(context.logger);
    this.segments = loaded.map((segment) => new LogSegment(segment, context, (error) => this.goOffline(error)));
    this.logStart = logStart;
    const active = this.active;
    this.readable = { offset: active.nextOffset, segment: active, position: active.sizeBytes };
  }

  /**
   * Opens the partition directory `context.directory`, creating it if needed, and recovers it:
   * stray files of interrupted writes and deletions go, the active segment is checked batch by
   * batch (unless `cleanShutdown` vouches for it), and indexes are rebuilt where needed (see
   * segment-recovery.ts).
   */
  static open(
    topic: string,
    partition: number,
    context: PartitionContext,
    config: SegmentConfig,
    cleanShutdown: boolean,
  ): FilePartitionLog {
    const { directory, logger } = context;
    mkdirSync(directory, { recursive: true });
    const names = readdirSync(directory);
    const bases = names.flatMap((name) => baseOffsetOfLogFile(name) ?? []).sort((a, b) => a - b);
    for (const name of names) {
      const indexOf = baseOffsetOfIndexFile(name);
      if (name.endsWith(".tmp") || (indexOf !== undefined && !bases.includes(indexOf))) rmSync(join(directory, name));
    }
    const checkpoint = readLogStartCheckpoint(directory, logger);
    const recovery = { directory, indexIntervalBytes: context.indexIntervalBytes, logger, cleanShutdown };
    const load = (base: number, i: number, all: number[]) =>
      i < all.length - 1 ? loadSealedSegment(base, all[i + 1]!, recovery) : loadActiveSegment(base, recovery);

    if (bases.length === 0) bases.push(createEmptySegmentFiles(directory, checkpoint ?? 0));
    let loaded = bases.map(load);
    let logStart = Math.max(checkpoint ?? 0, bases[0]!);
    if (logStart > loaded[loaded.length - 1]!.nextOffset) {
      // DeleteRecords reached offsets a crash then lost: start over, empty, at the log start
      // offset, rather than hand out again offsets that consumers have seen.
      logger.warn({ directory, logStart }, "log start offset is past the recovered log end; starting empty there");
      for (const base of bases) removeSegmentFiles(directory, base);
      loaded = [load(createEmptySegmentFiles(directory, logStart), 0, [logStart])];
    }
    // Segments entirely below the log start offset are what a crash left of a deletion.
    for (const stale of loaded.splice(0, segmentsBelow(loaded, logStart))) {
      removeSegmentFiles(directory, stale.baseOffset);
    }
    logStart = Math.max(logStart, loaded[0]!.baseOffset);
    return new FilePartitionLog(topic, partition, context, config, loaded, logStart);
  }

  get logStartOffset(): number {
    return this.logStart;
  }

  get logEndOffset(): number {
    return this.active.nextOffset;
  }

  get highWatermark(): number {
    return this.readable.offset;
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

  /** Whether a disk failure took the partition offline: its files may not be what it acknowledged. */
  get offline(): boolean {
    return this.failure !== undefined;
  }

  append(batches: Buffer, options: AppendOptions = {}): Promise<AppendResult> {
    let resolve!: (result: AppendResult) => void;
    let reject!: (error: unknown) => void;
    const done = new Promise<AppendResult>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    this.waiting.push({ batches, options, synced: false, done, resolve, reject });
    // The first append of a group queues the task that will write the whole group.
    if (this.waiting.length === 1) void this.queue.run(() => this.writeWaiting());
    return done;
  }

  read(fetchOffset: number, maxBytes: number, firstBatchMaxBytes = Number.POSITIVE_INFINITY): Promise<ReadResult> {
    const end = this.readable;
    const bounds = { highWatermark: end.offset, logStartOffset: this.logStart };
    if (fetchOffset < bounds.logStartOffset || fetchOffset > end.offset) {
      return Promise.resolve({ outOfRange: true, ...bounds });
    }
    if (fetchOffset === end.offset) return Promise.resolve({ outOfRange: false, records: [], ...bounds });
    const { segment, limit } = this.readableSegmentOf(fetchOffset, end);
    // readFrom counts itself in before this returns, so a deletion waits for it.
    const reading = segment.readFrom(fetchOffset, limit, maxBytes, firstBatchMaxBytes);
    this.noteIndexUse(segment);
    return reading.then((bytes) => ({ outOfRange: false, records: bytes?.length ? [bytes] : [], ...bounds }));
  }

  async *batchHeaders(fromOffset: number): AsyncGenerator<BatchHeader[]> {
    const end = this.readable;
    if (fromOffset < this.logStart || fromOffset >= end.offset) return;
    const { segment, limit } = this.readableSegmentOf(fromOffset, end);
    this.noteIndexUse(segment);
    yield* segment.batchHeaders(fromOffset, limit);
  }

  async offsetForTimestamp(timestamp: number): Promise<TimestampOffset | undefined> {
    const end = this.readable;
    const minOffset = this.logStart;
    for (const segment of [...this.segments]) {
      if (segment.baseOffset >= end.offset) break;
      if (segment.maxTimestamp < timestamp || segment.nextOffset <= minOffset) continue;
      // Retention may have taken the segment while an earlier one was searched.
      if (!this.segments.includes(segment)) continue;
      const limit = segment === end.segment ? end.position : segment.sizeBytes;
      const searching = segment.findByTimestamp(timestamp, minOffset, limit);
      this.noteIndexUse(segment);
      const batch = await searching;
      if (batch) return { offset: Math.max(batch.baseOffset, minOffset), timestamp: batch.maxTimestamp };
    }
    return undefined;
  }

  maxTimestampEntry(): TimestampOffset | undefined {
    return maxTimestampEntry(this.segments);
  }

  deleteRecordsBefore(offset: number): Promise<number> {
    return this.queue.run(async () => {
      this.checkWritable();
      if (offset < 0 || offset > this.readable.offset) {
        throw new StorageError(
          "OFFSET_OUT_OF_RANGE",
          `cannot delete records before ${offset}: the log ends at ${this.readable.offset}`,
        );
      }
      await this.advanceLogStart(offset);
      await this.deleteOldest(segmentsBelow(this.segments, this.logStart));
      return this.logStart;
    });
  }

  applyRetention(now: number, limits: RetentionLimits): Promise<number> {
    return this.queue.run(async () => {
      this.checkWritable();
      const count = segmentsPastRetention(this.segments, now, limits, this.readable.offset);
      if (count === 0) return 0;
      await this.advanceLogStart(this.segments[count]!.baseOffset);
      await this.deleteOldest(count);
      return count;
    });
  }

  onAppend(listener: () => void): () => void {
    return this.listeners.add(listener);
  }

  /**
   * Lets queued appends finish and their fsyncs complete, syncs what the policy left unsynced
   * (and, unless the partition is offline, every file of the active segment, for the
   * clean-shutdown marker), and closes the files.
   */
  async close(): Promise<void> {
    await this.queue.run(async () => {
      this.closed = true;
    });
    await Promise.allSettled(this.pending.map((pending) => pending.done));
    try {
      if (!this.failure) await this.active.syncForCleanShutdown();
    } finally {
      await Promise.all(this.segments.map((segment) => segment.close()));
    }
  }

  private get active(): LogSegment {
    return this.segments[this.segments.length - 1]!;
  }

  /** The segment holding `offset` (below `end`) and where its readable bytes end. */
  private readableSegmentOf(offset: number, end: ReadableEnd): { segment: LogSegment; limit: number } {
    const segment = this.segments[segmentIndexFor(this.segments, offset)]!;
    return { segment, limit: segment === end.segment ? end.position : segment.sizeBytes };
  }

  /**
   * Writes every waiting append: offsets assigned in arrival order, consecutive appends to the
   * same segment gathered into one write. An append with malformed batches fails alone; a disk
   * failure fails the appends not yet written with it.
   */
  private async writeWaiting(): Promise<void> {
    const group = this.waiting;
    this.waiting = [];
    try {
      this.checkWritable();
      const now = this.context.clock();
      let nextOffset = this.logEndOffset;
      let run: QueuedAppend[] = [];
      let runBytes = 0;
      for (const append of group) {
        try {
          append.stamped = stampBatches(append.batches, nextOffset, append.options.logAppendTime);
        } catch (error) {
          append.reject(error);
          continue;
        }
        const lastOffset = append.stamped[append.stamped.length - 1]!.lastOffset;
        const active = this.active;
        const withRun = {
          baseOffset: active.baseOffset,
          sizeBytes: active.sizeBytes + runBytes,
          rollBaseTime: active.sizeBytes === 0 ? now : active.rollBaseTime,
        };
        if (shouldRoll(withRun, { sizeBytes: append.batches.length, lastOffset }, now, this.segmentConfig)) {
          await this.writeRun(run, now);
          [run, runBytes] = [[], 0];
          await this.roll(now);
        }
        run.push(append);
        runBytes += append.batches.length;
        nextOffset = lastOffset + 1;
      }
      await this.writeRun(run, now);
    } catch (error) {
      // Appends already written are pending their fsync; rejecting a settled one does nothing.
      for (const append of group) if (!append.end) append.reject(error);
    }
  }

  /** Writes appends to the active segment and hands them to the durability policy. */
  private async writeRun(run: QueuedAppend[], now: number): Promise<void> {
    if (run.length === 0) return;
    const segment = this.active;
    const start = segment.sizeBytes;
    try {
      await segment.append(
        run.map((append) => ({ bytes: append.batches, stamped: append.stamped! })),
        now,
      );
    } catch (error) {
      if (segment.damaged) this.goOffline(error);
      throw error;
    }
    let position = start;
    for (const append of run) {
      position += append.batches.length;
      const stamped = append.stamped!;
      append.end = { offset: stamped[stamped.length - 1]!.lastOffset + 1, segment, position };
    }
    this.pending.push(...run);
    const synced = this.context.durability.written(segment);
    if (!synced) {
      this.markSynced(run);
      return;
    }
    synced.then(
      () => this.markSynced(run),
      (error: unknown) => this.goOffline(error),
    );
  }

  /**
   * Starts a new segment at the log end. The old one is sealed (and synced) after the new one
   * exists, so a failure to create it changes nothing, and before the new one takes data, so
   * recovery may trust every segment but the last.
   */
  private async roll(now: number): Promise<void> {
    const previous = this.active;
    const next = await LogSegment.create(previous.nextOffset, now, this.context, (error) => this.goOffline(error));
    try {
      await previous.seal();
    } catch (error) {
      this.goOffline(error);
      await next.delete().catch(() => undefined);
      throw this.failure;
    }
    this.segments.push(next);
    this.noteIndexUse(previous);
  }

  /** Moves the high watermark over every append, in order, whose fsync is done. */
  private markSynced(synced: QueuedAppend[]): void {
    for (const append of synced) append.synced = true;
    let advanced = false;
    while (this.pending[0]?.synced) {
      const append = this.pending.shift()!;
      const stamped = append.stamped!;
      this.readable = append.end!;
      append.resolve({
        baseOffset: stamped[0]!.baseOffset,
        lastOffset: stamped[stamped.length - 1]!.lastOffset,
        logAppendTime: append.options.logAppendTime ?? -1,
      });
      advanced = true;
    }
    if (advanced) this.listeners.notify();
  }

  private goOffline(cause: unknown): void {
    if (this.failure) return;
    this.failure = new StorageError(
      "KAFKA_STORAGE_ERROR",
      `partition ${this.topic}-${this.partition} is offline after a disk failure; restart the broker to recover it`,
      { cause },
    );
    this.context.logger.error({ err: cause, directory: this.context.directory }, "partition log offline");
    for (const pending of this.pending.splice(0)) pending.reject(this.failure);
  }

  private checkWritable(): void {
    if (this.failure) throw this.failure;
    if (this.closed) {
      throw new StorageError("KAFKA_STORAGE_ERROR", `partition ${this.topic}-${this.partition} is closed`);
    }
  }

  private async advanceLogStart(offset: number): Promise<void> {
    if (offset <= this.logStart) return;
    try {
      await writeLogStartCheckpoint(this.context.directory, offset);
    } catch (error) {
      throw ioError(`writing the log start offset of ${this.context.directory} failed`, error);
    }
    this.logStart = offset;
  }

  /** Deletes the `count` oldest segments; the log start offset is already past them. */
  private async deleteOldest(count: number): Promise<void> {
    const doomed = this.segments.splice(0, count);
    for (const segment of doomed) this.forgetIndexUse(segment);
    const results = await Promise.allSettled(doomed.map((segment) => segment.delete()));
    results.forEach((result, i) => {
      // Left-over files lie below the log start offset: the next startup removes them.
      if (result.status === "rejected") {
        this.context.logger.warn({ err: result.reason, segment: doomed[i]!.logFileName }, "could not delete segment");
      }
    });
  }

  /** Keeps the most recently read rolled segments open, with their indexes in memory, and lets the others go. */
  private noteIndexUse(segment: LogSegment): void {
    if (segment === this.active) return;
    this.forgetIndexUse(segment);
    this.recentlyRead.push(segment);
    while (this.recentlyRead.length > ROLLED_SEGMENTS_KEPT_OPEN) this.recentlyRead.shift()!.release();
  }

  private forgetIndexUse(segment: LogSegment): void {
    const at = this.recentlyRead.indexOf(segment);
    if (at >= 0) this.recentlyRead.splice(at, 1);
  }
}

function createEmptySegmentFiles(directory: string, baseOffset: number): number {
  const files = segmentFiles(directory, baseOffset);
  for (const path of [files.log, files.index, files.timeIndex]) writeFileSync(path, "");
  return baseOffset;
}

function removeSegmentFiles(directory: string, baseOffset: number): void {
  const files = segmentFiles(directory, baseOffset);
  for (const path of [files.log, files.index, files.timeIndex]) rmSync(path, { force: true });
}
