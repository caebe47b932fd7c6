import { readFile, rm } from "node:fs/promises";
import type { Logger } from "pino";
import { BATCH_LOG_OVERHEAD, BATCH_OFFSETS, type BatchHeader } from "../../protocol/records/batch-header.js";
import { UnexpectedBatchError, type WalkedWindow, walkBatchHeaders } from "./batch-header-walk.js";
import { type Durability, type DurableFile, GroupSync } from "./durability.js";
import { OffsetIndex, type OffsetIndexEntry } from "./offset-index.js";
import { type OpenFile, type RandomAccessFile, readFully, writeFully } from "./random-access-file.js";
import { type SegmentFiles, segmentFiles } from "./segment-files.js";
import { SegmentIndexer } from "./segment-indexer.js";
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
  /** Where the bytes a read returns go: lent buffers, when the caller gives them back once written. */
  allocateRead: (length: number) => Buffer;
}

/** The buffer of one append and where its batches sit in it. */
export interface SegmentAppend {
  bytes: Buffer;
  stamped: readonly StampedBatch[];
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
 * Bytes read per step when walking the headers of a whole segment: small batches cost a read
 * per window, a larger batch one read of this size at its header. Measured on a 100 MiB segment,
 * 256 KiB balances the two: 64 KiB made a read of every 64 KiB of 16 KiB batches (twice as slow),
 * 1 MiB copied 1 MiB per 1 MiB batch (twice as slow there).
 */
const HEADER_WALK_WINDOW = 256 * 1024;

/** A batch found by a scan, and the window of the log file the scan read it in. */
interface ScanHit {
  header: BatchHeader;
  position: number;
  window: WalkedWindow;
}

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
  /**
   * How many of the active segment's index entries its index files hold. Appends add entries in
   * memory only; they reach the files when the segment rolls or the broker shuts down cleanly
   * (see writePendingEntries).
   */
  private writtenEntries = { offset: 0, time: 0 };
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
    // Recovery leaves the files holding exactly the entries it loaded or rebuilt.
    if (loaded.indexer) {
      this.writtenEntries = {
        offset: loaded.indexer.offsetIndex.entryCount,
        time: loaded.indexer.timeIndex.entryCount,
      };
    }
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
   * Writes appends at the end of the log, with one gathering write of the callers' buffers (no
   * copy), and indexes them in memory. If the write fails, the log is truncated back, so the
   * segment ends at a batch boundary and the failed appends leave no trace.
   */
  async append(appends: readonly SegmentAppend[], now: number): Promise<void> {
    const indexer = this.indexer;
    if (!indexer) throw new Error(`segment ${this.files.log} is rolled and takes no appends`);
    let log: RandomAccessFile;
    try {
      log = await this.file(this.files.log);
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
    } catch (error) {
      indexer.rollBack(mark);
      await this.undoWrite(log, start);
      throw ioError(`append to ${this.files.log} failed`, error);
    }
    const lastBatches = appends[appends.length - 1]!.stamped;
    if (this.sizeBytes === 0) this.rollBaseTime = now;
    this.sizeBytes = position;
    this.nextOffset = lastBatches[lastBatches.length - 1]!.lastOffset + 1;
    this.lastModified = now;
  }

  /**
   * Turns the active segment into a rolled one: adds the final time index entry (its max
   * timestamp), writes the index entries its files lack and, unless fsync is "never", syncs all
   * three files, so that recovery may trust every segment but the last.
   */
  async seal(): Promise<void> {
    const indexer = this.indexer!;
    indexer.seal();
    await this.writePendingEntries();
    if (this.context.durability.syncsMetadata) await this.syncAllFiles();
    this.rolledMax = { maxTimestamp: indexer.maxTimestamp, offsetOfMaxTimestamp: indexer.offsetOfMaxTimestamp };
    this.loadedIndexes = Promise.resolve({ offsetIndex: indexer.offsetIndex, timeIndex: indexer.timeIndex });
    this.indexer = undefined;
    await this.closeHandles([this.files.index, this.files.timeIndex]);
  }

  /**
   * Whole batches from the one containing `offset`, reading no further than `limit` (the end of
   * the readable data) and, past the first batch, than `maxBytes`. Undefined if no batch below
   * `limit` holds `offset`, or if that batch is larger than `firstBatchMaxBytes` (it is not read).
   */
  readFrom(offset: number, limit: number, maxBytes: number, firstBatchMaxBytes: number): Promise<Buffer | undefined> {
    return this.use(async () => {
      const { offsetIndex } = await this.indexes();
      const found = await this.scan(
        offsetIndex.lookup(offset - this.baseOffset),
        limit,
        (b) => lastOffsetOf(b) >= offset,
      );
      if (!found) return undefined;
      const { header: first, position, window } = found;
      if (first.size > firstBatchMaxBytes) return undefined;
      const length = Math.min(limit - position, Math.max(maxBytes, first.size));
      // Near the end of the log (a consumer keeping up) the scan has already read it all.
      const end = position + length;
      const bytes =
        end <= window.start + window.bytes.length
          ? window.bytes.subarray(position - window.start, end - window.start)
          : await readFully(await this.file(this.files.log), length, position, this.context.allocateRead);
      return bytes.subarray(0, wholeBatchesLength(bytes));
    });
  }

  /** The first batch below `limit` with max timestamp ≥ `timestamp` and an offset ≥ `minOffset`. */
  findByTimestamp(timestamp: number, minOffset: number, limit: number): Promise<BatchHeader | undefined> {
    return this.use(async () => {
      const { offsetIndex, timeIndex } = await this.indexes();
      const timeEntry = timeIndex.lookup(timestamp);
      const candidates = [
        timeEntry && offsetIndex.lookup(timeEntry.relativeOffset),
        offsetIndex.lookup(minOffset - this.baseOffset),
      ];
      const start = candidates.reduce((a, b) => ((b?.position ?? 0) > (a?.position ?? 0) ? b : a));
      const found = await this.scan(start, limit, (b) => b.maxTimestamp >= timestamp && lastOffsetOf(b) >= minOffset);
      return found?.header;
    });
  }

  /**
   * The headers of the batches from the one containing `fromOffset` to `limit`, a group per read,
   * walked from the offset index entry below it without reading the records. The walk counts
   * itself in as a read from its first step until it ends or its consumer stops.
   */
  async *batchHeaders(fromOffset: number, limit: number): AsyncGenerator<BatchHeader[]> {
    this.startReading();
    try {
      const { offsetIndex } = await this.indexes();
      const from = offsetIndex.lookup(fromOffset - this.baseOffset);
      for await (const window of this.walk(from, limit, HEADER_WALK_WINDOW)) {
        const headers = window.batches.flatMap(({ header }) => (lastOffsetOf(header) >= fromOffset ? [header] : []));
        if (headers.length > 0) yield headers;
      }
    } catch (error) {
      throw this.readFailure(error);
    } finally {
      this.stopReading();
    }
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
    await this.writePendingEntries();
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

  /**
   * Writes the active segment's index entries that its files lack. Why not at every append:
   * two more writes per append (three system calls where one suffices) for files that only a
   * clean restart reads. After a crash, recovery checks the active segment batch by batch and
   * rebuilds its indexes anyway; a clean shutdown and a roll write them first.
   */
  private async writePendingEntries(): Promise<void> {
    const { offsetIndex, timeIndex } = this.indexer!;
    const [indexFile, timeIndexFile] = await Promise.all(this.indexFiles()).catch((error: unknown) => {
      throw ioError(`opening the indexes of ${this.files.log} failed`, error);
    });
    const pending: [RandomAccessFile, SparseIndex, "offset" | "time"][] = [
      [indexFile!, offsetIndex, "offset"],
      [timeIndexFile!, timeIndex, "time"],
    ];
    try {
      for (const [file, index, kind] of pending) {
        const from = this.writtenEntries[kind];
        if (index.entryCount > from) await writeFully(file, [index.bytesFrom(from)], index.sizeOf(from));
        this.writtenEntries[kind] = index.entryCount;
      }
    } catch (error) {
      throw ioError(`writing the indexes of ${this.files.log} failed`, error);
    }
  }

  private async undoWrite(log: RandomAccessFile, logSize: number): Promise<void> {
    try {
      await log.truncate(logSize);
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
    this.startReading();
    try {
      return await work();
    } catch (error) {
      throw this.readFailure(error);
    } finally {
      this.stopReading();
    }
  }

  private startReading(): void {
    if (this.closed) throw new StorageError("KAFKA_STORAGE_ERROR", `segment ${this.files.log} is closed`);
    this.readers++;
  }

  private stopReading(): void {
    this.readers--;
    if (this.readers === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private readFailure(error: unknown): StorageError {
    return error instanceof StorageError ? error : ioError(`reading ${this.files.log} failed`, error);
  }

  /** The first batch below `limit` that `wanted` accepts, walked from an index entry (or the segment start). */
  private async scan(
    from: OffsetIndexEntry | undefined,
    limit: number,
    wanted: (batch: BatchHeader) => boolean,
  ): Promise<ScanHit | undefined> {
    for await (const window of this.walk(from, limit, SCAN_CHUNK)) {
      const found = window.batches.find((batch) => wanted(batch.header));
      if (found) return { ...found, window };
    }
    return undefined;
  }

  /**
   * Walks the batch headers from an index entry (or the segment start) up to `limit`. An index
   * entry that does not point at the batch it names is distrusted, and the walk starts over from
   * the segment start; a batch out of sequence further on means the segment is corrupt.
   */
  private async *walk(
    from: OffsetIndexEntry | undefined,
    limit: number,
    windowBytes: number,
  ): AsyncGenerator<WalkedWindow> {
    const log = await this.file(this.files.log);
    const start = from
      ? { position: from.position, nextOffset: this.baseOffset + from.relativeOffset }
      : { position: 0, nextOffset: this.baseOffset };
    try {
      yield* walkBatchHeaders(log, start, limit, windowBytes);
    } catch (error) {
      if (!(error instanceof UnexpectedBatchError)) throw error;
      if (from && error.position === start.position) {
        this.context.logger.warn(
          { segment: this.files.log, position: start.position },
          "index entry does not point at its batch",
        );
        yield* this.walk(undefined, limit, windowBytes);
        return;
      }
      throw new StorageError("KAFKA_STORAGE_ERROR", `segment ${this.files.log} is corrupt: ${error.message}`);
    }
  }
}

function lastOffsetOf(header: BatchHeader): number {
  return header.baseOffset + header.lastOffsetDelta;
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
