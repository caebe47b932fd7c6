import assert from "node:assert/strict";
import { createRequire } from "node:module";
import fc from "fast-check";
import { ProtocolError } from "../../../src/protocol/protocol-error.js";
import type { RecordHeader, RecordInput } from "../../../src/protocol/records/record.js";
import type { RecordBatchInput } from "../../../src/protocol/records/record-batch.js";

/** Bit-by-bit reflected CRC, independent of the library the code under test uses. */
function referenceCrc(polynomial: number, data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of data) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ polynomial : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

export const referenceCrc32c = (data: Uint8Array): number => referenceCrc(0x82f63b78, data);
export const referenceCrc32 = (data: Uint8Array): number => referenceCrc(0xedb88320, data);

/** Asserts that `run` throws (or rejects with) a ProtocolError, optionally with `code`. */
export async function assertProtocolError(run: () => unknown, code?: string): Promise<void> {
  await assert.rejects(
    async () => run(),
    (error: unknown) => {
      assert.ok(error instanceof ProtocolError, `expected a ProtocolError, got ${String(error)}`);
      if (code) assert.equal(error.code, code);
      return true;
    },
  );
}

/** Runs `run` and accepts success or a ProtocolError; any other failure fails the test. */
export async function onlyProtocolErrors(run: () => unknown): Promise<void> {
  try {
    await run();
  } catch (error) {
    assert.ok(error instanceof ProtocolError, `non-ProtocolError escaped: ${(error as Error)?.stack ?? String(error)}`);
  }
}

/** Recomputes a v2 batch's CRC in place, so a fuzzed batch gets past the CRC check. */
export function fixBatchCrc(batch: Buffer, at = 0): void {
  if (batch.length - at < 61) return;
  const size = Math.min(batch.readInt32BE(at + 8) + 12, batch.length - at);
  if (size < 21) return;
  batch.writeUInt32BE(referenceCrc32c(batch.subarray(at + 21, at + size)), at + 17);
}

export const arbNullableBytes = fc.option(
  fc.uint8Array({ maxLength: 48 }).map((bytes) => Buffer.from(bytes)),
  { nil: null, freq: 5 },
);

export const arbHeader: fc.Arbitrary<RecordHeader> = fc.record({
  key: fc.string({ unit: "grapheme", maxLength: 8 }),
  value: arbNullableBytes,
});

export const arbRecord: fc.Arbitrary<RecordInput> = fc.record({
  key: arbNullableBytes,
  value: arbNullableBytes,
  headers: fc.array(arbHeader, { maxLength: 4 }),
  timestamp: fc.integer({ min: 0, max: 2 ** 45 }),
});

export const arbBatchInput: fc.Arbitrary<RecordBatchInput> = fc.record({
  records: fc.array(arbRecord, { minLength: 1, maxLength: 25 }),
  codec: fc.constantFrom(0, 1, 2, 3, 4),
  baseOffset: fc.integer({ min: 0, max: 2 ** 50 }),
  partitionLeaderEpoch: fc.integer({ min: -1, max: 2 ** 31 - 1 }),
  producerId: fc.integer({ min: -1, max: 2 ** 50 }),
  producerEpoch: fc.integer({ min: -1, max: 2 ** 15 - 1 }),
  baseSequence: fc.integer({ min: -1, max: 2 ** 31 - 1 }),
  transactional: fc.boolean(),
});

/** Byte-level damage for fuzzing: overwrites, a truncation, an insertion. */
export const arbMutation = fc.record({
  writes: fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 })), { maxLength: 6 }),
  cut: fc.option(fc.nat(), { nil: undefined }),
  insert: fc.option(fc.tuple(fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 8 })), { nil: undefined }),
});

export type Mutation = typeof arbMutation extends fc.Arbitrary<infer T> ? T : never;

export function mutate(original: Buffer, mutation: Mutation): Buffer {
  let bytes = Buffer.from(original);
  if (bytes.length === 0) return bytes;
  for (const [at, value] of mutation.writes) bytes[at % bytes.length] = value;
  if (mutation.insert) {
    const at = mutation.insert[0] % bytes.length;
    bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from(mutation.insert[1]), bytes.subarray(at)]);
  }
  if (mutation.cut !== undefined) bytes = bytes.subarray(0, mutation.cut % (bytes.length + 1));
  return bytes;
}

/**
 * kafkajs's own protocol encoders and decoders (a devDependency), used as an independent
 * implementation: what it writes we must read, and the reverse.
 */
const require = createRequire(import.meta.url);
// biome-ignore lint/suspicious/noExplicitAny: kafkajs internals are untyped CommonJS.
type Untyped = any;
export const kafkajs = {
  RecordBatch: require("kafkajs/src/protocol/recordBatch/v0").RecordBatch as Untyped,
  Record: require("kafkajs/src/protocol/recordBatch/record/v0") as Untyped,
  decodeRecordBatch: require("kafkajs/src/protocol/recordBatch/v0/decoder") as Untyped,
  Decoder: require("kafkajs/src/protocol/decoder") as Untyped,
  Message: require("kafkajs/src/protocol/message") as Untyped,
  MessageSet: require("kafkajs/src/protocol/messageSet") as Untyped,
};
