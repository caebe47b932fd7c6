import { crc32c } from "@node-rs/crc32";
import {
  ATTRIBUTE_LOG_APPEND_TIME,
  BATCH_HEADER_SIZE,
  BATCH_LOG_OVERHEAD,
  BATCH_OFFSETS,
  CRC_START,
  readInt64At,
  writeInt64At,
} from "../../protocol/records/batch-header.js";
import { StorageError } from "./storage-error.js";

/** Where one batch of an append sits and which offsets it got. */
export interface StampedBatch {
  /** Byte position of the batch inside the appended buffer. */
  position: number;
  size: number;
  baseOffset: number;
  lastOffset: number;
  maxTimestamp: number;
}

/**
 * Rewrites the header fields the broker owns, in place, as Kafka's LogValidator does:
 * consecutive offsets from `firstOffset`, leader epoch 0 (this broker's only epoch) and, for
 * LogAppendTime topics, the timestamp type bit and `logAppendTime` as max timestamp — which
 * are inside the CRC, so only then is the CRC recomputed. baseOffset and the leader epoch lie
 * before the CRC'd range, so the common case costs no checksum work.
 *
 * The produce path has validated the batches; the framing is checked again here only because
 * a wrong length would corrupt the log for good.
 */
export function stampBatches(batches: Buffer, firstOffset: number, logAppendTime: number | undefined): StampedBatch[] {
  if (batches.length === 0) throw new StorageError("CORRUPT_MESSAGE", "an append needs at least one record batch");
  const stamped: StampedBatch[] = [];
  let position = 0;
  let offset = firstOffset;
  while (position < batches.length) {
    const size = framedBatchSize(batches, position);
    const lastOffsetDelta = batches.readInt32BE(position + BATCH_OFFSETS.lastOffsetDelta);
    if (lastOffsetDelta < 0) {
      throw new StorageError("CORRUPT_MESSAGE", `batch at byte ${position} has a negative lastOffsetDelta`);
    }
    writeInt64At(batches, position + BATCH_OFFSETS.baseOffset, offset);
    batches.writeInt32BE(0, position + BATCH_OFFSETS.partitionLeaderEpoch);
    if (logAppendTime !== undefined) {
      const attributes = batches.readInt16BE(position + BATCH_OFFSETS.attributes);
      batches.writeInt16BE(attributes | ATTRIBUTE_LOG_APPEND_TIME, position + BATCH_OFFSETS.attributes);
      writeInt64At(batches, position + BATCH_OFFSETS.maxTimestamp, logAppendTime);
      const crc = crc32c(batches.subarray(position + CRC_START, position + size));
      batches.writeUInt32BE(crc, position + BATCH_OFFSETS.crc);
    }
    stamped.push({
      position,
      size,
      baseOffset: offset,
      lastOffset: offset + lastOffsetDelta,
      maxTimestamp: readInt64At(batches, position + BATCH_OFFSETS.maxTimestamp),
    });
    offset += lastOffsetDelta + 1;
    position += size;
  }
  return stamped;
}

function framedBatchSize(batches: Buffer, position: number): number {
  if (batches.length - position < BATCH_HEADER_SIZE) {
    throw new StorageError("CORRUPT_MESSAGE", `truncated batch header at byte ${position}`);
  }
  const size = batches.readInt32BE(position + BATCH_OFFSETS.batchLength) + BATCH_LOG_OVERHEAD;
  if (size < BATCH_HEADER_SIZE || position + size > batches.length) {
    throw new StorageError("CORRUPT_MESSAGE", `batch at byte ${position} claims ${size} bytes`);
  }
  const magic = batches.readInt8(position + BATCH_OFFSETS.magic);
  if (magic !== 2) throw new StorageError("CORRUPT_MESSAGE", `batch at byte ${position} has magic ${magic}, not 2`);
  return size;
}
