import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { consumableBatches, decodeFetchedBatch } from "../../../src/client/consumer/fetched-records.js";
import {
  decodeAssignment,
  decodeSubscription,
  encodeAssignment,
  encodeSubscription,
} from "../../../src/client/consumer/protocol.js";
import { encodeConsumerProtocolSubscription } from "../../../src/protocol/generated/consumer-protocol-subscription.js";
import { encodeRecordBatch } from "../../../src/protocol/records/encode-record-batch.js";
import { Writer } from "../../../src/protocol/writer.js";

const PRODUCER = 42;
const OTHER_PRODUCER = 43;

/** A data batch of `count` records from `baseOffset`. */
function data(baseOffset: number, count: number, options: { producerId?: number; transactional?: boolean } = {}) {
  return encodeRecordBatch({
    baseOffset,
    producerId: options.producerId ?? -1,
    producerEpoch: options.producerId === undefined ? -1 : 0,
    baseSequence: options.producerId === undefined ? -1 : 0,
    transactional: options.transactional ?? false,
    records: Array.from({ length: count }, (_, i) => ({ value: Buffer.from(`${baseOffset + i}`) })),
  });
}

/** A transaction marker: a control batch whose one record's key is version 0, type 0 (abort) or 1 (commit). */
function marker(offset: number, producerId: number, type: "abort" | "commit") {
  const key = Buffer.alloc(4);
  key.writeInt16BE(type === "abort" ? 0 : 1, 2);
  return encodeRecordBatch({
    baseOffset: offset,
    producerId,
    producerEpoch: 0,
    transactional: true,
    control: true,
    records: [{ key, value: Buffer.alloc(6) }],
  });
}

async function fetched(...batches: Promise<Buffer>[]): Promise<Buffer> {
  return Buffer.concat(await Promise.all(batches));
}

/** The offsets of the records the consumer would deliver out of `bytes`, and where it fetches next. */
async function consumable(
  bytes: Buffer,
  fetchOffset: number,
  aborted: { producerId: number; firstOffset: number }[] | null,
  readCommitted: boolean,
) {
  const { batches, nextOffset } = await consumableBatches(bytes, fetchOffset, aborted, readCommitted);
  const records = await Promise.all(batches.map((batch) => decodeFetchedBatch(batch)));
  return { offsets: records.flat().map((r) => r.offset), nextOffset };
}

describe("consumableBatches", () => {
  it("drops records below the fetch offset (a fetch starts at the batch containing it)", async () => {
    const bytes = await fetched(data(0, 5), data(5, 3), data(8, 2));
    assert.deepEqual(await consumable(bytes, 3, null, true), { offsets: [3, 4, 5, 6, 7, 8, 9], nextOffset: 10 });
    assert.equal((await consumableBatches(bytes, 5, null, true)).batches.length, 2, "the first batch is not kept");
  });

  it("skips control batches, and moves past a partition that ends with one", async () => {
    const bytes = await fetched(
      data(0, 2, { producerId: PRODUCER, transactional: true }),
      marker(2, PRODUCER, "commit"),
    );
    assert.deepEqual(await consumable(bytes, 0, [], true), { offsets: [0, 1], nextOffset: 3 });
    assert.deepEqual(await consumable(await fetched(marker(2, PRODUCER, "commit")), 2, [], true), {
      offsets: [],
      nextOffset: 3,
    });
  });

  it("with read_committed, drops aborted transactions up to their abort marker, and only theirs", async () => {
    const bytes = await fetched(
      data(0, 2, { producerId: PRODUCER, transactional: true }), // aborted
      data(2, 2, { producerId: OTHER_PRODUCER, transactional: true }), // committed
      data(4, 1), // not transactional
      marker(5, PRODUCER, "abort"),
      marker(6, OTHER_PRODUCER, "commit"),
      data(7, 2, { producerId: PRODUCER, transactional: true }), // a later transaction, committed
      marker(9, PRODUCER, "commit"),
    );
    const aborted = [{ producerId: PRODUCER, firstOffset: 0 }];
    assert.deepEqual(await consumable(bytes, 0, aborted, true), { offsets: [2, 3, 4, 7, 8], nextOffset: 10 });
    assert.deepEqual((await consumable(bytes, 0, aborted, false)).offsets, [0, 1, 2, 3, 4, 7, 8]);
  });

  it("leaves a truncated last batch for the next fetch, and stays put when no batch is whole", async () => {
    const whole = await fetched(data(0, 3), data(3, 3));
    assert.deepEqual(await consumable(whole.subarray(0, whole.length - 1), 0, null, true), {
      offsets: [0, 1, 2],
      nextOffset: 3,
    });
    const first = await data(0, 3);
    assert.deepEqual(await consumable(first.subarray(0, first.length - 1), 0, null, true), {
      offsets: [],
      nextOffset: 0,
    });
  });

  it("rejects bytes that are not record batches, and finds a corrupt batch when decoding it", async () => {
    await assert.rejects(consumableBatches(Buffer.alloc(40, 0xff), 0, null, true), { name: "ProtocolError" });
    const corrupt = await data(0, 3);
    corrupt[corrupt.length - 1] ^= 0xff;
    const { batches } = await consumableBatches(corrupt, 0, null, true);
    await assert.rejects(decodeFetchedBatch(batches[0] as never), { code: "PROTOCOL_CRC_MISMATCH" });
  });
});

describe("consumer protocol payloads", () => {
  it("round-trip a subscription with owned partitions and generation, behind an int16 version", () => {
    const bytes = encodeSubscription({
      topics: ["a", "b"],
      ownedPartitions: [{ topic: "a", partitions: [0, 2] }],
      generationId: 7,
    });
    assert.equal(bytes.readInt16BE(0), 3);
    const decoded = decodeSubscription(bytes);
    assert.deepEqual(decoded.topics, ["a", "b"]);
    assert.deepEqual(decoded.ownedPartitions, [{ topic: "a", partitions: [0, 2] }]);
    assert.equal(decoded.generationId, 7);
  });

  it("read other clients' older versions, and newer ones as far as they are known", () => {
    const v0 = new Writer();
    v0.writeInt16(0);
    encodeConsumerProtocolSubscription(v0, 0, { topics: ["t"], userData: Buffer.from("kafkajs") });
    const older = decodeSubscription(v0.toBuffer());
    assert.deepEqual([older.topics, older.ownedPartitions, older.generationId], [["t"], [], -1]);
    assert.deepEqual(older.userData, Buffer.from("kafkajs"));

    const newer = new Writer();
    newer.writeInt16(9);
    encodeConsumerProtocolSubscription(newer, 3, { topics: ["t"], userData: null, generationId: 4, rackId: "r1" });
    newer.writeInt32(12345); // a field from the future
    assert.equal(decodeSubscription(newer.toBuffer()).generationId, 4);
  });

  it("round-trip an assignment; empty bytes (a member the leader left out) assign nothing", () => {
    const assignment = [
      { topic: "a", partitions: [1] },
      { topic: "b", partitions: [0, 3] },
    ];
    assert.deepEqual(decodeAssignment(encodeAssignment(assignment)).assignedPartitions, assignment);
    assert.deepEqual(decodeAssignment(Buffer.alloc(0)).assignedPartitions, []);
  });
});
