import {
  closeSync,
  openSync,
  readFileSync,
  readSync,
  type Stats,
  statSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { crc32c } from "@node-rs/crc32";
import type { Logger } from "pino";
import {
  BATCH_HEADER_SIZE,
  BATCH_LOG_OVERHEAD,
  BATCH_OFFSETS,
  CRC_START,
  readInt64At,
} from "../../protocol/records/batch-header.js";
import type { WalkStart } from "./batch-header-walk.js";
import { OffsetIndex } from "./offset-index.js";
import { type SegmentFiles, segmentFiles } from "./segment-files.js";
import { type IndexedBatch, SegmentIndexer } from "./segment-indexer.js";
import { TimeIndex } from "./time-index.js";

/**
 * Loading segments at startup, synchronously (nothing else runs yet). The last segment of a
 * partition is the one a crash can leave torn, so it is read whole and every batch checked —
 * unless the last run shut down cleanly, which left it synced and whole. Older segments were
 * complete (and, unless fsync is "never", synced) when they were rolled, so they are trusted and
 * only their indexes are checked.
 */

export interface LoadedSegment {
  baseOffset: number;
  nextOffset: number;
  sizeBytes: number;
  maxTimestamp: number;
  offsetOfMaxTimestamp: number;
  lastModified: number;
  rollBaseTime: number;
  /** For the active segment: its indexes, ready to take appends. */
  indexer?: SegmentIndexer;
}

export interface RecoveryContext {
  directory: string;
  indexIntervalBytes: number;
  logger: Logger;
  /** The data directory had a clean-shutdown marker: active segments are trusted as they are. */
  cleanShutdown: boolean;
}

/** Reads are done in chunks of this size, so recovery memory does not grow with segment size. */
const READ_CHUNK = 1024 * 1024;

/**
 * Loads the active segment: after a clean shutdown, as it is, if its files agree with each other
 * (resumeActiveSegment); otherwise checked batch by batch (recoverActiveSegment).
 */
export function loadActiveSegment(baseOffset: number, context: RecoveryContext): LoadedSegment {
  if (context.cleanShutdown) {
    const resumed = resumeActiveSegment(baseOffset, context);
    if ("segment" in resumed) return resumed.segment;
    context.logger.warn(
      { segment: segmentFiles(context.directory, baseOffset).log, reason: resumed.problem },
      "active segment does not match its indexes after a clean shutdown; checking it in full",
    );
  }
  return recoverActiveSegment(baseOffset, context);
}

/**
 * Takes the active segment as a clean shutdown left it, without reading its batches: the log
 * ends where the file ends, and its indexes are what the appends built. Only the batches from
 * the last offset index entry on (about one index interval) are walked, headers only, for the
 * next offset and the max timestamp. Returns the problem instead if the files disagree: an index
 * missing or torn, its last entry not at a batch, a tail that does not walk to the end of the
 * file, or indexes that lack the entries the tail would have added.
 */
function resumeActiveSegment(
  baseOffset: number,
  context: RecoveryContext,
): { segment: LoadedSegment } | { problem: string } {
  const files = segmentFiles(context.directory, baseOffset);
  const stat = statSync(files.log);
  const offsetBytes = readIfExists(files.index);
  const timeBytes = readIfExists(files.timeIndex);
  if (!offsetBytes || !timeBytes) return { problem: "an index file is missing" };
  // Entries are checked for order here; that the last ones lie inside the log, after the walk.
  const indexProblem =
    OffsetIndex.problemWith(offsetBytes, stat.size, Number.MAX_SAFE_INTEGER) ??
    TimeIndex.problemWith(timeBytes, Number.MAX_SAFE_INTEGER);
  if (indexProblem) return { problem: indexProblem };
  const offsetIndex = OffsetIndex.fromBytes(offsetBytes);
  const timeIndex = TimeIndex.fromBytes(timeBytes);
  // Time entries are only written beside offset entries.
  if (timeIndex.entryCount > offsetIndex.entryCount)
    return { problem: "the time index has more entries than the offset index" };
  const entryCounts = [offsetIndex.entryCount, timeIndex.entryCount];
  const resume = (lastIndexed?: IndexedBatch) =>
    SegmentIndexer.resume(baseOffset, context.indexIntervalBytes, offsetIndex, timeIndex, lastIndexed);
  const lastEntry = offsetIndex.lastEntry;
  // The walk starts at the batch of the last offset entry, which resumes the indexer.
  let indexer = lastEntry ? undefined : resume();
  let maxTimestampAhead = false;
  let firstWalked: IndexedBatch | undefined;
  const start = lastEntry
    ? { position: lastEntry.position, nextOffset: baseOffset + lastEntry.relativeOffset }
    : { position: 0, nextOffset: baseOffset };
  const scan = scanLog(files.log, stat.size, start, false, (batch) => {
    firstWalked ??= batch;
    if (indexer) return indexer.add(batch);
    indexer = resume(batch);
    maxTimestampAhead = batch.maxTimestamp > indexer.maxTimestamp;
  });
  if (scan.problem !== undefined || !indexer) {
    return { problem: `at byte ${scan.validBytes}: ${scan.problem ?? "no batch where the offset index points"}` };
  }
  const stale =
    maxTimestampAhead || offsetIndex.entryCount !== entryCounts[0] || timeIndex.entryCount !== entryCounts[1];
  if (stale) return { problem: "the indexes lack entries for the end of the log" };
  if ((timeIndex.lastEntry?.relativeOffset ?? -1) >= scan.nextOffset - baseOffset) {
    return { problem: "the time index points past the end of the log" };
  }
  const firstMaxTimestamp = lastEntry ? readMaxTimestampAt(files.log, 0) : firstWalked?.maxTimestamp;
  return {
    segment: {
      baseOffset,
      nextOffset: scan.nextOffset,
      sizeBytes: stat.size,
      maxTimestamp: indexer.maxTimestamp,
      offsetOfMaxTimestamp: indexer.offsetOfMaxTimestamp,
      lastModified: stat.mtimeMs,
      rollBaseTime: rollBaseTime(firstMaxTimestamp, stat),
      indexer,
    },
  };
}

/**
 * Checks the active segment batch by batch — length sane and inside the file, magic 2, offsets
 * continuing, CRC-32C valid — truncates it after the last good batch, and rebuilds its indexes
 * unless the files on disk are exactly what the log implies.
 */
function recoverActiveSegment(baseOffset: number, context: RecoveryContext): LoadedSegment {
  const files = segmentFiles(context.directory, baseOffset);
  const stat = statSync(files.log);
  const indexer = new SegmentIndexer(baseOffset, context.indexIntervalBytes);
  let firstMaxTimestamp: number | undefined;
  const scan = scanLog(files.log, stat.size, { position: 0, nextOffset: baseOffset }, true, (batch) => {
    indexer.add(batch);
    firstMaxTimestamp ??= batch.maxTimestamp;
  });
  if (scan.problem !== undefined) {
    context.logger.warn(
      {
        segment: files.log,
        position: scan.validBytes,
        droppedBytes: stat.size - scan.validBytes,
        reason: scan.problem,
      },
      "truncating a torn or corrupt segment tail",
    );
    truncateSync(files.log, scan.validBytes);
  }
  rewriteIfStale(files, indexer, context.logger, true);
  return {
    baseOffset,
    nextOffset: scan.nextOffset,
    sizeBytes: scan.validBytes,
    maxTimestamp: indexer.maxTimestamp,
    offsetOfMaxTimestamp: indexer.offsetOfMaxTimestamp,
    lastModified: stat.mtimeMs,
    rollBaseTime: rollBaseTime(firstMaxTimestamp, stat),
    indexer,
  };
}

/** segment.ms counts from the first batch's max timestamp, or from the file's mtime if it has none. */
function rollBaseTime(firstMaxTimestamp: number | undefined, stat: Stats): number {
  return firstMaxTimestamp !== undefined && firstMaxTimestamp >= 0 ? firstMaxTimestamp : stat.mtimeMs;
}

/**
 * Loads a rolled segment: its size from the file system, its max timestamp from the last time
 * index entry. Indexes that are missing, torn, point past the log, or look lost (empty beside a
 * log that should have entries) are rebuilt from the batch headers.
 */
export function loadSealedSegment(baseOffset: number, nextOffset: number, context: RecoveryContext): LoadedSegment {
  const files = segmentFiles(context.directory, baseOffset);
  const stat = statSync(files.log);
  const offsetBytes = readIfExists(files.index);
  const timeBytes = readIfExists(files.timeIndex);
  const span = nextOffset - baseOffset;
  const suspect =
    offsetBytes === undefined ||
    timeBytes === undefined ||
    OffsetIndex.problemWith(offsetBytes, stat.size, span) !== undefined ||
    TimeIndex.problemWith(timeBytes, span) !== undefined ||
    (offsetBytes.length === 0 && stat.size > 2 * context.indexIntervalBytes) ||
    (timeBytes.length === 0 && stat.size > 0);
  let maxTimestamp = -1;
  let offsetOfMaxTimestamp = -1;
  if (suspect) {
    const indexer = new SegmentIndexer(baseOffset, context.indexIntervalBytes);
    const scan = scanLog(files.log, stat.size, { position: 0, nextOffset: baseOffset }, false, (batch) =>
      indexer.add(batch),
    );
    if (scan.problem !== undefined) {
      context.logger.warn(
        { segment: files.log, position: scan.validBytes, reason: scan.problem },
        "rolled segment is damaged",
      );
    }
    indexer.seal();
    rewriteIfStale(files, indexer, context.logger, false);
    ({ maxTimestamp, offsetOfMaxTimestamp } = indexer);
  } else {
    const last = TimeIndex.fromBytes(timeBytes).lastEntry;
    if (last) {
      maxTimestamp = last.timestamp;
      offsetOfMaxTimestamp = baseOffset + last.relativeOffset;
    }
  }
  return {
    baseOffset,
    nextOffset,
    sizeBytes: stat.size,
    maxTimestamp,
    offsetOfMaxTimestamp,
    lastModified: stat.mtimeMs,
    rollBaseTime: stat.mtimeMs,
  };
}

/**
 * Writes each index file that is not what the log implies. An active segment's index files only
 * lag its log after a crash (appends index in memory; see LogSegment.writePendingEntries), which
 * is no news; anything else is.
 */
function rewriteIfStale(files: SegmentFiles, indexer: SegmentIndexer, logger: Logger, active: boolean): void {
  const indexes = [
    { path: files.index, bytes: indexer.offsetIndex.bytes() },
    { path: files.timeIndex, bytes: indexer.timeIndex.bytes() },
  ];
  for (const { path, bytes } of indexes) {
    const onDisk = readIfExists(path);
    if (onDisk?.equals(bytes)) continue;
    if (onDisk && active && bytes.subarray(0, onDisk.length).equals(onDisk)) {
      logger.debug({ index: path }, "completing index that lags the log");
    } else {
      logger.warn({ index: path, reason: onDisk ? "it does not match the log" : "it is missing" }, "rebuilding index");
    }
    writeFileSync(path, bytes);
  }
}

function readIfExists(path: string): Buffer | undefined {
  try {
    return readFileSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

/** The max timestamp of the batch at `position`, whose header is read alone. */
function readMaxTimestampAt(path: string, position: number): number {
  const header = Buffer.alloc(BATCH_HEADER_SIZE);
  const fd = openSync(path, "r");
  try {
    if (readSync(fd, header, 0, BATCH_HEADER_SIZE, position) !== BATCH_HEADER_SIZE) {
      throw new Error(`${path} ends inside the batch header at byte ${position}`);
    }
  } finally {
    closeSync(fd);
  }
  return readInt64At(header, BATCH_OFFSETS.maxTimestamp);
}

interface ScanResult {
  /** Bytes from the start of the file up to the end of the last good batch. */
  validBytes: number;
  nextOffset: number;
  /** Why the scan stopped before the end of the file. */
  problem?: string;
}

/** Walks the batch headers of a log file from `start` to its end; with `verify`, checks each batch's CRC too. */
function scanLog(
  path: string,
  fileSize: number,
  start: WalkStart,
  verify: boolean,
  onBatch: (batch: IndexedBatch) => void,
): ScanResult {
  const file = new ChunkedFile(path, fileSize);
  try {
    let { position, nextOffset } = start;
    while (position < fileSize) {
      const problem = (why: string): ScanResult => ({ validBytes: position, nextOffset, problem: why });
      const header = file.bytesAt(position, BATCH_HEADER_SIZE);
      if (!header) return problem("truncated batch header");
      const size = header.readInt32BE(BATCH_OFFSETS.batchLength) + BATCH_LOG_OVERHEAD;
      if (size < BATCH_HEADER_SIZE) return problem(`impossible batch length ${size}`);
      if (position + size > fileSize) return problem(`batch of ${size} bytes runs past the end of the file`);
      const magic = header.readInt8(BATCH_OFFSETS.magic);
      if (magic !== 2) return problem(`magic ${magic}`);
      const batchOffset = readInt64At(header, BATCH_OFFSETS.baseOffset);
      if (batchOffset !== nextOffset) return problem(`batch offset ${batchOffset} where ${nextOffset} was next`);
      const lastOffsetDelta = header.readInt32BE(BATCH_OFFSETS.lastOffsetDelta);
      if (lastOffsetDelta < 0) return problem(`negative lastOffsetDelta ${lastOffsetDelta}`);
      const maxTimestamp = readInt64At(header, BATCH_OFFSETS.maxTimestamp);
      if (verify) {
        const storedCrc = header.readUInt32BE(BATCH_OFFSETS.crc);
        const batch = file.bytesAt(position, size)!;
        if (crc32c(batch.subarray(CRC_START)) !== storedCrc) return problem("CRC-32C mismatch");
      }
      onBatch({ position, size, baseOffset: batchOffset, lastOffset: batchOffset + lastOffsetDelta, maxTimestamp });
      position += size;
      nextOffset = batchOffset + lastOffsetDelta + 1;
    }
    return { validBytes: position, nextOffset };
  } finally {
    file.close();
  }
}

/** Sequential positional reads through a window buffer, reloaded as the scan moves on. */
class ChunkedFile {
  private readonly fd: number;
  /** Grown on demand: most scans at startup cover a few kilobytes past the last index entry, or none. */
  private window = Buffer.alloc(0);
  private windowStart = 0;
  private windowLength = 0;

  constructor(
    path: string,
    private readonly fileSize: number,
  ) {
    this.fd = openSync(path, "r");
  }

  /** `length` bytes at `position`, valid until the next call; undefined past the end of the file. */
  bytesAt(position: number, length: number): Buffer | undefined {
    if (position + length > this.fileSize) return undefined;
    const inWindow = position >= this.windowStart && position + length <= this.windowStart + this.windowLength;
    if (!inWindow) {
      const wanted = Math.max(length, Math.min(READ_CHUNK, this.fileSize - position));
      if (wanted > this.window.length) this.window = Buffer.allocUnsafe(wanted);
      this.windowStart = position;
      this.windowLength = Math.min(this.window.length, this.fileSize - position);
      let filled = 0;
      while (filled < this.windowLength) {
        const read = readSync(this.fd, this.window, filled, this.windowLength - filled, position + filled);
        if (read === 0) {
          this.windowLength = filled;
          return undefined;
        }
        filled += read;
      }
    }
    const start = position - this.windowStart;
    return this.window.subarray(start, start + length);
  }

  close(): void {
    closeSync(this.fd);
  }
}
