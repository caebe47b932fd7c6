import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { RecordBatchBuilder, sealBatch, stampBatch } from "../../../src/client/producer/batch-builder.js";
import { decodeRecordBatches } from "../../../src/protocol/records/decode-record-batches.js";
import { encodeRecordBatch } from "../../../src/protocol/records/encode-record-batch.js";

const bytesOf = (value: Buffer | string | null) => (typeof value === "string" ? Buffer.from(value, "utf8") : value);

describe("RecordBatchBuilder", () => {
  for (const [name, codec] of [
    ["none", 0],
    ["gzip", 1],
    ["snappy", 2],
    ["lz4", 3],
    ["zstd", 4],
  ] as const) {
    it(`writes batches the protocol decoder reads back (${name})`, async () => {
      const builder = new RecordBatchBuilder(1 << 20, 10);
      const now = 1_700_000_000_000;
      const records = [
        { key: "k1", value: "v1", headers: [], timestamp: now },
        { key: null, value: Buffer.from([0, 1, 2]), headers: [{ key: "h", value: "x" }], timestamp: now + 5 },
        { key: Buffer.alloc(0), value: null, headers: [{ key: "ü", value: null }], timestamp: now - 3 },
        { key: "ключ", value: "é".repeat(300), headers: [], timestamp: now + 2 ** 33 },
      ];
      for (const r of records) assert.ok(builder.append(r.key, r.value, r.headers, r.timestamp) > 0);
      const sealed = await sealBatch(builder, codec);
      stampBatch(sealed, 77, 3, 1000);
      const [batch] = await decodeRecordBatches(sealed.bytes);
      assert.equal(batch?.codec, codec);
      assert.equal(batch?.producerId, 77);
      assert.equal(batch?.producerEpoch, 3);
      assert.equal(batch?.baseSequence, 1000);
      assert.equal(batch?.lastOffsetDelta, 3);
      assert.equal(batch?.maxTimestamp, now + 2 ** 33);
      assert.deepEqual(
        batch?.records.map((r) => ({ key: r.key, value: r.value, headers: r.headers, timestamp: r.timestamp })),
        records.map((r) => ({
          key: bytesOf(r.key),
          value: bytesOf(r.value),
          headers: r.headers.map((h) => ({ key: h.key, value: bytesOf(h.value) })),
          timestamp: r.timestamp,
        })),
      );
    });
  }

  it("encodes exactly what the protocol's batch encoder encodes", async () => {
    const record = fc.record({
      key: fc.option(fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a))),
      value: fc.option(fc.string({ maxLength: 200 })),
      headers: fc.array(
        fc.record({ key: fc.string({ maxLength: 10 }), value: fc.option(fc.string({ maxLength: 20 })) }),
        {
          maxLength: 3,
        },
      ),
      timestamp: fc.integer({ min: 0, max: 2 ** 45 }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(record, { minLength: 1, maxLength: 30 }), async (records) => {
        const builder = new RecordBatchBuilder(1 << 20, 1);
        for (const r of records) builder.append(r.key, r.value, r.headers, r.timestamp);
        const sealed = await sealBatch(builder, 0);
        stampBatch(sealed, 5, 0, 42);
        const expected = await encodeRecordBatch({
          records: records.map((r) => ({
            key: r.key,
            value: bytesOf(r.value),
            headers: r.headers.map((h) => ({ key: h.key, value: bytesOf(h.value) })),
            timestamp: r.timestamp,
          })),
          producerId: 5,
          producerEpoch: 0,
          baseSequence: 42,
        });
        assert.deepEqual(sealed.bytes, expected);
      }),
      { numRuns: 200 },
    );
  });

  it("refuses a record that would take a non-empty batch past its limit, never the first one", () => {
    const builder = new RecordBatchBuilder(200, 10);
    assert.ok(builder.append(null, "x".repeat(100), [], 0) > 0);
    assert.equal(builder.append(null, "y".repeat(100), [], 0), 0);
    assert.equal(builder.recordCount, 1);
    const big = new RecordBatchBuilder(200, 1000);
    assert.ok(big.append(null, "z".repeat(1000), [], 0) > 1000);
  });
});
