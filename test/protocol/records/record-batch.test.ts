import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { CodecId } from "../../../src/protocol/compression/codec.js";
import { readBatchHeader } from "../../../src/protocol/records/batch-header.js";
import { decodeRecordBatches } from "../../../src/protocol/records/decode-record-batches.js";
import { encodeRecordBatch } from "../../../src/protocol/records/encode-record-batch.js";
import type { RecordInput } from "../../../src/protocol/records/record.js";
import type { RecordBatchInput } from "../../../src/protocol/records/record-batch.js";
import { arbBatchInput, assertProtocolError, kafkajs, referenceCrc32c } from "./test-helpers.js";

const ALL_CODECS = [CodecId.none, CodecId.gzip, CodecId.snappy, CodecId.lz4, CodecId.zstd];
const CODEC_NAMES = ["none", "gzip", "snappy", "lz4", "zstd"];

async function roundTrip(input: RecordBatchInput) {
  const encoded = await encodeRecordBatch(input);
  const batches = await decodeRecordBatches(encoded);
  assert.equal(batches.length, 1);
  return { encoded, batch: batches[0]! };
}

/** Compares decoded records with the inputs, field by field, with absent fields as defaults. */
function assertRecordsMatch(actual: readonly RecordInput[], expected: readonly RecordInput[]): void {
  assert.equal(actual.length, expected.length);
  expected.forEach((record, i) => {
    const decoded = actual[i]!;
    assert.deepEqual(decoded.key, record.key ?? null, `key of record ${i}`);
    assert.deepEqual(decoded.value, record.value ?? null, `value of record ${i}`);
    const headers = (record.headers ?? []).map(({ key, value }) => ({ key, value }));
    assert.deepEqual(decoded.headers, headers, `headers of record ${i}`);
    if (record.timestamp !== undefined) assert.equal(decoded.timestamp, record.timestamp, `timestamp of record ${i}`);
  });
}

const EDGE_RECORDS: RecordInput[] = [
  { key: null, value: null, timestamp: 1_700_000_000_000 },
  { key: Buffer.alloc(0), value: Buffer.alloc(0), timestamp: 1_700_000_000_001 },
  {
    key: Buffer.from("ключ 🔑"),
    value: Buffer.from("値 ✓ émoji 🎉"),
    headers: [
      { key: "", value: null },
      { key: "trace-id", value: Buffer.from("abc") },
      { key: "ヘッダー 🧪", value: Buffer.alloc(0) },
      { key: "trace-id", value: Buffer.from("duplicate keys are allowed") },
    ],
    timestamp: 1_699_999_999_000,
  },
];

describe("encodeRecordBatch and decodeRecordBatches", () => {
  for (const codec of ALL_CODECS) {
    it(`${CODEC_NAMES[codec]}: null, empty and unicode keys, values and headers round-trip`, async () => {
      const { batch } = await roundTrip({ records: EDGE_RECORDS, codec });
      assert.equal(batch.codec, codec);
      assertRecordsMatch(batch.records, EDGE_RECORDS);
    });

    it(`${CODEC_NAMES[codec]}: many records and large values round-trip`, async () => {
      const many = Array.from({ length: 5000 }, (_, i) => ({
        key: Buffer.from(`k${i}`),
        value: Buffer.from(`value ${i}`),
      }));
      const big: RecordInput[] = [
        { key: Buffer.alloc(1500, 1), value: Buffer.alloc(3 * 1024 * 1024, 7) },
        { key: null, value: Buffer.from("after the big one") },
        { value: Buffer.alloc(2048, 9), headers: [{ key: "big", value: Buffer.alloc(5000, 3) }] },
      ];
      for (const records of [many, big]) {
        const { batch } = await roundTrip({ records, codec });
        assertRecordsMatch(batch.records, records);
        assert.deepEqual(
          batch.records.map((record) => record.offset),
          records.map((_, i) => i),
        );
        assert.equal(batch.lastOffsetDelta, records.length - 1);
        assert.equal(batch.recordsCount, records.length);
      }
    });
  }

  it("writes Kafka's producer defaults into the header", async () => {
    const { encoded } = await roundTrip({ records: [{ value: Buffer.from("v"), timestamp: 5 }] });
    const header = readBatchHeader(encoded);
    assert.equal(header.size, encoded.length);
    assert.equal(header.magic, 2);
    assert.equal(header.baseOffset, 0);
    assert.equal(header.partitionLeaderEpoch, -1);
    assert.equal(header.attributes, 0);
    assert.equal(header.producerId, -1);
    assert.equal(header.producerEpoch, -1);
    assert.equal(header.baseSequence, -1);
    assert.equal(header.crc, referenceCrc32c(encoded.subarray(21)));
  });

  it("round-trips every header field and attribute bit", async () => {
    const input: RecordBatchInput = {
      records: [{ value: Buffer.from("x"), timestamp: 10 }],
      baseOffset: 2 ** 40 + 3,
      partitionLeaderEpoch: 17,
      producerId: 2 ** 45,
      producerEpoch: 3,
      baseSequence: 99,
      transactional: true,
      codec: CodecId.lz4,
    };
    const { batch } = await roundTrip(input);
    assert.equal(batch.baseOffset, 2 ** 40 + 3);
    assert.equal(batch.records[0]!.offset, 2 ** 40 + 3);
    assert.equal(batch.partitionLeaderEpoch, 17);
    assert.equal(batch.producerId, 2 ** 45);
    assert.equal(batch.producerEpoch, 3);
    assert.equal(batch.baseSequence, 99);
    assert.equal(batch.transactional, true);
    assert.equal(batch.control, false);
    assert.equal(batch.logAppendTime, false);
    assert.equal(batch.attributes, 0x10 | CodecId.lz4);

    const control = await roundTrip({ records: [{ key: Buffer.from([0, 0, 0, 1]), value: null }], control: true });
    assert.equal(control.batch.control, true);
    assert.equal(control.batch.attributes & 0x20, 0x20);
  });

  it("stores timestamps as deltas from the first record, which may be negative", async () => {
    const records = [{ timestamp: 1_000_000 }, { timestamp: 999_000 }, { timestamp: 1_005_000 }];
    const { encoded, batch } = await roundTrip({ records });
    const header = readBatchHeader(encoded);
    assert.equal(header.baseTimestamp, 1_000_000);
    assert.equal(header.maxTimestamp, 1_005_000);
    assert.deepEqual(
      batch.records.map((record) => record.timestamp),
      [1_000_000, 999_000, 1_005_000],
    );
    // Second record: length, attributes, then varlong(-1000) = zig-zag 1999 = 0xcf 0x0f.
    const second = 61 + 1 + (encoded[61] as number) / 2;
    assert.deepEqual([...encoded.subarray(second + 2, second + 4)], [0xcf, 0x0f]);
  });

  it("gives every record of a LogAppendTime batch the batch's maxTimestamp", async () => {
    const records = [{ timestamp: 1 }, { timestamp: 2 }];
    const { batch } = await roundTrip({ records, logAppendTime: true, maxTimestamp: 1_234_567 });
    assert.equal(batch.logAppendTime, true);
    assert.equal(batch.maxTimestamp, 1_234_567);
    assert.deepEqual(
      batch.records.map((record) => record.timestamp),
      [1_234_567, 1_234_567],
    );
  });

  it("keeps explicit offset deltas (compacted batches have gaps)", async () => {
    const records = [{ offsetDelta: 0 }, { offsetDelta: 4 }, { offsetDelta: 9 }];
    const { batch } = await roundTrip({ records, baseOffset: 100, lastOffsetDelta: 12 });
    assert.deepEqual(
      batch.records.map((record) => record.offset),
      [100, 104, 109],
    );
    assert.equal(batch.lastOffsetDelta, 12);
  });

  it("encodes and decodes an empty batch", async () => {
    const { batch } = await roundTrip({ records: [], codec: CodecId.gzip });
    assert.equal(batch.recordsCount, 0);
    assert.equal(batch.lastOffsetDelta, -1);
    assert.deepEqual(batch.records, []);
  });

  it("decodes uncompressed keys and values as slices of the input, not copies", async () => {
    const encoded = await encodeRecordBatch({ records: [{ key: Buffer.from("k"), value: Buffer.from("v") }] });
    const [batch] = await decodeRecordBatches(encoded);
    const record = batch!.records[0]!;
    assert.equal(record.value!.buffer, encoded.buffer);
    encoded[encoded.length - 2] = 0x77; // the value byte ("v" → "w"), seen through the slice
    assert.equal(record.value!.toString(), "w");
  });

  it("re-encodes a decoded batch to the same bytes", async () => {
    const encoded = await encodeRecordBatch({
      records: EDGE_RECORDS,
      producerId: 5,
      producerEpoch: 1,
      baseSequence: 0,
    });
    const [batch] = await decodeRecordBatches(encoded);
    assert.deepEqual(await encodeRecordBatch(batch!), encoded);
  });

  it("refuses an unknown codec", async () => {
    await assertProtocolError(() => encodeRecordBatch({ records: [{}], codec: 6 }), "PROTOCOL_UNKNOWN_CODEC");
  });

  it("writes exactly the bytes of the v2 layout", async () => {
    const encoded = await encodeRecordBatch({
      records: [
        {
          key: Buffer.from("k"),
          value: Buffer.from("v"),
          headers: [{ key: "h", value: Buffer.from("x") }],
          timestamp: 1000,
        },
      ],
    });
    const record = [0x18, 0x00, 0x00, 0x00, 0x02, 0x6b, 0x02, 0x76, 0x02, 0x02, 0x68, 0x02, 0x78];
    const afterCrc = [
      ...[0x00, 0x00], // attributes
      ...[0x00, 0x00, 0x00, 0x00], // lastOffsetDelta
      ...[0, 0, 0, 0, 0, 0, 0x03, 0xe8], // baseTimestamp 1000
      ...[0, 0, 0, 0, 0, 0, 0x03, 0xe8], // maxTimestamp 1000
      ...Array(8).fill(0xff), // producerId -1
      ...[0xff, 0xff], // producerEpoch -1
      ...[0xff, 0xff, 0xff, 0xff], // baseSequence -1
      ...[0x00, 0x00, 0x00, 0x01], // recordsCount
      ...record,
    ];
    const crc = referenceCrc32c(Buffer.from(afterCrc));
    const expected = Buffer.from([
      ...Array(8).fill(0), // baseOffset
      ...[0x00, 0x00, 0x00, 0x3e], // batchLength 62
      ...[0xff, 0xff, 0xff, 0xff], // partitionLeaderEpoch -1
      0x02, // magic
      crc >>> 24,
      (crc >>> 16) & 0xff,
      (crc >>> 8) & 0xff,
      crc & 0xff,
      ...afterCrc,
    ]);
    assert.deepEqual(encoded, expected);
  });

  it("round-trips generated batches with every codec (property)", async () => {
    await fc.assert(
      fc.asyncProperty(arbBatchInput, async (input) => {
        const { encoded, batch } = await roundTrip(input);
        assert.equal(batch.size, encoded.length);
        assert.equal(batch.baseOffset, input.baseOffset);
        assert.equal(batch.codec, input.codec);
        assert.equal(batch.producerId, input.producerId);
        assert.equal(batch.producerEpoch, input.producerEpoch);
        assert.equal(batch.baseSequence, input.baseSequence);
        assert.equal(batch.partitionLeaderEpoch, input.partitionLeaderEpoch);
        assert.equal(batch.transactional, input.transactional);
        assert.equal(batch.maxTimestamp, Math.max(...input.records.map((record) => record.timestamp!)));
        assertRecordsMatch(batch.records, input.records);
      }),
      { numRuns: 300 },
    );
  });
});

describe("interoperability with kafkajs's record batch codec", () => {
  const records = [
    {
      key: Buffer.from("a"),
      value: Buffer.from("first"),
      headers: { h1: Buffer.from("v1") },
      timestamp: 1_650_000_000_000,
    },
    { key: null, value: Buffer.from("second"), headers: {}, timestamp: 1_650_000_000_250 },
    { key: Buffer.from("ü"), value: null, headers: { ключ: Buffer.from("значение") }, timestamp: 1_649_999_999_000 },
  ];

  for (const codec of [CodecId.none, CodecId.gzip]) {
    it(`${CODEC_NAMES[codec]}: we decode what kafkajs encodes`, async () => {
      const first = records[0]!.timestamp;
      const encoder = await kafkajs.RecordBatch({
        compression: codec,
        firstOffset: 0,
        firstTimestamp: first,
        maxTimestamp: Math.max(...records.map((r) => r.timestamp)),
        lastOffsetDelta: records.length - 1,
        producerId: 42,
        producerEpoch: 1,
        firstSequence: 7,
        records: records.map((record, i) =>
          kafkajs.Record({
            offsetDelta: i,
            timestampDelta: record.timestamp - first,
            key: record.key,
            value: record.value,
            headers: record.headers,
          }),
        ),
      });
      const [batch] = await decodeRecordBatches(encoder.buffer as Buffer);
      assert.equal(batch!.producerId, 42);
      assert.equal(batch!.baseSequence, 7);
      assert.deepEqual(
        batch!.records.map((record) => [record.offset, record.timestamp, record.key, record.value]),
        records.map((record, i) => [i, record.timestamp, record.key, record.value]),
      );
      assert.deepEqual(batch!.records[2]!.headers, [{ key: "ключ", value: Buffer.from("значение") }]);
    });

    it(`${CODEC_NAMES[codec]}: kafkajs decodes what we encode`, async () => {
      const encoded = await encodeRecordBatch({
        codec,
        baseOffset: 500,
        records: records.map((record) => ({
          key: record.key,
          value: record.value,
          timestamp: record.timestamp,
          headers: Object.entries(record.headers).map(([key, value]) => ({ key, value })),
        })),
      });
      const decoded = await kafkajs.decodeRecordBatch(new kafkajs.Decoder(encoded));
      assert.equal(decoded.firstOffset, "500");
      assert.equal(decoded.lastOffsetDelta, 2);
      assert.equal(decoded.maxTimestamp, String(records[1]!.timestamp));
      assert.deepEqual(
        decoded.records.map(
          (record: { offset: string; timestamp: string; key: Buffer | null; value: Buffer | null }) => [
            record.offset,
            record.timestamp,
            record.key,
            record.value,
          ],
        ),
        records.map((record, i) => [String(500 + i), String(record.timestamp), record.key, record.value]),
      );
      assert.deepEqual(decoded.records[0].headers, { h1: Buffer.from("v1") });
    });
  }
});
