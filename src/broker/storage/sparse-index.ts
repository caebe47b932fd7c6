/**
 * The in-memory image of an index file: fixed-size entries whose key only grows, appended
 * as the segment grows and searched by bisection. The file holds exactly `bytes()`.
 */
export abstract class SparseIndex {
  private buffer: Buffer;
  private count: number;

  protected constructor(
    private readonly entrySize: number,
    bytes: Buffer,
  ) {
    this.buffer = bytes;
    this.count = Math.floor(bytes.length / entrySize);
  }

  get entryCount(): number {
    return this.count;
  }

  /** The file image. */
  bytes(): Buffer {
    return this.buffer.subarray(0, this.count * this.entrySize);
  }

  /** The file bytes of the entries from `entry` on, to append them to the file. */
  bytesFrom(entry: number): Buffer {
    return this.buffer.subarray(entry * this.entrySize, this.count * this.entrySize);
  }

  /** Byte length of the first `entryCount` entries: where entry `entryCount` starts in the file. */
  sizeOf(entryCount: number): number {
    return entryCount * this.entrySize;
  }

  /** Drops the entries from `entryCount` on (undoing a failed append). */
  truncate(entryCount: number): void {
    this.count = Math.min(this.count, entryCount);
  }

  equals(other: SparseIndex): boolean {
    return this.bytes().equals(other.bytes());
  }

  protected abstract keyAt(entry: number): number;

  /** Byte position of an entry in the image. */
  protected at(entry: number): number {
    return entry * this.entrySize;
  }

  protected get image(): Buffer {
    return this.buffer;
  }

  /** The last entry whose key is at most `key`, or −1. */
  protected floor(key: number): number {
    let low = 0;
    let high = this.count - 1;
    let found = -1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      if (this.keyAt(middle) <= key) {
        found = middle;
        low = middle + 1;
      } else {
        high = middle - 1;
      }
    }
    return found;
  }

  /** Makes room for one more entry and returns its byte position. */
  protected appendSlot(): number {
    const position = this.count * this.entrySize;
    if (position + this.entrySize > this.buffer.length) {
      const grown = Buffer.alloc(Math.max(64 * this.entrySize, this.buffer.length * 2));
      this.buffer.copy(grown, 0, 0, position);
      this.buffer = grown;
    }
    this.count++;
    return position;
  }
}
