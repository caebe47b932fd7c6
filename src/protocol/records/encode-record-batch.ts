import { CodecId } from "../compression/codec.js";
import { codecById } from "../compression/codecs.js";
import { Writer } from "../writer.js";
import {
  BATCH_HEADER_SIZE,
  BATCH_OFFSETS,
  type BatchHeader,
  batchAttributes,
  writeBatchHeader,
} from "./batch-header.js";
import { computeBatchCrc } from "./checksums.js";
import { encodedRecordSize, type MeasuredRecord, measureRecord, type RecordInput, writeRecord } from "./record.js";
import type { RecordBatchInput } from "./record-batch.js";

const NO_TIMESTAMP = -1;
const NO_PRODUCER = -1;
/** Reserves the header's bytes in the Writer; the real fields are patched in afterwards. */
const HEADER_PLACEHOLDER = Buffer.alloc(BATCH_HEADER_SIZE);
/**
 * Cap on the Writer's first buffer. Below it the whole batch lands in one exactly sized
 * buffer; above it the Writer grows in chunks and joins them once, rather than reserving
 * room for large values it references instead of copying.
 */
const MAX_PRESIZED_BYTES = 1024 * 1024;

function writeRecords(writer: Writer, records: readonly RecordInput[], measured: readonly MeasuredRecord[]): void {
  for (let i = 0; i < records.length; i++) {
    writeRecord(writer, records[i] as RecordInput, measured[i] as MeasuredRecord);
  }
}

function sealBatch(batch: Buffer, header: Omit<BatchHeader, "crc" | "size">): Buffer {
  writeBatchHeader(batch, 0, { ...header, size: batch.length });
  // Last, because the CRC covers the attributes and everything after them.
  batch.writeUInt32BE(computeBatchCrc(batch, 0, batch.length), BATCH_OFFSETS.crc);
  return batch;
}

/**
 * Encodes one v2 record batch. Records are measured first (deltas, lengths, UTF-8 header
 * keys) so each length prefix is known before its record is written, in a single pass
 * into one buffer; with a codec, that records section is compressed as one blob.
 */
export async function encodeRecordBatch(input: RecordBatchInput): Promise<Buffer> {
  const { records } = input;
  const codec = input.codec ?? CodecId.none;
  const compressor = codecById(codec);
  const now = Date.now();
  const defaultTimestamp = input.baseTimestamp ?? now;
  const first = records[0];
  const baseTimestamp = input.baseTimestamp ?? (first ? (first.timestamp ?? defaultTimestamp) : NO_TIMESTAMP);

  const measured = new Array<MeasuredRecord>(records.length);
  let recordsSize = 0;
  let maxRecordTimestamp = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < records.length; i++) {
    const record = records[i] as RecordInput;
    const timestamp = record.timestamp ?? defaultTimestamp;
    if (timestamp > maxRecordTimestamp) maxRecordTimestamp = timestamp;
    const entry = measureRecord(record, timestamp - baseTimestamp, record.offsetDelta ?? i);
    measured[i] = entry;
    recordsSize += encodedRecordSize(entry);
  }

  let maxTimestamp: number;
  if (input.logAppendTime) maxTimestamp = input.maxTimestamp ?? now;
  else if (records.length > 0) maxTimestamp = maxRecordTimestamp;
  else maxTimestamp = input.maxTimestamp ?? NO_TIMESTAMP;
  const last = measured[measured.length - 1];
  const header = {
    baseOffset: input.baseOffset ?? 0,
    partitionLeaderEpoch: input.partitionLeaderEpoch ?? -1,
    magic: 2,
    attributes: batchAttributes(input),
    lastOffsetDelta: input.lastOffsetDelta ?? (last ? last.offsetDelta : -1),
    baseTimestamp,
    maxTimestamp,
    producerId: input.producerId ?? NO_PRODUCER,
    producerEpoch: input.producerEpoch ?? NO_PRODUCER,
    baseSequence: input.baseSequence ?? NO_PRODUCER,
    recordsCount: records.length,
  };

  if (codec === CodecId.none) {
    const writer = new Writer(Math.min(BATCH_HEADER_SIZE + recordsSize, MAX_PRESIZED_BYTES));
    writer.writeRaw(HEADER_PLACEHOLDER);
    writeRecords(writer, records, measured);
    return sealBatch(writer.toBuffer(), header);
  }
  const writer = new Writer(Math.min(recordsSize, MAX_PRESIZED_BYTES));
  writeRecords(writer, records, measured);
  const compressed = await compressor.compress(writer.toBuffer());
  const batch = Buffer.allocUnsafe(BATCH_HEADER_SIZE + compressed.length);
  compressed.copy(batch, BATCH_HEADER_SIZE);
  return sealBatch(batch, header);
}
