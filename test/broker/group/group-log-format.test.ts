import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { crc32c } from "@node-rs/crc32";
import fc from "fast-check";
import {
  decodeGroupLog,
  encodeGroupLogEntries,
  encodeGroupLogEntry,
  GroupLogFormatError,
} from "../../../src/broker/group/group-log-format.js";
import type { GroupRecord } from "../../../src/broker/group/group-records.js";

const text = fc.string({ maxLength: 20 });
const int32 = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
const int64 = fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER });
const bytes = fc.uint8Array({ maxLength: 32 }).map((a) => Buffer.from(a));

/** Records with ordinary prototypes, as the decoder builds them. */
const record = <T>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }) => fc.record(model, { noNullPrototype: true });

const recordArb: fc.Arbitrary<GroupRecord> = fc.oneof(
  record({
    kind: fc.constant("offset" as const),
    groupId: text,
    topic: text,
    partition: int32,
    committed: record({
      offset: int64,
      leaderEpoch: int32,
      metadata: fc.string({ maxLength: 100 }),
      commitTimestamp: int64,
      expireTimestamp: int64,
    }),
  }),
  record({ kind: fc.constant("offset-removed" as const), groupId: text, topic: text, partition: int32 }),
  record({
    kind: fc.constant("group" as const),
    groupId: text,
    group: record({
      protocolType: fc.option(text),
      generationId: int32,
      protocolName: fc.option(text),
      leaderId: fc.option(text),
      stateTimestamp: int64,
      members: fc.array(
        record({
          memberId: text,
          groupInstanceId: fc.option(text),
          clientId: text,
          clientHost: text,
          rebalanceTimeoutMs: int32,
          sessionTimeoutMs: int32,
          subscription: bytes,
          assignment: bytes,
        }),
        { maxLength: 3 },
      ),
    }),
  }),
  record({ kind: fc.constant("group-removed" as const), groupId: text }),
);

const logArb = fc.array(fc.array(recordArb, { minLength: 1, maxLength: 4 }), { maxLength: 5 });

/** Decoding may only succeed, cut the log short, or fail with the format's own error. */
function decodesSafely(data: Buffer): void {
  try {
    const contents = decodeGroupLog(data);
    assert.ok(contents.validLength <= data.length);
    assert.equal(contents.damage === null, contents.validLength === data.length);
  } catch (error) {
    if (!(error instanceof GroupLogFormatError)) throw error;
  }
}

describe("group log format", () => {
  it("reads back every record it wrote, entry by entry", () => {
    fc.assert(
      fc.property(logArb, (entries) => {
        const data = Buffer.concat(entries.map(encodeGroupLogEntry));
        const contents = decodeGroupLog(data);
        assert.equal(contents.damage, null);
        assert.equal(contents.validLength, data.length);
        assert.deepEqual(contents.records, entries.flat());
      }),
    );
  });

  it("splits a snapshot into entries that read back as the same records", () => {
    const records: GroupRecord[] = Array.from({ length: 10_000 }, (_, i) => ({
      kind: "offset-removed",
      groupId: "g",
      topic: "t",
      partition: i,
    }));
    const entries = encodeGroupLogEntries(records);
    assert.ok(entries.length > 1);
    assert.deepEqual(decodeGroupLog(Buffer.concat(entries)).records, records);
  });

  it("stops at a torn entry and keeps everything before it", () => {
    fc.assert(
      fc.property(logArb, recordArb, fc.nat(), (entries, last, cut) => {
        const whole = Buffer.concat(entries.map(encodeGroupLogEntry));
        const torn = encodeGroupLogEntry([last]);
        const data = Buffer.concat([whole, torn.subarray(0, cut % torn.length)]);
        const contents = decodeGroupLog(data);
        assert.equal(contents.validLength, whole.length);
        assert.deepEqual(contents.records, entries.flat());
        assert.equal(contents.damage === null, cut % torn.length === 0);
      }),
    );
  });

  it("stops at an entry whose checksum does not match", () => {
    const first = encodeGroupLogEntry([{ kind: "group-removed", groupId: "a" }]);
    const second = encodeGroupLogEntry([{ kind: "group-removed", groupId: "b" }]);
    second[second.length - 1] ^= 0x01;
    const contents = decodeGroupLog(Buffer.concat([first, second]));
    assert.equal(contents.validLength, first.length);
    assert.match(contents.damage ?? "", /checksum/);
  });

  it("refuses an intact entry of a newer format version with a clear error", () => {
    const entry = encodeGroupLogEntry([{ kind: "group-removed", groupId: "a" }]);
    entry[8] = 2;
    entry.writeUInt32BE(crc32c(entry.subarray(8)), 4);
    assert.throws(() => decodeGroupLog(entry), GroupLogFormatError);
  });

  it("never throws anything but its own error on random bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (data) => decodesSafely(Buffer.from(data))),
      { numRuns: 2000 },
    );
  });

  it("never throws anything but its own error on mutated logs", () => {
    fc.assert(
      fc.property(
        logArb,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        (entries, mutations) => {
          const data = Buffer.concat(entries.map(encodeGroupLogEntry));
          if (data.length === 0) return;
          for (const [at, value] of mutations) data[at % data.length] = value;
          decodesSafely(data);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("never throws anything but its own error on garbage behind a valid checksum", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (garbage) => {
        const payload = Buffer.concat([Buffer.from([1]), Buffer.from(garbage)]);
        const header = Buffer.alloc(8);
        header.writeInt32BE(payload.length, 0);
        header.writeUInt32BE(crc32c(payload), 4);
        decodesSafely(Buffer.concat([header, payload]));
      }),
      { numRuns: 2000 },
    );
  });
});
