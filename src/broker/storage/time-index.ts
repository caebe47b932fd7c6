import { readInt64At, writeInt64At } from "../../protocol/records/batch-header.js";
import { SparseIndex } from "./sparse-index.js";

const ENTRY_SIZE = 12;

export interface TimeIndexEntry {
  /** The largest batch max timestamp in the segment up to the indexed point. */
  timestamp: number;
  /** Last offset of the first batch that reached `timestamp`, relative to the segment's base. */
  relativeOffset: number;
}

/**
 * The `.timeindex` file of a segment: entries (int64 max timestamp so far, int32 relative
 * offset of the batch that set it), added beside offset index entries when the maximum grew,
 * plus a final entry when the segment is rolled — so the last entry of a closed segment is its
 * max timestamp, which retention and ListOffsets need without reading the log.
 *
 * Every batch before an entry's offset has a smaller max timestamp than the entry, so the
 * first batch reaching a target timestamp lies at or after the offset of the last entry whose
 * timestamp is at most the target.
 */
export class TimeIndex extends SparseIndex {
  private constructor(bytes: Buffer) {
    super(ENTRY_SIZE, bytes);
  }

  static empty(): TimeIndex {
    return new TimeIndex(Buffer.alloc(0));
  }

  /** Wraps file bytes that `problemWith` accepted. */
  static fromBytes(bytes: Buffer): TimeIndex {
    return new TimeIndex(bytes);
  }

  /** Why these file bytes cannot be the time index of a segment spanning `offsetSpan` offsets, or undefined. */
  static problemWith(bytes: Buffer, offsetSpan: number): string | undefined {
    if (bytes.length % ENTRY_SIZE !== 0) return `its size ${bytes.length} is not a multiple of ${ENTRY_SIZE}`;
    let previousTimestamp = -1;
    let previousOffset = -1;
    for (let at = 0; at < bytes.length; at += ENTRY_SIZE) {
      const timestamp = readInt64At(bytes, at);
      const relativeOffset = bytes.readInt32BE(at + 8);
      if (timestamp <= previousTimestamp || relativeOffset < previousOffset) {
        return `entry ${at / ENTRY_SIZE} is out of order`;
      }
      if (relativeOffset >= offsetSpan) return `entry ${at / ENTRY_SIZE} points past the end of the log`;
      previousTimestamp = timestamp;
      previousOffset = relativeOffset;
    }
    return undefined;
  }

  /** The last entry, which for a rolled segment holds its max timestamp. */
  get lastEntry(): TimeIndexEntry | undefined {
    return this.entryCount === 0 ? undefined : this.entryAt(this.entryCount - 1);
  }

  /** Adds an entry if `timestamp` is a new maximum; returns whether it did. */
  appendIfNewer(timestamp: number, relativeOffset: number): boolean {
    if (timestamp <= (this.lastEntry?.timestamp ?? -1)) return false;
    const at = this.appendSlot();
    writeInt64At(this.image, at, timestamp);
    this.image.writeInt32BE(relativeOffset, at + 8);
    return true;
  }

  /** Where to start scanning for the first batch with max timestamp ≥ `timestamp` (undefined: the segment start). */
  lookup(timestamp: number): TimeIndexEntry | undefined {
    const entry = this.floor(timestamp);
    return entry < 0 ? undefined : this.entryAt(entry);
  }

  protected override keyAt(entry: number): number {
    return readInt64At(this.image, this.at(entry));
  }

  private entryAt(entry: number): TimeIndexEntry {
    const at = this.at(entry);
    return { timestamp: readInt64At(this.image, at), relativeOffset: this.image.readInt32BE(at + 8) };
  }
}
