import { readFile, rm } from "node:fs/promises";
import type { Logger } from "pino";
import {
  BATCH_HEADER_SIZE,
  BATCH_LOG_OVERHEAD,
  BATCH_OFFSETS,
  readInt64At,
} from "../../protocol/records/batch-header.js";
import { type Durability, type DurableFile, GroupSync } from "./durability.js";
import { OffsetIndex, type OffsetIndexEntry } from "./offset-index.js";
import { type OpenFile, type RandomAccessFile, readFully, writeFully } from "./random-access-file.js";
import { type SegmentFiles, segmentFiles } from "./segment-files.js";
import { type IndexedBatch, type IndexerMark, SegmentIndexer } from "./segment-indexer.js";
import type { SegmentSummary } from "./segment-policy.js";
import type { LoadedSegment } from "./segment-recovery.js";
import type { SparseIndex } from "./sparse-index.js";
import type { StampedBatch } from "./stamp-batches.js";
import { ioError, StorageError } from "./storage-error.js";
import { TimeIndex } from "./time-index.js";

/** What every segment of a partition shares. */
export interface SegmentContext {
  directory: string;
  durability: Durability;
  openFile: OpenFile;
  indexIntervalBytes: number;
  logger: Logger;
}

/** The buffer of one append and where its batches sit in it. */
export interface SegmentAppend {
  bytes: Buffer;
  stamped: readonly StampedBatch[];
}

/** A batch found by a scan, and the chunk of the log file the scan read it from. */
interface ScanHit {
  batch: IndexedBatch;
  chunk: Buffer;
  chunkStart: number;
}

interface Indexes {
  offsetIndex: OffsetIndex;
  timeIndex: TimeIndex;
}

/**
 * Bytes read per step when walking batch headers forward from an index entry: the index has an
 * entry every ~4 KiB, so one step usually reaches the batch sought.
 */
const SCAN_CHUNK = 16 * 1024;

/**
 * One segment of a partition log on disk: its log file, written only at the end and read by
 * positional reads of contiguous byte ranges, and its two indexes. The active (last) segment
 * keeps its indexes in memory as it builds them; a rolled segment loads them on demand and
 * drops them when its partition says so, so that memory does not grow with the log.
 *
 * Reads count themselves in, so that deleting a segment waits for the reads still using its
 * file handle before closing it.
 */
export class LogSegment implements SegmentSummary, DurableFile {
  readonly baseOffset: number;
  nextOffset: number;
  sizeBytes: number;
  lastModified: number;
  rollBaseTime: number;
  /** Set when a failed write could not be undone: the end of the file is no longer known. */
  damaged = false;

  private readonly files: SegmentFiles;
  /** The active segment's indexes, growing with each append. */
  private indexer: SegmentIndexer | undefined;
  /** A rolled segment's indexes, while loaded. */
  private loadedIndexes: Promise<Indexes> | undefined;
  private rolledMax: { maxTimestamp: number; offsetOfMaxTimestamp: number };
  private readonly handles = new Map<string, Promise<RandomAccessFile>>();
  private readonly groupSync = new GroupSync(() => this.syncLog());
  private readers = 0;
  private closed = false;
  private readonly idleWaiters: (() => void)[] = [];

  constructor(
    loaded: LoadedSegment,
    private readonly context: SegmentContext,
    private readonly onSyncFailure: (error: unknown) => void,
  ) {
    this.baseOffset = loaded.baseOffset;
    this.nextOffset = loaded.nextOffset;
    this.sizeBytes = loaded.sizeBytes;
    this.lastModified = loaded.lastModified;
    this.rollBaseTime = loaded.rollBaseTime;
    this.indexer = loaded.indexer;
    this.rolledMax = { maxTimestamp: loaded.maxTimestamp, offsetOfMaxTimestamp: loaded.offsetOfMaxTimestamp };
    this.files = segmentFiles(context.directory, loaded.baseOffset);
  }

  /** Creates the files of a new, empty active segment. */
  static async create(
    baseOffset: number,
    now: number,
    context: SegmentContext,
    onSyncFailure: (error: unknown) => void,
  ): Promise<LogSegment> {
    const segment = new LogSegment(
      {
        baseOffset,
        nextOffset: baseOffset,
        sizeBytes: 0,
        maxTimestamp: -1,
        offsetOfMaxTimestamp: -1,
        lastModified: now,
        rollBaseTime: now,
        indexer: new SegmentIndexer(baseOffset, context.indexIntervalBytes),
      },
      context,
      onSyncFailure,
    );
    try {
      await Promise.all([segment.file(segment.files.log), ...segment.indexFiles()]);
      await context.durability.syncDirectory(context.directory);
    } catch (error) {
      await segment.delete();
      throw ioError(`creating segment ${segment.files.log} failed`, error);
    }
    return segment;
  }

  get maxTimestamp(): number {
    return this.indexer ? this.indexer.maxTimestamp : this.rolledMax.maxTimestamp;
  }

  get offsetOfMaxTimestamp(): number {
    return this.indexer ? this.indexer.offsetOfMaxTimestamp : this.rolledMax.offsetOfMaxTimestamp;
  }

  get logFileName(): string {
    return this.files.log;
  }

  /**
   * Writes appends at the end of the log, with one gathering write of the callers' buffers
   * (no copy), then their new index entries. If any write fails, all three files are truncated
   * back, so the segment ends at a batch boundary and the failed appends leave no trace.
   */
  async append(appends: readonly SegmentAppend[], now: number): Promise<void> {
    const indexer = this.indexer;
    if (!indexer) throw new Error(`segment ${this.files.log} is rolled and takes no appends`);
    let log: RandomAccessFile;
    let indexFiles: RandomAccessFile[];
    try {
      [log, ...indexFiles] = await Promise.all([this.file(this.files.log), ...this.indexFiles()]);
    } catch (error) {
      throw ioError(`opening segment ${this.files.log} failed`, error);
    }
    const start = this.sizeBytes;
    const mark = indexer.mark();
    let position = start;
    for (const { bytes, stamped } of appends) {
      for (const batch of stamped) indexer.add({ ...batch, position: position + batch.position });
      position += bytes.length;
    }
    try {
      await writeFully(
        log,
        appends.map((append) => append.bytes),
        start,
      );
      await this.writeNewEntries(indexFiles, mark);
    } catch (error) {
      indexer.rollBack(mark);
      await this.undoWrite(log, indexFiles, start, mark);
      throw ioError(`append to ${this.files.log} failed`, error);
    }
    const lastBatches = appends[appends.length - 1]!.stamped;
    if (this.sizeBytes === 0) this.rollBaseTime = now;
    this.sizeBytes = position;
    this.nextOffset = lastBatches[lastBatches.length - 1]!.lastOffset + 1;
    this.lastModified = now;
  }

  /**
   * Turns the active segment into a rolled one: writes the final time index entry (its max
   * timestamp) and, unless fsync is "never", syncs all three files, so that recovery may trust
   * every segment but the last.
   */
  async seal(): Promise<void> {
    const indexer = this.indexer!;
    const timeIndexFile = await this.file(this.files.timeIndex);
    const timeEntries = indexer.timeIndex.entryCount;
    if (indexer.seal()) {
      await writeFully(
        timeIndexFile,
        [indexer.timeIndex.bytesFrom(timeEntries)],
        indexer.timeIndex.sizeOf(timeEntries),
      );
    }
    if (this.context.durability.syncsMetadata) await this.syncAllFiles();
    this.rolledMax = { maxTimestamp: indexer.maxTimestamp, offsetOfMaxTimestamp: indexer.offsetOfMaxTimestamp };
    this.loadedIndexes = Promise.resolve({ offsetIndex: indexer.offsetIndex, timeIndex: indexer.timeIndex });
    this.indexer = undefined;
    await this.closeHandles([this.files.index, this.files.timeIndex]);
  }

  /**
   * Whole batches from the one containing `offset`, reading no further than `limit` (the end of
   * the readable data) and, past the first batch, than `maxBytes`. Undefined if no batch below
   * `limit` holds `offset`.
   */
  readFrom(offset: number, limit: number, maxBytes: number): Promise<Buffer | undefined> {
    return this.use(async () => {
      const { offsetIndex } = await this.indexes();
      const found = await this.scan(offsetIndex.lookup(offset - this.baseOffset), limit, (b) => b.lastOffset >= offset);
      if (!found) return undefined;
      const { batch: first, chunk, chunkStart } = found;
      const length = Math.min(limit - first.position, Math.max(maxBytes, first.size));
      // Near the end of the log (a consumer keeping up) the scan has already read it all.
      const end = first.position + length;
      const bytes =
        end <= chunkStart + chunk.length
          ? chunk.subarray(first.position - chunkStart, end - chunkStart)
          : await readFully(await this.file(this.files.log), length, first.position);
      return bytes.subarray(0, wholeBatchesLength(bytes));
    });
  }

  /** The first batch below `limit` with max timestamp ≥ `timestamp` and an offset ≥ `minOffset`. */
  findByTimestamp(timestamp: number, minOffset: number, limit: number): Promise<IndexedBatch | undefined> {
    return this.use(async () => {
      const { offsetIndex, timeIndex } = await this.indexes();
      const timeEntry = timeIndex.lookup(timestamp);
      const candidates = [
        timeEntry && offsetIndex.lookup(timeEntry.relativeOffset),
        offsetIndex.lookup(minOffset - this.baseOffset),
      ];
      const start = candidates.reduce((a, b) => ((b?.position ?? 0) > (a?.position ?? 0) ? b : a));
      const found = await this.scan(start, limit, (b) => b.maxTimestamp >= timestamp && b.lastOffset >= minOffset);
      return found?.batch;
    });
  }

  /**
   * Lets a rolled segment's indexes and (unless a read is using it) its file handle go; the
   * next read loads and opens them again. This bounds memory and open files per partition.
   */
  release(): void {
    if (this.indexer) return;
    this.loadedIndexes = undefined;
    if (this.readers === 0) void this.closeHandles([...this.handles.keys()]);
  }

  /** fdatasync of the log file, shared by concurrent callers (group commit). */
  sync(): Promise<void> {
    return this.groupSync.sync();
  }

  syncFailed(error: unknown): void {
    this.onSyncFailure(error);
  }

  /** Syncs what the policy left unsynced, waits for the reads in progress, and closes the files. */
  async close(): Promise<void> {
    await this.context.durability.release(this);
    await this.shut();
  }

  /**
   * Syncs all three files, whatever the policy and whatever recovery rewrote at startup: a
   * clean-shutdown marker is about to vouch for them.
   */
  async syncForCleanShutdown(): Promise<void> {
    this.context.durability.forget(this);
    await this.syncAllFiles();
  }

  /** Closes the segment and removes its files, the log first so that a crash leaves only stray indexes. */
  async delete(): Promise<void> {
    this.context.durability.forget(this);
    await this.shut();
    for (const path of [this.files.log, this.files.index, this.files.timeIndex]) await rm(path, { force: true });
  }

  /** fdatasync of the log and both index files. */
  private async syncAllFiles(): Promise<void> {
    const [indexFile, timeIndexFile] = await Promise.all(this.indexFiles());
    await Promise.all([
      this.sync(),
      this.context.durability.datasync(indexFile!),
      this.context.durability.datasync(timeIndexFile!),
    ]);
  }

  private indexFiles(): Promise<RandomAccessFile>[] {
    return [this.file(this.files.index), this.file(this.files.timeIndex)];
  }

  private file(path: string): Promise<RandomAccessFile> {
    let handle = this.handles.get(path);
    if (!handle) {
      handle = this.context.openFile(path);
      this.handles.set(path, handle);
      // Forget a failed open, so that the next use tries again.
      handle.catch(() => this.handles.delete(path));
    }
    return handle;
  }

  private async shut(): Promise<void> {
    this.closed = true;
    if (this.readers > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    await this.closeHandles([...this.handles.keys()]);
  }

  private async closeHandles(paths: string[]): Promise<void> {
    const handles = paths.flatMap((path) => {
      const handle = this.handles.get(path);
      this.handles.delete(path);
      return handle ? [handle] : [];
    });
    await Promise.allSettled(handles.map(async (handle) => (await handle).close()));
  }

  private async syncLog(): Promise<void> {
    // fdatasync flushes the file, whichever descriptor wrote it, so a rolled segment whose handle
    // was released (only "never" leaves one unsynced at roll) can be synced through a new one.
    await this.context.durability.datasync(await this.file(this.files.log));
  }

  private async writeNewEntries(indexFiles: RandomAccessFile[], mark: IndexerMark): Promise<void> {
    const { offsetIndex, timeIndex } = this.indexer!;
    const pending: [RandomAccessFile, SparseIndex, number][] = [
      [indexFiles[0]!, offsetIndex, mark.offsetEntries],
      [indexFiles[1]!, timeIndex, mark.timeEntries],
    ];
    for (const [file, index, from] of pending) {
      if (index.entryCount > from) await writeFully(file, [index.bytesFrom(from)], index.sizeOf(from));
    }
  }

  private async undoWrite(
    log: RandomAccessFile,
    indexFiles: RandomAccessFile[],
    logSize: number,
    mark: IndexerMark,
  ): Promise<void> {
    const { offsetIndex, timeIndex } = this.indexer!;
    try {
      await log.truncate(logSize);
      await indexFiles[0]!.truncate(offsetIndex.sizeOf(mark.offsetEntries));
      await indexFiles[1]!.truncate(timeIndex.sizeOf(mark.timeEntries));
    } catch (error) {
      this.damaged = true;
      this.context.logger.error({ err: error, segment: this.files.log }, "could not undo a failed append");
    }
  }

  private async indexes(): Promise<Indexes> {
    if (this.indexer) return { offsetIndex: this.indexer.offsetIndex, timeIndex: this.indexer.timeIndex };
    this.loadedIndexes ??= this.loadIndexes();
    return this.loadedIndexes;
  }

  /** Recovery checked these files at startup; an index gone since then only makes lookups scan from the start. */
  private async loadIndexes(): Promise<Indexes> {
    const [offsetBytes, timeBytes] = await Promise.all([
      readFile(this.files.index).catch(() => undefined),
      readFile(this.files.timeIndex).catch(() => undefined),
    ]);
    if (!offsetBytes || !timeBytes) {
      this.context.logger.warn({ segment: this.files.log }, "segment index unreadable; scanning the log instead");
    }
    return {
      offsetIndex: offsetBytes ? OffsetIndex.fromBytes(offsetBytes) : OffsetIndex.empty(),
      timeIndex: timeBytes ? TimeIndex.fromBytes(timeBytes) : TimeIndex.empty(),
    };
  }

  private async use<T>(work: () => Promise<T>): Promise<T> {
    if (this.closed) throw new StorageError("KAFKA_STORAGE_ERROR", `segment ${this.files.log} is closed`);
    this.readers++;
    try {
      return await work();
    } catch (error) {
      throw error instanceof StorageError ? error : ioError(`reading ${this.files.log} failed`, error);
    } finally {
      this.readers--;
      if (this.readers === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
    }
  }

  /**
   * Walks batch headers from an index entry (or the segment start) to the first batch that
   * `wanted` accepts, returning it with the bytes last read around it. Offsets must follow on from batch to batch; an index entry that does not
   * point at the batch it names is distrusted, and the walk starts over from the segment start.
   */
  private async scan(
    from: OffsetIndexEntry | undefined,
    limit: number,
    wanted: (batch: IndexedBatch) => boolean,
  ): Promise<ScanHit | undefined> {
    const log = await this.file(this.files.log);
    let position = from?.position ?? 0;
    let expectedOffset = this.baseOffset + (from?.relativeOffset ?? 0);
    let chunk: Buffer = Buffer.alloc(0);
    let chunkStart = 0;
    while (position + BATCH_HEADER_SIZE <= limit) {
      if (position + BATCH_HEADER_SIZE > chunkStart + chunk.length) {
        chunk = await readFully(log, Math.min(SCAN_CHUNK, limit - position), position);
        chunkStart = position;
        if (chunk.length < BATCH_HEADER_SIZE) break;
      }
      const batch = headerAt(chunk, position - chunkStart, position);
      if (batch.baseOffset !== expectedOffset || batch.size < BATCH_HEADER_SIZE) {
        if (from) {
          this.context.logger.warn({ segment: this.files.log, position }, "index entry does not point at its batch");
          return this.scan(undefined, limit, wanted);
        }
        throw new StorageError("KAFKA_STORAGE_ERROR", `segment ${this.files.log} is corrupt at byte ${position}`);
      }
      if (wanted(batch)) return { batch, chunk, chunkStart };
      position += batch.size;
      expectedOffset = batch.lastOffset + 1;
    }
    return undefined;
  }
}

function headerAt(chunk: Buffer, at: number, position: number): IndexedBatch {
  const baseOffset = readInt64At(chunk, at + BATCH_OFFSETS.baseOffset);
  return {
    position,
    size: chunk.readInt32BE(at + BATCH_OFFSETS.batchLength) + BATCH_LOG_OVERHEAD,
    baseOffset,
    lastOffset: baseOffset + chunk.readInt32BE(at + BATCH_OFFSETS.lastOffsetDelta),
    maxTimestamp: readInt64At(chunk, at + BATCH_OFFSETS.maxTimestamp),
  };
}

/** Length of the complete batches at the start of `bytes`. */
function wholeBatchesLength(bytes: Buffer): number {
  let end = 0;
  while (end + BATCH_LOG_OVERHEAD <= bytes.length) {
    const size = bytes.readInt32BE(end + BATCH_OFFSETS.batchLength) + BATCH_LOG_OVERHEAD;
    if (end + size > bytes.length) break;
    end += size;
  }
  return end;
}
