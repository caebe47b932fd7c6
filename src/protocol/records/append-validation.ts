import { CodecId } from "../compression/codec.js";
import { isKnownCodec } from "../compression/codecs.js";
import {
  BATCH_HEADER_SIZE,
  BATCH_LOG_OVERHEAD,
  BATCH_OFFSETS,
  type BatchHeader,
  batchFlags,
  readBatchHeader,
} from "./batch-header.js";
import { computeBatchCrc } from "./checksums.js";

/**
 * The broker's cheap check of a Produce request's records before appending them as they
 * are: walks the batch headers, verifies CRCs and the rules Kafka applies to client
 * batches, and never decompresses or decodes a record. Each rejection names the Kafka
 * error code to answer with, chosen as Kafka's LogValidator / ProduceRequest would.
 */

/** Kafka error codes this validator can answer with (numbers, not error classes). */
export const AppendErrorCode = {
  CORRUPT_MESSAGE: 2,
  UNSUPPORTED_COMPRESSION_TYPE: 76,
  INVALID_RECORD: 87,
} as const;

const REASON_CODES = {
  /** The input ends inside a batch header or body. */
  truncated: AppendErrorCode.CORRUPT_MESSAGE,
  /** batchLength smaller than a header. */
  "bad-batch-length": AppendErrorCode.CORRUPT_MESSAGE,
  /** A magic byte no Kafka version defines. */
  "bad-magic": AppendErrorCode.CORRUPT_MESSAGE,
  "crc-mismatch": AppendErrorCode.CORRUPT_MESSAGE,
  /** Magic 0 or 1: up-convert first (Produce v0–2); Produce v3+ must carry magic 2. */
  "legacy-magic": AppendErrorCode.INVALID_RECORD,
  /** Produce v3+ must carry exactly one batch per partition. */
  "batch-count": AppendErrorCode.INVALID_RECORD,
  /** Codec ids 5–7: the CRC holds, so the field is invalid rather than corrupt. */
  "unknown-codec": AppendErrorCode.INVALID_RECORD,
  /** zstd from a client whose Produce version predates it (< v7). */
  "zstd-not-allowed": AppendErrorCode.UNSUPPORTED_COMPRESSION_TYPE,
  /** Clients must write baseOffset 0; the broker assigns offsets. */
  "nonzero-base-offset": AppendErrorCode.INVALID_RECORD,
  /** recordsCount < 1. */
  "no-records": AppendErrorCode.INVALID_RECORD,
  /** lastOffsetDelta + 1 ≠ recordsCount. */
  "offset-count-mismatch": AppendErrorCode.INVALID_RECORD,
  /** Control batches are written by the broker only. */
  "control-batch": AppendErrorCode.INVALID_RECORD,
  /** A producer id without a sequence number. */
  "missing-sequence": AppendErrorCode.INVALID_RECORD,
} as const;

export type AppendRejectionReason = keyof typeof REASON_CODES;

/** What the log and the idempotence check need to know about one accepted batch. */
export interface AppendBatchInfo extends BatchHeader {
  /** Where the batch starts in the input: its bytes are `buf.subarray(start, start + size)`. */
  start: number;
  codec: number;
  transactional: boolean;
}

export type AppendValidation =
  | { ok: true; batches: AppendBatchInfo[] }
  | {
      ok: false;
      errorCode: number;
      reason: AppendRejectionReason;
      message: string;
      /** Index of the offending batch (the count of batches for "batch-count"). */
      batchIndex: number;
    };

export interface AppendValidationOptions {
  /** Produce v7+ only: older clients get UNSUPPORTED_COMPRESSION_TYPE for zstd. Default true. */
  allowZstd?: boolean;
  /** Produce v3+: exactly one batch, else INVALID_RECORD. Default false. */
  singleBatch?: boolean;
}

/** Bytes needed to see a batch's length and magic byte. */
const MAGIC_END = BATCH_OFFSETS.magic + 1;
const NO_PRODUCER_ID = -1;

function reject(reason: AppendRejectionReason, batchIndex: number, message: string): AppendValidation {
  return { ok: false, errorCode: REASON_CODES[reason], reason, message, batchIndex };
}

/** Never throws: every problem with the input is a rejection value. */
export function validateBatchesForAppend(buf: Buffer, options: AppendValidationOptions = {}): AppendValidation {
  const batches: AppendBatchInfo[] = [];
  let at = 0;
  while (at < buf.length) {
    const index = batches.length;
    if (buf.length - at < MAGIC_END)
      return reject("truncated", index, `${buf.length - at} stray bytes after the batches`);
    const magic = buf.readInt8(at + BATCH_OFFSETS.magic);
    if (magic === 0 || magic === 1) return reject("legacy-magic", index, `magic ${magic} message set`);
    if (magic !== 2) return reject("bad-magic", index, `magic byte ${magic}`);
    const size = buf.readInt32BE(at + BATCH_OFFSETS.batchLength) + BATCH_LOG_OVERHEAD;
    if (size < BATCH_HEADER_SIZE) return reject("bad-batch-length", index, `batch of ${size} bytes`);
    if (size > buf.length - at) return reject("truncated", index, `batch of ${size} bytes, ${buf.length - at} left`);
    const header = readBatchHeader(buf, at);
    if (computeBatchCrc(buf, at, size) !== header.crc) return reject("crc-mismatch", index, "CRC-32C mismatch");
    const { codec, transactional, control } = batchFlags(header.attributes);
    if (!isKnownCodec(codec)) return reject("unknown-codec", index, `compression codec id ${codec}`);
    if (codec === CodecId.zstd && options.allowZstd === false) {
      return reject("zstd-not-allowed", index, "zstd needs Produce v7 or later");
    }
    if (header.baseOffset !== 0) return reject("nonzero-base-offset", index, `baseOffset ${header.baseOffset}`);
    if (header.recordsCount < 1) return reject("no-records", index, `recordsCount ${header.recordsCount}`);
    if (header.lastOffsetDelta + 1 !== header.recordsCount) {
      return reject(
        "offset-count-mismatch",
        index,
        `lastOffsetDelta ${header.lastOffsetDelta} for ${header.recordsCount} records`,
      );
    }
    if (control) return reject("control-batch", index, "clients may not write control batches");
    if (header.producerId > NO_PRODUCER_ID && header.baseSequence < 0) {
      return reject(
        "missing-sequence",
        index,
        `producerId ${header.producerId} with baseSequence ${header.baseSequence}`,
      );
    }
    batches.push({ ...header, start: at, codec, transactional });
    at += size;
  }
  if (options.singleBatch && batches.length !== 1) {
    return reject("batch-count", batches.length, `${batches.length} batches where exactly one is allowed`);
  }
  return { ok: true, batches };
}
