import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { CodecId } from "../../../src/protocol/compression/codec.js";
import { ProtocolError } from "../../../src/protocol/protocol-error.js";
import {
  AppendErrorCode,
  type AppendRejectionReason,
  validateBatchesForAppend,
} from "../../../src/protocol/records/append-validation.js";
import { decodeRecordBatches } from "../../../src/protocol/records/decode-record-batches.js";
import { encodeRecordBatch } from "../../../src/protocol/records/encode-record-batch.js";
import type { RecordBatchInput } from "../../../src/protocol/records/record-batch.js";
import { arbBatchInput, arbMutation, fixBatchCrc, mutate } from "./test-helpers.js";

const threeRecords = (extra: Partial<RecordBatchInput> = {}) =>
  encodeRecordBatch({
    records: [
      { value: Buffer.from("a"), timestamp: 1000 },
      { value: Buffer.from("b"), timestamp: 3000 },
      { value: Buffer.from("c"), timestamp: 2000 },
    ],
    ...extra,
  });

function assertRejected(buf: Buffer, reason: AppendRejectionReason, errorCode: number, options = {}): void {
  const result = validateBatchesForAppend(buf, options);
  assert.equal(result.ok, false, `expected rejection "${reason}"`);
  if (result.ok) return;
  assert.equal(result.reason, reason);
  assert.equal(result.errorCode, errorCode);
  assert.ok(result.message.length > 0);
}

describe("validateBatchesForAppend", () => {
  it("accepts a producer batch and reports its header, codec and byte range", async () => {
    const batch = await threeRecords({ codec: CodecId.snappy, producerId: 9, producerEpoch: 2, baseSequence: 40 });
    const result = validateBatchesForAppend(batch);
    assert.ok(result.ok);
    const [info] = result.batches;
    assert.equal(result.batches.length, 1);
    assert.equal(info!.start, 0);
    assert.equal(info!.size, batch.length);
    assert.equal(info!.recordsCount, 3);
    assert.equal(info!.maxTimestamp, 3000);
    assert.equal(info!.codec, CodecId.snappy);
    assert.equal(info!.producerId, 9);
    assert.equal(info!.producerEpoch, 2);
    assert.equal(info!.baseSequence, 40);
    assert.equal(info!.transactional, false);
  });

  it("reports the byte range of each of several batches", async () => {
    const first = await threeRecords();
    const second = await threeRecords({ codec: CodecId.gzip, transactional: true, producerId: 1, baseSequence: 0 });
    const blob = Buffer.concat([first, second]);
    const result = validateBatchesForAppend(blob);
    assert.ok(result.ok);
    assert.deepEqual(
      result.batches.map((b) => blob.subarray(b.start, b.start + b.size)),
      [first, second],
    );
    assert.equal(result.batches[1]!.transactional, true);
  });

  it("accepts an empty input unless exactly one batch is required", async () => {
    assert.deepEqual(validateBatchesForAppend(Buffer.alloc(0)), { ok: true, batches: [] });
    assertRejected(Buffer.alloc(0), "batch-count", AppendErrorCode.INVALID_RECORD, { singleBatch: true });
    const two = Buffer.concat([await threeRecords(), await threeRecords()]);
    assertRejected(two, "batch-count", AppendErrorCode.INVALID_RECORD, { singleBatch: true });
  });

  it("CORRUPT_MESSAGE for truncation, bad lengths, bad magic and CRC mismatch", async () => {
    const batch = await threeRecords();
    for (const cut of [1, 16, 17, 60, batch.length - 1]) {
      assertRejected(batch.subarray(0, cut), "truncated", AppendErrorCode.CORRUPT_MESSAGE);
    }
    const shortLength = Buffer.from(batch);
    shortLength.writeInt32BE(30, 8);
    assertRejected(shortLength, "bad-batch-length", AppendErrorCode.CORRUPT_MESSAGE);
    const negativeLength = Buffer.from(batch);
    negativeLength.writeInt32BE(-1, 8);
    assertRejected(negativeLength, "bad-batch-length", AppendErrorCode.CORRUPT_MESSAGE);
    const badMagic = Buffer.from(batch);
    badMagic[16] = 7;
    assertRejected(badMagic, "bad-magic", AppendErrorCode.CORRUPT_MESSAGE);
    const flipped = Buffer.from(batch);
    flipped[batch.length - 2] ^= 0x40;
    assertRejected(flipped, "crc-mismatch", AppendErrorCode.CORRUPT_MESSAGE);
  });

  it("INVALID_RECORD for Kafka's client-batch rules", async () => {
    const legacy = Buffer.from(await threeRecords());
    legacy[16] = 1;
    assertRejected(legacy, "legacy-magic", AppendErrorCode.INVALID_RECORD);

    const unknownCodec = Buffer.from(await threeRecords());
    unknownCodec.writeInt16BE(6, 21);
    fixBatchCrc(unknownCodec);
    assertRejected(unknownCodec, "unknown-codec", AppendErrorCode.INVALID_RECORD);

    const offset = Buffer.from(await threeRecords());
    offset.writeUInt32BE(5, 4); // baseOffset is outside the CRC: no repair needed
    assertRejected(offset, "nonzero-base-offset", AppendErrorCode.INVALID_RECORD);

    assertRejected(await encodeRecordBatch({ records: [] }), "no-records", AppendErrorCode.INVALID_RECORD);

    const mismatch = Buffer.from(await threeRecords());
    mismatch.writeInt32BE(1, 23); // lastOffsetDelta 1 for 3 records
    fixBatchCrc(mismatch);
    assertRejected(mismatch, "offset-count-mismatch", AppendErrorCode.INVALID_RECORD);

    assertRejected(await threeRecords({ control: true }), "control-batch", AppendErrorCode.INVALID_RECORD);
    assertRejected(await threeRecords({ producerId: 12 }), "missing-sequence", AppendErrorCode.INVALID_RECORD);
  });

  it("UNSUPPORTED_COMPRESSION_TYPE for zstd only when the caller disallows it", async () => {
    const zstd = await threeRecords({ codec: CodecId.zstd });
    assertRejected(zstd, "zstd-not-allowed", AppendErrorCode.UNSUPPORTED_COMPRESSION_TYPE, { allowZstd: false });
    assert.ok(validateBatchesForAppend(zstd).ok);
    assert.ok(validateBatchesForAppend(zstd, { allowZstd: true }).ok);
  });

  it("reports the index of the offending batch", async () => {
    const bad = await threeRecords({ control: true });
    const result = validateBatchesForAppend(Buffer.concat([await threeRecords(), bad]));
    assert.equal(result.ok, false);
    if (!result.ok) assert.equal(result.batchIndex, 1);
  });

  it("never throws, and what it accepts is intact (property)", async () => {
    await fc.assert(
      fc.asyncProperty(arbBatchInput, arbMutation, fc.boolean(), async (input, mutation, repairCrc) => {
        const damaged = mutate(await encodeRecordBatch({ ...input, baseOffset: 0 }), mutation);
        if (repairCrc) fixBatchCrc(damaged);
        const result = validateBatchesForAppend(damaged);
        if (!result.ok) {
          assert.ok(Object.values(AppendErrorCode).includes(result.errorCode as 2 | 76 | 87));
          return;
        }
        for (const batch of result.batches) {
          assert.ok(batch.start >= 0 && batch.start + batch.size <= damaged.length);
          assert.equal(batch.lastOffsetDelta + 1, batch.recordsCount);
        }
        // An accepted input has valid CRCs, so decoding can fail only inside the records.
        await decodeRecordBatches(damaged).catch((error: unknown) => {
          assert.ok(error instanceof ProtocolError);
          assert.notEqual(error.code, "PROTOCOL_CRC_MISMATCH");
        });
      }),
      { numRuns: 1500 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        validateBatchesForAppend(Buffer.from(bytes));
      }),
      { numRuns: 2000 },
    );
  });
});
