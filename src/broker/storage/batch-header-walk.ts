import { BATCH_HEADER_SIZE, type BatchHeader, readBatchHeader } from "../../protocol/records/batch-header.js";
import { type RandomAccessFile, readInto } from "./random-access-file.js";

/** Where a walk starts: a batch boundary and the offset of the batch there. */
export interface WalkStart {
  position: number;
  nextOffset: number;
}

/** What one read of a walk brought in: the bytes, and the batch headers that lie whole in them. */
export interface WalkedWindow {
  /** The bytes of the file from `start`: valid until the walk reads again. */
  bytes: Buffer;
  start: number;
  /** Each batch whose header lies whole in `bytes`, and where it starts in the file. */
  batches: { header: BatchHeader; position: number }[];
}

/** A header that is not the batch the walk expected there: a wrong start, or a corrupt log. */
export class UnexpectedBatchError extends Error {
  constructor(
    readonly position: number,
    reason: string,
  ) {
    super(`${reason} at byte ${position}`);
  }
}

/**
 * Walks the batch headers of a log file from `start` up to `limit` without reading the records
 * between them, through one window buffer of `windowBytes` reused from read to read. Every header
 * whole inside the window is parsed from it; the next window is read at the position of the first
 * header it lacks, so a batch larger than the window costs one read, and small ones a read per
 * window. Yields what each read found. Each batch must have the offset the one before implied and
 * a possible length; at the first that does not, the walk yields what it found before it and
 * throws an UnexpectedBatchError. It ends quietly where the file ends, should that be before
 * `limit`.
 */
export async function* walkBatchHeaders(
  file: RandomAccessFile,
  start: WalkStart,
  limit: number,
  windowBytes: number,
): AsyncGenerator<WalkedWindow> {
  const buffer = Buffer.allocUnsafe(Math.max(0, Math.min(windowBytes, limit - start.position)));
  let { position, nextOffset } = start;
  while (position + BATCH_HEADER_SIZE <= limit) {
    const windowStart = position;
    const read = await readInto(file, buffer, Math.min(buffer.length, limit - position), position);
    const bytes = buffer.subarray(0, read);
    const batches: WalkedWindow["batches"] = [];
    let unexpected: UnexpectedBatchError | undefined;
    while (position + BATCH_HEADER_SIZE <= windowStart + read) {
      const header = readBatchHeader(bytes, position - windowStart);
      unexpected = checkHeader(header, position, nextOffset);
      if (unexpected) break;
      batches.push({ header, position });
      position += header.size;
      nextOffset = header.baseOffset + header.lastOffsetDelta + 1;
    }
    if (batches.length > 0) yield { bytes, start: windowStart, batches };
    if (unexpected) throw unexpected;
    if (read < BATCH_HEADER_SIZE) return;
  }
}

function checkHeader(header: BatchHeader, position: number, nextOffset: number): UnexpectedBatchError | undefined {
  if (header.baseOffset !== nextOffset) {
    return new UnexpectedBatchError(position, `batch offset ${header.baseOffset} where ${nextOffset} was next`);
  }
  if (header.size < BATCH_HEADER_SIZE) {
    return new UnexpectedBatchError(position, `impossible batch length ${header.size}`);
  }
  return undefined;
}
