import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { describe, it } from "node:test";
import {
  createDefaultPartitioner,
  createRoundRobinPartitioner,
  murmur2,
  murmur2Partition,
} from "../../src/client/partitioners.js";

const require = createRequire(import.meta.url);

describe("murmur2", () => {
  it("matches Java's Utils.murmur2 on the vectors of PROTOCOL.md §15", () => {
    const vectors: [string, number][] = [
      ["21", -973932308],
      ["foobar", -790332482],
      ["abc", 479470107],
      ["kafka", 0xd067cf64 | 0],
      ["", 275646681],
    ];
    for (const [key, expected] of vectors) assert.equal(murmur2(Buffer.from(key)), expected, key);
  });

  it("places keys where kafkajs's DefaultPartitioner (Java-compatible) does", () => {
    const { Partitioners } = require("kafkajs") as typeof import("kafkajs");
    const kafkajs = Partitioners.DefaultPartitioner();
    for (const partitionCount of [1, 3, 7, 12, 100]) {
      const partitionMetadata = Array.from({ length: partitionCount }, (_, partitionId) => ({
        partitionId,
        leader: 0,
        partitionErrorCode: 0,
        replicas: [0],
        isr: [0],
      }));
      for (let i = 0; i < 500; i++) {
        const key = `key-${i}-${"é".repeat(i % 5)}`;
        const theirs = kafkajs({ topic: "t", partitionMetadata, message: { key, value: null } });
        assert.equal(murmur2Partition(Buffer.from(key), partitionCount), theirs, `${key} of ${partitionCount}`);
      }
    }
  });
});

describe("default partitioner", () => {
  const input = { topic: "t", partitionCount: 6, availablePartitions: [0, 1, 2, 3, 4, 5], messageBytes: 100 };

  it("hashes keys with murmur2", () => {
    const partitioner = createDefaultPartitioner({ stickyBytes: 1000 });
    for (const key of ["a", "b", "order-17"]) {
      assert.equal(partitioner({ ...input, key: Buffer.from(key) }), murmur2Partition(Buffer.from(key), 6));
    }
  });

  it("keeps key-less messages on one partition for about stickyBytes, then moves to another available one", () => {
    const partitioner = createDefaultPartitioner({ stickyBytes: 1000 });
    const picks = Array.from({ length: 40 }, () => partitioner({ ...input, key: null }));
    // 100-byte messages, 1000 sticky bytes: runs of 10.
    for (let run = 0; run < 4; run++) {
      const slice = picks.slice(run * 10, run * 10 + 10);
      assert.equal(new Set(slice).size, 1, `run ${run}: ${slice}`);
      if (run > 0) assert.notEqual(slice[0], picks[run * 10 - 1]);
    }
    const onlyThree = Array.from({ length: 50 }, () =>
      partitioner({ ...input, key: null, availablePartitions: [1, 3, 5] }),
    );
    assert.ok(onlyThree.every((p) => [1, 3, 5].includes(p)));
  });

  it("round-robin spreads every message", () => {
    const partitioner = createRoundRobinPartitioner();
    const picks = Array.from({ length: 7 }, () => partitioner({ ...input, partitionCount: 3, key: Buffer.from("k") }));
    assert.deepEqual(picks, [0, 1, 2, 0, 1, 2, 0]);
  });
});
