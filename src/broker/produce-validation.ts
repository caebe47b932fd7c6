import { ErrorCode } from "../protocol/errors.js";
import { ProtocolError } from "../protocol/protocol-error.js";
import { validateBatchesForAppend } from "../protocol/records/append-validation.js";
import { BATCH_OFFSETS } from "../protocol/records/batch-header.js";
import { upConvertToV2 } from "../protocol/records/legacy.js";

/** The producer identity of an idempotent batch, for the sequence check. */
export interface IdempotentBatch {
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  recordCount: number;
}

export type PreparedBatches =
  | { ok: true; batches: Promise<Buffer>; idempotence: IdempotentBatch | undefined }
  | { ok: false; errorCode: number; message: string };

const rejected = (errorCode: number, message: string): PreparedBatches => ({ ok: false, errorCode, message });

/**
 * Checks one partition's records from a Produce request as Kafka's LogValidator does, without
 * decoding records: structure, CRC, the client rules, the codec the request version allows,
 * and max.message.bytes. Legacy message sets (magic 0/1, Produce v0–2 from old clients) are
 * up-converted to one v2 batch, the only format brook stores.
 */
export function prepareBatches(records: Buffer | null, apiVersion: number, maxMessageBytes: number): PreparedBatches {
  if (records === null || records.length === 0) return rejected(ErrorCode.INVALID_RECORD, "no record batch");
  const legacy = records.length > BATCH_OFFSETS.magic && (records[BATCH_OFFSETS.magic] as number) < 2;
  if (legacy && apiVersion < 3) {
    if (records.length > maxMessageBytes) {
      return rejected(ErrorCode.MESSAGE_TOO_LARGE, `${records.length} bytes > max.message.bytes ${maxMessageBytes}`);
    }
    const converted = upConvertToV2(records).then((batch) => {
      const check = validateBatchesForAppend(batch, { allowZstd: false, singleBatch: true });
      if (!check.ok) throw new ProtocolError("CORRUPT_MESSAGE", check.message);
      return batch;
    });
    return { ok: true, batches: converted, idempotence: undefined };
  }
  const check = validateBatchesForAppend(records, { allowZstd: apiVersion >= 7, singleBatch: apiVersion >= 3 });
  if (!check.ok) return rejected(check.errorCode, check.message);
  for (const batch of check.batches) {
    if (batch.size > maxMessageBytes) {
      return rejected(
        ErrorCode.MESSAGE_TOO_LARGE,
        `batch of ${batch.size} bytes > max.message.bytes ${maxMessageBytes}`,
      );
    }
    if (batch.transactional) return rejected(ErrorCode.INVALID_RECORD, "transactional batches are not supported");
  }
  const first = check.batches[0];
  const idempotence =
    check.batches.length === 1 && first && first.producerId >= 0
      ? {
          producerId: first.producerId,
          producerEpoch: first.producerEpoch,
          baseSequence: first.baseSequence,
          recordCount: first.recordsCount,
        }
      : undefined;
  return { ok: true, batches: Promise.resolve(records), idempotence };
}
