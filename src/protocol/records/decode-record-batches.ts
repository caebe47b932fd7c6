import { DEFAULT_MAX_DECOMPRESSED_BYTES } from "../compression/codecs.js";
import { DecompressionBudget } from "../compression/decompression-budget.js";
import { ProtocolError } from "../protocol-error.js";
import { Reader } from "../reader.js";
import { BATCH_HEADER_SIZE, BATCH_LOG_OVERHEAD, BATCH_OFFSETS, batchFlags, readBatchHeader } from "./batch-header.js";
import { computeBatchCrc } from "./checksums.js";
import { decodeLegacyEntry, legacyEntryToBatch } from "./legacy.js";
import { type KafkaRecord, MIN_RECORD_SIZE, readRecord } from "./record.js";
import type { RecordBatch } from "./record-batch.js";

export interface DecodeOptions {
  /** Most bytes all compressed batches of the input may decompress to, together. */
  maxDecompressedBytes?: number;
}

/** Bytes needed to see an entry's length and magic byte, at the same place in every format. */
const MAGIC_END = BATCH_OFFSETS.magic + 1;

async function decodeV2Batch(buf: Buffer, at: number, size: number, budget: DecompressionBudget): Promise<RecordBatch> {
  const storedCrc = buf.readUInt32BE(at + BATCH_OFFSETS.crc);
  const crc = computeBatchCrc(buf, at, size);
  if (crc !== storedCrc) {
    throw new ProtocolError(
      "PROTOCOL_CRC_MISMATCH",
      `record batch at byte ${at}: stored CRC 0x${storedCrc.toString(16)}, computed 0x${crc.toString(16)}`,
    );
  }
  const header = readBatchHeader(buf, at);
  const flags = batchFlags(header.attributes);
  // Uncompressed records are read in place; compressed ones from their decompressed copy.
  const reader =
    flags.codec === 0
      ? new Reader(buf, at + BATCH_HEADER_SIZE, at + size)
      : new Reader(await budget.decompress(flags.codec, buf.subarray(at + BATCH_HEADER_SIZE, at + size)));
  const count = header.recordsCount;
  if (count < 0 || count * MIN_RECORD_SIZE > reader.remaining) {
    throw new ProtocolError("PROTOCOL_BAD_RECORD", `record count ${count} for ${reader.remaining} bytes of records`);
  }
  const fixedTimestamp = flags.logAppendTime ? header.maxTimestamp : undefined;
  const records = new Array<KafkaRecord>(count);
  for (let i = 0; i < count; i++)
    records[i] = readRecord(reader, header.baseOffset, header.baseTimestamp, fixedTimestamp);
  if (reader.remaining !== 0) {
    throw new ProtocolError("PROTOCOL_BAD_RECORD", `${reader.remaining} bytes after the last of ${count} records`);
  }
  return { ...header, ...flags, records };
}

/**
 * Decodes a records blob (a Fetch partition's `records`, a log segment's bytes): zero or
 * more v2 batches, or legacy message-set entries, told apart per entry by the magic byte as
 * clients do. Verifies CRCs, decompresses within one budget for the whole blob, decodes
 * records and headers in one pass. A truncated trailing entry is dropped silently: Fetch
 * responses are cut at max_bytes wherever that falls.
 */
export async function decodeRecordBatches(buf: Buffer, options: DecodeOptions = {}): Promise<RecordBatch[]> {
  const budget = new DecompressionBudget(options.maxDecompressedBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES);
  const batches: RecordBatch[] = [];
  let at = 0;
  while (buf.length - at >= MAGIC_END) {
    const size = buf.readInt32BE(at + BATCH_OFFSETS.batchLength) + BATCH_LOG_OVERHEAD;
    const magic = buf.readInt8(at + BATCH_OFFSETS.magic);
    if (magic === 2) {
      if (size < BATCH_HEADER_SIZE) {
        throw new ProtocolError("PROTOCOL_BAD_BATCH_LENGTH", `record batch at byte ${at} declares ${size} bytes`);
      }
      if (size > buf.length - at) break;
      batches.push(await decodeV2Batch(buf, at, size, budget));
    } else if (magic === 0 || magic === 1) {
      const entry = await decodeLegacyEntry(buf, at, budget);
      if (!entry) break;
      batches.push(legacyEntryToBatch(entry));
    } else {
      throw new ProtocolError("PROTOCOL_BAD_MAGIC", `unknown magic byte ${magic} at byte ${at + BATCH_OFFSETS.magic}`);
    }
    at += size;
  }
  return batches;
}
