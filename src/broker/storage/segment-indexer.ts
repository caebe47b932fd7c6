import { OffsetIndex } from "./offset-index.js";
import { TimeIndex } from "./time-index.js";

/** What indexing needs to know about one batch of a segment. */
export interface IndexedBatch {
  /** Where the batch starts in the segment's log file. */
  position: number;
  size: number;
  baseOffset: number;
  lastOffset: number;
  maxTimestamp: number;
}

/** A point to roll an indexer back to when the write it indexed failed. */
export interface IndexerMark {
  offsetEntries: number;
  timeEntries: number;
  bytesSinceIndexEntry: number;
  maxTimestamp: number;
  offsetOfMaxTimestamp: number;
}

/**
 * The rule that fills a segment's two indexes, shared by appends and by rebuilding an index
 * from the log: the rebuild of an intact segment yields byte-identical files, which is how
 * recovery tells a good index from a stale one.
 */
export class SegmentIndexer {
  maxTimestamp = -1;
  offsetOfMaxTimestamp = -1;
  private bytesSinceIndexEntry = 0;

  constructor(
    readonly baseOffset: number,
    private readonly intervalBytes: number,
    readonly offsetIndex = OffsetIndex.empty(),
    readonly timeIndex = TimeIndex.empty(),
  ) {}

  /**
   * Picks indexing up from index files that `add` built, as it was just after indexing
   * `lastIndexed`, the batch their last offset entry points at (none if they are empty); the
   * batches after it can then be added.
   */
  static resume(
    baseOffset: number,
    intervalBytes: number,
    offsetIndex: OffsetIndex,
    timeIndex: TimeIndex,
    lastIndexed?: IndexedBatch,
  ): SegmentIndexer {
    const indexer = new SegmentIndexer(baseOffset, intervalBytes, offsetIndex, timeIndex);
    // A time entry is written beside each offset entry that saw the max timestamp grow, so the
    // last one holds the max as of the last indexed batch.
    const maxEntry = timeIndex.lastEntry;
    if (maxEntry) {
      indexer.maxTimestamp = maxEntry.timestamp;
      indexer.offsetOfMaxTimestamp = baseOffset + maxEntry.relativeOffset;
    }
    indexer.bytesSinceIndexEntry = lastIndexed?.size ?? 0;
    return indexer;
  }

  /** Takes the next batch of the segment, indexing it once ~intervalBytes were written since the last entry. */
  add(batch: IndexedBatch): void {
    if (batch.maxTimestamp > this.maxTimestamp) {
      this.maxTimestamp = batch.maxTimestamp;
      this.offsetOfMaxTimestamp = batch.lastOffset;
    }
    if (this.bytesSinceIndexEntry >= this.intervalBytes) {
      this.offsetIndex.append(batch.baseOffset - this.baseOffset, batch.position);
      this.timeIndex.appendIfNewer(this.maxTimestamp, this.offsetOfMaxTimestamp - this.baseOffset);
      this.bytesSinceIndexEntry = 0;
    }
    this.bytesSinceIndexEntry += batch.size;
  }

  /** The final time index entry of a rolled segment: its max timestamp. Returns whether one was added. */
  seal(): boolean {
    return this.timeIndex.appendIfNewer(this.maxTimestamp, this.offsetOfMaxTimestamp - this.baseOffset);
  }

  mark(): IndexerMark {
    return {
      offsetEntries: this.offsetIndex.entryCount,
      timeEntries: this.timeIndex.entryCount,
      bytesSinceIndexEntry: this.bytesSinceIndexEntry,
      maxTimestamp: this.maxTimestamp,
      offsetOfMaxTimestamp: this.offsetOfMaxTimestamp,
    };
  }

  rollBack(mark: IndexerMark): void {
    this.offsetIndex.truncate(mark.offsetEntries);
    this.timeIndex.truncate(mark.timeEntries);
    this.bytesSinceIndexEntry = mark.bytesSinceIndexEntry;
    this.maxTimestamp = mark.maxTimestamp;
    this.offsetOfMaxTimestamp = mark.offsetOfMaxTimestamp;
  }
}
