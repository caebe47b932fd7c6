import { SparseIndex } from "./sparse-index.js";

const ENTRY_SIZE = 8;

export interface OffsetIndexEntry {
  /** Base offset of an indexed batch, relative to the segment's base offset. */
  relativeOffset: number;
  /** Where that batch starts in the segment's log file. */
  position: number;
}

/**
 * The `.index` file of a segment: one entry (int32 relative offset, int32 file position) per
 * ~index-interval bytes of log, so finding an offset costs a bisection and a short scan of
 * batch headers, whatever the segment's size.
 */
export class OffsetIndex extends SparseIndex {
  private constructor(bytes: Buffer) {
    super(ENTRY_SIZE, bytes);
  }

  static empty(): OffsetIndex {
    return new OffsetIndex(Buffer.alloc(0));
  }

  /** Wraps file bytes that `problemWith` accepted. */
  static fromBytes(bytes: Buffer): OffsetIndex {
    return new OffsetIndex(bytes);
  }

  /**
   * Why these file bytes cannot index a segment of `logSize` bytes spanning `offsetSpan`
   * offsets, or undefined if they can. A torn or stale index shows up here as a partial entry,
   * keys out of order, or an entry pointing past the end of the log.
   */
  static problemWith(bytes: Buffer, logSize: number, offsetSpan: number): string | undefined {
    if (bytes.length % ENTRY_SIZE !== 0) return `its size ${bytes.length} is not a multiple of ${ENTRY_SIZE}`;
    let previousOffset = -1;
    let previousPosition = -1;
    for (let at = 0; at < bytes.length; at += ENTRY_SIZE) {
      const relativeOffset = bytes.readInt32BE(at);
      const position = bytes.readInt32BE(at + 4);
      if (relativeOffset <= previousOffset || position <= previousPosition)
        return `entry ${at / ENTRY_SIZE} is out of order`;
      if (relativeOffset >= offsetSpan || position >= logSize) {
        return `entry ${at / ENTRY_SIZE} points past the end of the log`;
      }
      previousOffset = relativeOffset;
      previousPosition = position;
    }
    return undefined;
  }

  append(relativeOffset: number, position: number): void {
    const at = this.appendSlot();
    this.image.writeInt32BE(relativeOffset, at);
    this.image.writeInt32BE(position, at + 4);
  }

  /** The last indexed batch starting at or before `relativeOffset`, if any. */
  lookup(relativeOffset: number): OffsetIndexEntry | undefined {
    const entry = this.floor(relativeOffset);
    return entry < 0 ? undefined : this.entryAt(entry);
  }

  /** The last indexed batch, if any. */
  get lastEntry(): OffsetIndexEntry | undefined {
    return this.entryCount === 0 ? undefined : this.entryAt(this.entryCount - 1);
  }

  protected override keyAt(entry: number): number {
    return this.image.readInt32BE(this.at(entry));
  }

  private entryAt(entry: number): OffsetIndexEntry {
    const at = this.at(entry);
    return { relativeOffset: this.image.readInt32BE(at), position: this.image.readInt32BE(at + 4) };
  }
}
