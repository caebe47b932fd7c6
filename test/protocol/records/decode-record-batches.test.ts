import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { CodecId } from "../../../src/protocol/compression/codec.js";
import { decodeRecordBatches } from "../../../src/protocol/records/decode-record-batches.js";
import { encodeRecordBatch } from "../../../src/protocol/records/encode-record-batch.js";
import {
  arbBatchInput,
  arbMutation,
  assertProtocolError,
  fixBatchCrc,
  mutate,
  onlyProtocolErrors,
} from "./test-helpers.js";

function batchOf(values: string[], codec: number = CodecId.none, baseOffset = 0): Promise<Buffer> {
  return encodeRecordBatch({ codec, baseOffset, records: values.map((value) => ({ value: Buffer.from(value) })) });
}

function values(batches: Awaited<ReturnType<typeof decodeRecordBatches>>): string[][] {
  return batches.map((batch) => batch.records.map((record) => record.value!.toString()));
}

describe("decodeRecordBatches", () => {
  it("decodes nothing from an empty blob", async () => {
    assert.deepEqual(await decodeRecordBatches(Buffer.alloc(0)), []);
  });

  it("walks consecutive batches with mixed codecs", async () => {
    const blob = Buffer.concat([
      await batchOf(["a", "b"], CodecId.none, 0),
      await batchOf(["c"], CodecId.zstd, 2),
      await batchOf(["d", "e", "f"], CodecId.snappy, 3),
    ]);
    const batches = await decodeRecordBatches(blob);
    assert.deepEqual(values(batches), [["a", "b"], ["c"], ["d", "e", "f"]]);
    assert.deepEqual(
      batches.flatMap((batch) => batch.records.map((record) => record.offset)),
      [0, 1, 2, 3, 4, 5],
    );
  });

  it("drops a truncated trailing batch wherever the cut falls", async () => {
    const first = await batchOf(["complete"]);
    const second = await batchOf(["cut short", "somewhere"], CodecId.gzip, 1);
    for (let cut = 0; cut < second.length; cut++) {
      const blob = Buffer.concat([first, second.subarray(0, cut)]);
      assert.deepEqual(values(await decodeRecordBatches(blob)), [["complete"]], `cut at ${cut}`);
    }
    assert.deepEqual(values(await decodeRecordBatches(second.subarray(0, 40))), []);
  });

  it("rejects a CRC mismatch", async () => {
    const batch = await batchOf(["payload"]);
    batch[batch.length - 3] ^= 0x01;
    await assertProtocolError(() => decodeRecordBatches(batch), "PROTOCOL_CRC_MISMATCH");
  });

  it("ignores fields outside the CRC (base offset, leader epoch), as the broker rewrites them", async () => {
    const batch = await batchOf(["x"]);
    batch.writeUInt32BE(77, 4); // baseOffset = 77
    batch.writeInt32BE(9, 12); // partitionLeaderEpoch = 9
    const [decoded] = await decodeRecordBatches(batch);
    assert.equal(decoded!.records[0]!.offset, 77);
    assert.equal(decoded!.partitionLeaderEpoch, 9);
  });

  it("rejects an unknown magic byte and a batch length shorter than a header", async () => {
    const batch = await batchOf(["x"]);
    const badMagic = Buffer.from(batch);
    badMagic[16] = 3;
    await assertProtocolError(() => decodeRecordBatches(badMagic), "PROTOCOL_BAD_MAGIC");
    const badLength = Buffer.from(batch);
    badLength.writeInt32BE(-5, 8);
    await assertProtocolError(() => decodeRecordBatches(badLength), "PROTOCOL_BAD_BATCH_LENGTH");
  });

  it("rejects a record count the bytes cannot hold, before allocating for it", async () => {
    const batch = await batchOf(["x"]);
    batch.writeInt32BE(2 ** 31 - 1, 57);
    fixBatchCrc(batch);
    await assertProtocolError(() => decodeRecordBatches(batch), "PROTOCOL_BAD_RECORD");
  });

  it("rejects records whose length disagrees with their fields, or bytes after the last record", async () => {
    const batch = await batchOf(["abc"]);
    const longer = Buffer.from(batch);
    longer[61] = (longer[61] as number) + 2; // record length + 1 (zig-zag)
    fixBatchCrc(longer);
    await assertProtocolError(() => decodeRecordBatches(longer), "PROTOCOL_BAD_RECORD");
    const trailing = Buffer.concat([batch, Buffer.from([0])]);
    trailing.writeInt32BE(trailing.length - 12, 8);
    fixBatchCrc(trailing);
    await assertProtocolError(() => decodeRecordBatches(trailing), "PROTOCOL_BAD_RECORD");
  });

  it("shares one decompression budget across all batches of the input", async () => {
    const big = "z".repeat(100_000);
    const blob = Buffer.concat([await batchOf([big], CodecId.gzip), await batchOf([big], CodecId.gzip, 1)]);
    assert.equal((await decodeRecordBatches(blob, { maxDecompressedBytes: 250_000 })).length, 2);
    await assertProtocolError(
      () => decodeRecordBatches(blob, { maxDecompressedBytes: 150_000 }),
      "PROTOCOL_DECOMPRESSED_TOO_LARGE",
    );
  });

  it("only ever throws ProtocolError on random bytes", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), async (bytes) => {
        await onlyProtocolErrors(() => decodeRecordBatches(Buffer.from(bytes), { maxDecompressedBytes: 1 << 20 }));
      }),
      { numRuns: 2000 },
    );
  });

  it("only ever throws ProtocolError on random records behind a valid header and CRC", async () => {
    const header = (await batchOf(["x"])).subarray(0, 61);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(0, 1, 2, 3, 4),
        fc.integer({ min: -2, max: 40 }),
        fc.uint8Array({ maxLength: 400 }),
        async (codec, count, records) => {
          const batch = Buffer.concat([header, Buffer.from(records)]);
          batch.writeInt32BE(batch.length - 12, 8);
          batch.writeInt16BE(codec, 21);
          batch.writeInt32BE(count, 57);
          fixBatchCrc(batch);
          await onlyProtocolErrors(() => decodeRecordBatches(batch, { maxDecompressedBytes: 1 << 20 }));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("only ever throws ProtocolError on mutated batches, with and without a repaired CRC", async () => {
    await fc.assert(
      fc.asyncProperty(arbBatchInput, arbMutation, fc.boolean(), async (input, mutation, repairCrc) => {
        const damaged = mutate(await encodeRecordBatch(input), mutation);
        // With a valid CRC the damage reaches decompression and record decoding.
        if (repairCrc) fixBatchCrc(damaged);
        await onlyProtocolErrors(() => decodeRecordBatches(damaged, { maxDecompressedBytes: 1 << 20 }));
      }),
      { numRuns: 1500 },
    );
  });
});
