import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { gzipSync } from "node:zlib";
import fc from "fast-check";
import { CodecId } from "../../../src/protocol/compression/codec.js";
import { validateBatchesForAppend } from "../../../src/protocol/records/append-validation.js";
import { decodeRecordBatches } from "../../../src/protocol/records/decode-record-batches.js";
import { encodeRecordBatch } from "../../../src/protocol/records/encode-record-batch.js";
import { readLegacyMessageSet, upConvertToV2 } from "../../../src/protocol/records/legacy.js";
import { Writer } from "../../../src/protocol/writer.js";
import {
  arbMutation,
  assertProtocolError,
  kafkajs,
  mutate,
  onlyProtocolErrors,
  referenceCrc32,
} from "./test-helpers.js";

interface MessageSpec {
  magic: 0 | 1;
  attributes?: number;
  timestamp?: number;
  key: Buffer | null;
  value: Buffer | null;
}

/** A legacy message written field by field: crc, magic, attributes, [timestamp], key, value. */
function message(spec: MessageSpec): Buffer {
  const body = new Writer().writeInt8(spec.magic).writeInt8(spec.attributes ?? 0);
  if (spec.magic === 1) body.writeInt64(spec.timestamp ?? 0);
  const content = body.writeNullableBytes(spec.key).writeNullableBytes(spec.value).toBuffer();
  return Buffer.concat([new Writer().writeUInt32(referenceCrc32(content)).toBuffer(), content]);
}

function entry(offset: number, messageBytes: Buffer): Buffer {
  return Buffer.concat([new Writer().writeInt64(offset).writeInt32(messageBytes.length).toBuffer(), messageBytes]);
}

function messageSet(offsets: number[], specs: MessageSpec[]): Buffer {
  return Buffer.concat(specs.map((spec, i) => entry(offsets[i] as number, message(spec))));
}

const V0_SPECS: MessageSpec[] = [
  { magic: 0, key: Buffer.from("k0"), value: Buffer.from("zero") },
  { magic: 0, key: null, value: Buffer.from("one") },
  { magic: 0, key: Buffer.from("k2"), value: null },
];
const V1_SPECS: MessageSpec[] = [
  { magic: 1, timestamp: 1_500_000_000_000, key: Buffer.from("a"), value: Buffer.from("alpha") },
  { magic: 1, timestamp: 1_500_000_000_500, key: null, value: Buffer.from("beta") },
  { magic: 1, timestamp: 1_499_999_999_000, key: Buffer.from("c"), value: Buffer.alloc(0) },
];

/** A compressed wrapper entry holding `specs` as its inner set, gzip-compressed. */
function gzipWrapper(
  magic: 0 | 1,
  wrapperOffset: number,
  innerOffsets: number[],
  specs: MessageSpec[],
  attributes = 0,
) {
  const wrapped = gzipSync(messageSet(innerOffsets, specs));
  return entry(
    wrapperOffset,
    message({ magic, attributes: attributes | CodecId.gzip, timestamp: 1_500_000_009_999, key: null, value: wrapped }),
  );
}

function contents(records: { key: Buffer | null; value: Buffer | null }[]) {
  return records.map((record) => [record.key?.toString() ?? null, record.value?.toString() ?? null]);
}

describe("legacy message sets", () => {
  it("our hand-built messages are byte-identical to kafkajs's v0 and v1 encoders", () => {
    const ours0 = message(V0_SPECS[0]!);
    const theirs0 = kafkajs.Message({ version: 0 })({ key: V0_SPECS[0]!.key, value: V0_SPECS[0]!.value }).buffer;
    assert.deepEqual(ours0, theirs0);
    const spec = V1_SPECS[1]!;
    const theirs1 = kafkajs.Message({ version: 1 })({
      key: spec.key,
      value: spec.value,
      timestamp: spec.timestamp,
    }).buffer;
    assert.deepEqual(message(spec), theirs1);
  });

  it("reads an uncompressed magic-0 set", async () => {
    const entries = await readLegacyMessageSet(messageSet([10, 11, 12], V0_SPECS));
    assert.deepEqual(
      entries.map((e) => [e.offset, e.magic, e.codec, e.timestamp]),
      [
        [10, 0, 0, -1],
        [11, 0, 0, -1],
        [12, 0, 0, -1],
      ],
    );
    assert.deepEqual(contents(entries.flatMap((e) => e.messages)), contents(V0_SPECS));
  });

  it("reads an uncompressed magic-1 set with timestamps", async () => {
    const entries = await readLegacyMessageSet(messageSet([0, 1, 2], V1_SPECS));
    const messages = entries.flatMap((e) => e.messages);
    assert.deepEqual(
      messages.map((m) => [m.offset, m.magic, m.timestamp]),
      V1_SPECS.map((spec, i) => [i, 1, spec.timestamp]),
    );
    assert.deepEqual(contents(messages), contents(V1_SPECS));
  });

  it("resolves magic-1 relative inner offsets from the wrapper's offset of the last message", async () => {
    const [wrapper] = await readLegacyMessageSet(gzipWrapper(1, 102, [0, 1, 2], V1_SPECS));
    assert.equal(wrapper!.codec, CodecId.gzip);
    assert.deepEqual(
      wrapper!.messages.map((m) => [m.offset, m.timestamp]),
      V1_SPECS.map((spec, i) => [100 + i, spec.timestamp]),
    );
    assert.deepEqual(contents(wrapper!.messages), contents(V1_SPECS));
  });

  it("keeps magic-0 inner offsets, which are absolute", async () => {
    const [wrapper] = await readLegacyMessageSet(gzipWrapper(0, 52, [50, 51, 52], V0_SPECS));
    assert.deepEqual(
      wrapper!.messages.map((m) => m.offset),
      [50, 51, 52],
    );
  });

  it("gives inner messages of a LogAppendTime wrapper the wrapper's timestamp", async () => {
    const [wrapper] = await readLegacyMessageSet(gzipWrapper(1, 2, [0, 1, 2], V1_SPECS, 0x08));
    assert.equal(wrapper!.logAppendTime, true);
    assert.deepEqual(
      wrapper!.messages.map((m) => m.timestamp),
      [1_500_000_009_999, 1_500_000_009_999, 1_500_000_009_999],
    );
  });

  it("drops a truncated trailing message", async () => {
    const full = Buffer.concat([messageSet([0], [V1_SPECS[0]!]), gzipWrapper(1, 3, [0, 1, 2], V1_SPECS)]);
    const firstSize = messageSet([0], [V1_SPECS[0]!]).length;
    for (let cut = firstSize; cut < full.length; cut++) {
      const entries = await readLegacyMessageSet(full.subarray(0, cut));
      assert.equal(entries.length, 1, `cut at ${cut}`);
    }
    assert.equal((await readLegacyMessageSet(full)).length, 2);
  });

  it("rejects a CRC mismatch, nested compression and an empty wrapper", async () => {
    const corrupt = messageSet([0], [V1_SPECS[0]!]);
    corrupt[corrupt.length - 1] ^= 0xff;
    await assertProtocolError(() => readLegacyMessageSet(corrupt), "PROTOCOL_CRC_MISMATCH");

    const inner = gzipWrapper(1, 0, [0], [V1_SPECS[0]!]);
    const nested = entry(0, message({ magic: 1, attributes: CodecId.gzip, key: null, value: gzipSync(inner) }));
    await assertProtocolError(() => readLegacyMessageSet(nested), "PROTOCOL_NESTED_COMPRESSION");

    const empty = entry(
      0,
      message({ magic: 1, attributes: CodecId.gzip, key: null, value: gzipSync(Buffer.alloc(0)) }),
    );
    await assertProtocolError(() => readLegacyMessageSet(empty), "PROTOCOL_BAD_RECORD");
  });

  it("refuses a v2 batch where a legacy set is expected", async () => {
    const batch = await encodeRecordBatch({ records: [{ value: Buffer.from("v2") }] });
    await assertProtocolError(() => readLegacyMessageSet(batch), "PROTOCOL_BAD_MAGIC");
  });

  it("decodeRecordBatches presents legacy entries as batches, mixed with v2 ones", async () => {
    const v2 = await encodeRecordBatch({ baseOffset: 103, records: [{ value: Buffer.from("new") }] });
    const blob = Buffer.concat([messageSet([0], [V0_SPECS[0]!]), gzipWrapper(1, 102, [0, 1, 2], V1_SPECS), v2]);
    const batches = await decodeRecordBatches(blob);
    assert.deepEqual(
      batches.map((b) => [b.magic, b.baseOffset, b.lastOffsetDelta, b.recordsCount, b.codec]),
      [
        [0, 0, 0, 1, 0],
        [1, 100, 2, 3, 1],
        [2, 103, 0, 1, 0],
      ],
    );
    assert.equal(batches[1]!.maxTimestamp, 1_500_000_000_500);
    assert.deepEqual(
      batches[1]!.records.map((r) => r.offset),
      [100, 101, 102],
    );
  });
});

describe("upConvertToV2", () => {
  it("turns an uncompressed magic-0 set into one v2 batch with timestamps -1", async () => {
    const converted = await upConvertToV2(messageSet([0, 1, 2], V0_SPECS));
    const [batch, ...rest] = await decodeRecordBatches(converted);
    assert.equal(rest.length, 0);
    assert.equal(batch!.magic, 2);
    assert.equal(batch!.codec, CodecId.none);
    assert.equal(batch!.logAppendTime, false);
    assert.equal(batch!.baseTimestamp, -1);
    assert.equal(batch!.maxTimestamp, -1);
    assert.deepEqual(
      batch!.records.map((r) => [r.offsetDelta, r.timestamp]),
      [
        [0, -1],
        [1, -1],
        [2, -1],
      ],
    );
    assert.deepEqual(contents(batch!.records), contents(V0_SPECS));
  });

  it("turns a gzip-wrapped magic-1 set into a gzip v2 batch keeping timestamps", async () => {
    const converted = await upConvertToV2(gzipWrapper(1, 2, [0, 1, 2], V1_SPECS));
    const [batch] = await decodeRecordBatches(converted);
    assert.equal(batch!.codec, CodecId.gzip);
    assert.equal(batch!.producerId, -1);
    assert.equal(batch!.maxTimestamp, 1_500_000_000_500);
    assert.deepEqual(
      batch!.records.map((r) => [r.offset, r.timestamp]),
      V1_SPECS.map((spec, i) => [i, spec.timestamp]),
    );
    assert.deepEqual(contents(batch!.records), contents(V1_SPECS));
  });

  it("flattens several entries, including a gzip-wrapped magic-0 one, in order", async () => {
    const blob = Buffer.concat([messageSet([0], [V0_SPECS[0]!]), gzipWrapper(0, 3, [1, 2, 3], V0_SPECS)]);
    const [batch] = await decodeRecordBatches(await upConvertToV2(blob));
    assert.deepEqual(contents(batch!.records), contents([V0_SPECS[0]!, ...V0_SPECS]));
    assert.equal(batch!.lastOffsetDelta, 3);
  });

  it("uses the requested codec, and produces a batch the append validator accepts", async () => {
    const converted = await upConvertToV2(messageSet([0, 1, 2], V1_SPECS), { codec: CodecId.zstd });
    const validation = validateBatchesForAppend(converted, { singleBatch: true });
    assert.ok(validation.ok);
    assert.equal(validation.batches[0]!.codec, CodecId.zstd);
    assert.equal(validation.batches[0]!.recordsCount, 3);
  });

  it("returns an empty buffer for an empty or wholly truncated set", async () => {
    assert.equal((await upConvertToV2(Buffer.alloc(0))).length, 0);
    assert.equal((await upConvertToV2(messageSet([0], [V0_SPECS[0]!]).subarray(0, 20))).length, 0);
  });
});

describe("legacy decoding on bad input", () => {
  const samples = [
    messageSet([0, 1, 2], V0_SPECS),
    messageSet([0, 1, 2], V1_SPECS),
    gzipWrapper(1, 2, [0, 1, 2], V1_SPECS),
    gzipWrapper(0, 2, [0, 1, 2], V0_SPECS),
  ];

  it("only ever throws ProtocolError on random and mutated bytes", async () => {
    const input = fc.oneof(
      fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)),
      fc.tuple(fc.constantFrom(...samples), arbMutation).map(([sample, mutation]) => mutate(sample, mutation)),
    );
    await fc.assert(
      fc.asyncProperty(input, async (bytes) => {
        await onlyProtocolErrors(() => readLegacyMessageSet(bytes, { maxDecompressedBytes: 1 << 20 }));
        await onlyProtocolErrors(() => upConvertToV2(bytes, { maxDecompressedBytes: 1 << 20 }));
        await onlyProtocolErrors(() => decodeRecordBatches(bytes, { maxDecompressedBytes: 1 << 20 }));
      }),
      { numRuns: 1500 },
    );
  });

  it("only ever throws ProtocolError on garbage inside a wrapper whose CRC is valid", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 200 }), fc.constantFrom(0, 1), async (inner, magic) => {
        const wrapper = entry(
          0,
          message({ magic: magic as 0 | 1, attributes: CodecId.gzip, key: null, value: gzipSync(inner) }),
        );
        await onlyProtocolErrors(() => readLegacyMessageSet(wrapper));
      }),
      { numRuns: 500 },
    );
  });
});
