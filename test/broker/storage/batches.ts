import { crc32c } from "@node-rs/crc32";
import {
  BATCH_HEADER_SIZE,
  BATCH_OFFSETS,
  type BatchHeader,
  CRC_START,
  readBatchHeader,
  writeInt64At,
} from "../../../src/protocol/records/batch-header.js";

export interface BatchSpec {
  /** Number of records the header announces (default 1). */
  records?: number;
  /** Max timestamp of the batch; the base timestamp is 10 ms earlier (default 1_000_000). */
  maxTimestamp?: number;
  /** Bytes after the header (default 40); the storage never decodes them. */
  bodyBytes?: number;
  /** Text written at the start of the body, to recognise the batch when it comes back. */
  tag?: string;
  /** What a producer would put there; the broker overwrites it with 0. */
  partitionLeaderEpoch?: number;
}

/** A v2 record batch as a producer sends it: baseOffset 0, valid CRC-32C, opaque record bytes. */
export function makeBatch(spec: BatchSpec = {}): Buffer {
  const records = spec.records ?? 1;
  const maxTimestamp = spec.maxTimestamp ?? 1_000_000;
  const body = Buffer.alloc(Math.max(spec.bodyBytes ?? 40, Buffer.byteLength(spec.tag ?? "")), 0x5a);
  body.write(spec.tag ?? "");
  const batch = Buffer.alloc(BATCH_HEADER_SIZE + body.length);
  writeInt64At(batch, BATCH_OFFSETS.baseOffset, 0);
  batch.writeInt32BE(batch.length - 12, BATCH_OFFSETS.batchLength);
  batch.writeInt32BE(spec.partitionLeaderEpoch ?? -1, BATCH_OFFSETS.partitionLeaderEpoch);
  batch.writeInt8(2, BATCH_OFFSETS.magic);
  batch.writeInt16BE(0, BATCH_OFFSETS.attributes);
  batch.writeInt32BE(records - 1, BATCH_OFFSETS.lastOffsetDelta);
  writeInt64At(batch, BATCH_OFFSETS.baseTimestamp, maxTimestamp - 10);
  writeInt64At(batch, BATCH_OFFSETS.maxTimestamp, maxTimestamp);
  writeInt64At(batch, BATCH_OFFSETS.producerId, -1);
  batch.writeInt16BE(-1, BATCH_OFFSETS.producerEpoch);
  batch.writeInt32BE(-1, BATCH_OFFSETS.baseSequence);
  batch.writeInt32BE(records, BATCH_OFFSETS.recordsCount);
  body.copy(batch, BATCH_HEADER_SIZE);
  batch.writeUInt32BE(crc32c(batch.subarray(CRC_START)), BATCH_OFFSETS.crc);
  return batch;
}

export interface ParsedBatch extends BatchHeader {
  lastOffset: number;
  crcValid: boolean;
  /** The tag the batch was made with. */
  tag: string;
  bytes: Buffer;
}

/** Splits concatenated batches (as a read returns them) and parses their headers. */
export function parseBatches(buffers: Buffer | Buffer[]): ParsedBatch[] {
  const bytes = Buffer.isBuffer(buffers) ? buffers : Buffer.concat(buffers);
  const batches: ParsedBatch[] = [];
  for (let at = 0; at < bytes.length; ) {
    const header = readBatchHeader(bytes, at);
    const batch = bytes.subarray(at, at + header.size);
    batches.push({
      ...header,
      lastOffset: header.baseOffset + header.lastOffsetDelta,
      crcValid: crc32c(batch.subarray(CRC_START)) === header.crc,
      tag: batch.toString("latin1", BATCH_HEADER_SIZE).replace(/Z+$/, ""),
      bytes: batch,
    });
    at += header.size;
  }
  return batches;
}
