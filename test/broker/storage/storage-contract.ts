import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { PartitionLog, Storage, TopicMetadata } from "../../../src/broker/storage/storage.js";
import { StorageError } from "../../../src/broker/storage/storage-error.js";
import {
  ATTRIBUTE_LOG_APPEND_TIME,
  type BatchHeader,
  readBatchHeader,
} from "../../../src/protocol/records/batch-header.js";
import { makeBatch, parseBatches } from "./batches.js";

/** What a contract test may ask of the engine it runs against. */
export interface ContractOptions {
  segmentBytes?: number;
  segmentMs?: number;
  clock?: () => number;
}

export type OpenStorage = (options: ContractOptions) => Promise<Storage>;

export const TOPIC_ID = "3f2504e0-4f89-11d3-9a0c-0305e82c3301";

export function topic(name: string, partitionCount = 1, configs: Record<string, string> = {}): TopicMetadata {
  return { name, topicId: TOPIC_ID, partitionCount, configs };
}

/** Reads everything readable from `from` on, one read after another, as a consumer would. */
export async function readAll(log: PartitionLog, from = log.logStartOffset, maxBytes = 1 << 20): Promise<Buffer[]> {
  const batches: Buffer[] = [];
  let offset = from;
  while (offset < log.highWatermark) {
    const result = await log.read(offset, maxBytes);
    assert.equal(result.outOfRange, false, `read at ${offset} is in range`);
    if (result.outOfRange) break;
    const parsed = parseBatches(result.records);
    assert.ok(parsed.length > 0, `read at ${offset} returned batches`);
    batches.push(...parsed.map((batch) => batch.bytes));
    offset = parsed[parsed.length - 1]!.lastOffset + 1;
  }
  return batches;
}

/** A clock the test moves by hand. */
export function manualClock(start = 1_000_000): { now: () => number; advance: (ms: number) => void } {
  let time = start;
  return { now: () => time, advance: (ms) => (time += ms) };
}

/**
 * The behaviour every storage engine must have. Each engine's test file runs it; anything
 * specific to one engine (files, recovery, fsync) is tested beside it.
 */
export function describeStorageContract(engine: string, open: OpenStorage): void {
  async function withLog(
    options: ContractOptions,
    test: (log: PartitionLog, storage: Storage) => Promise<void>,
    configs: Record<string, string> = {},
  ): Promise<void> {
    const storage = await open(options);
    try {
      await storage.createTopic(topic("events", 1, configs));
      await test(storage.partition("events", 0)!, storage);
    } finally {
      await storage.close();
    }
  }

  describe(`${engine} storage: appends and reads`, () => {
    it("assigns consecutive offsets across many batches and reads back exactly the stored bytes", () =>
      withLog({}, async (log) => {
        const appended: Buffer[] = [];
        let expectedBase = 0;
        for (let i = 0; i < 60; i++) {
          const batch = makeBatch({ records: (i % 5) + 1, tag: `b${i}`, partitionLeaderEpoch: 7 });
          const result = await log.append(batch);
          assert.deepEqual(result, { baseOffset: expectedBase, lastOffset: expectedBase + (i % 5), logAppendTime: -1 });
          expectedBase += (i % 5) + 1;
          appended.push(batch);
        }
        assert.equal(log.logEndOffset, expectedBase);
        assert.equal(log.highWatermark, expectedBase);
        const read = await readAll(log);
        // The append patched the caller's buffers in place: they are what the log must hold.
        assert.deepEqual(Buffer.concat(read), Buffer.concat(appended));
        const parsed = parseBatches(read);
        assert.deepEqual(
          parsed.map((b) => b.tag),
          appended.map((_, i) => `b${i}`),
        );
        for (const batch of parsed) {
          assert.equal(batch.partitionLeaderEpoch, 0);
          assert.ok(batch.crcValid);
        }
      }));

    it("gives the batches of one append consecutive offsets", () =>
      withLog({}, async (log) => {
        await log.append(makeBatch({ records: 2 }));
        const three = Buffer.concat([makeBatch({ records: 3 }), makeBatch({ records: 1 }), makeBatch({ records: 4 })]);
        assert.deepEqual(await log.append(three), { baseOffset: 2, lastOffset: 9, logAppendTime: -1 });
        const parsed = parseBatches(await readAll(log));
        assert.deepEqual(
          parsed.map((b) => [b.baseOffset, b.lastOffset]),
          [
            [0, 1],
            [2, 4],
            [5, 5],
            [6, 9],
          ],
        );
      }));

    it("serializes concurrent appends to a partition", () =>
      withLog({}, async (log) => {
        const results = await Promise.all(
          Array.from({ length: 40 }, (_, i) => log.append(makeBatch({ records: 2, tag: `c${i}` }))),
        );
        assert.deepEqual(
          results.map((r) => r.baseOffset),
          results.map((_, i) => i * 2),
        );
        assert.deepEqual(
          parseBatches(await readAll(log)).map((b) => b.tag),
          results.map((_, i) => `c${i}`),
        );
      }));

    it("reading from inside a batch returns the whole batch that contains the offset", () =>
      withLog({}, async (log) => {
        for (let i = 0; i < 20; i++) await log.append(makeBatch({ records: 10, tag: `m${i}` }));
        for (const offset of [0, 5, 9, 10, 57, 199]) {
          const result = await log.read(offset, 1);
          assert.equal(result.outOfRange, false);
          if (result.outOfRange) return;
          const [first] = parseBatches(result.records);
          assert.equal(first!.baseOffset, Math.floor(offset / 10) * 10, `read at ${offset}`);
          assert.equal(first!.tag, `m${Math.floor(offset / 10)}`);
        }
      }));

    it("fills maxBytes with whole batches, and returns a first batch larger than maxBytes (KIP-74)", () =>
      withLog({}, async (log) => {
        for (let i = 0; i < 10; i++) await log.append(makeBatch({ bodyBytes: 39 })); // 100 bytes each
        const count = async (maxBytes: number) => {
          const result = await log.read(0, maxBytes);
          return result.outOfRange ? -1 : parseBatches(result.records).length;
        };
        assert.equal(await count(250), 2);
        assert.equal(await count(300), 3);
        assert.equal(await count(10), 1);
        assert.equal(await count(0), 1);
        assert.equal(await count(10_000), 10);
      }));

    it("returns nothing when the first batch is larger than firstBatchMaxBytes, and whole batches otherwise", () =>
      withLog({}, async (log) => {
        for (let i = 0; i < 3; i++) await log.append(makeBatch({ bodyBytes: 39 })); // 100 bytes each
        const count = async (maxBytes: number, firstBatchMaxBytes: number) => {
          const result = await log.read(1, maxBytes, firstBatchMaxBytes);
          return result.outOfRange ? -1 : parseBatches(result.records).length;
        };
        assert.equal(await count(10, 99), 0, "a first batch one byte too large");
        assert.equal(await count(10, 100), 1, "a first batch that just fits, past maxBytes");
        assert.equal(await count(250, 100), 2, "later batches still go by maxBytes");
        assert.equal((await log.read(1, 10, 99)).highWatermark, 3, "an empty read still reports the bounds");
      }));

    it("answers OFFSET_OUT_OF_RANGE outside [log start, high watermark] and nothing at the high watermark", () =>
      withLog({}, async (log) => {
        assert.deepEqual(await log.read(0, 100), {
          outOfRange: false,
          records: [],
          highWatermark: 0,
          logStartOffset: 0,
        });
        assert.deepEqual(await log.read(1, 100), { outOfRange: true, highWatermark: 0, logStartOffset: 0 });
        await log.append(makeBatch({ records: 3 }));
        assert.deepEqual(await log.read(3, 100), {
          outOfRange: false,
          records: [],
          highWatermark: 3,
          logStartOffset: 0,
        });
        assert.equal((await log.read(4, 100)).outOfRange, true);
        assert.equal((await log.read(-1, 100)).outOfRange, true);
        await log.deleteRecordsBefore(2);
        assert.deepEqual(await log.read(1, 100), { outOfRange: true, highWatermark: 3, logStartOffset: 2 });
      }));

    it("rejects malformed batches with CORRUPT_MESSAGE and leaves the log as it was", () =>
      withLog({}, async (log) => {
        await log.append(makeBatch());
        const truncated = makeBatch().subarray(0, 70);
        const wrongMagic = makeBatch();
        wrongMagic.writeInt8(1, 16);
        const trailing = Buffer.concat([makeBatch(), Buffer.alloc(10)]);
        for (const bad of [Buffer.alloc(0), truncated, wrongMagic, trailing]) {
          await assert.rejects(log.append(bad), (error: unknown) => {
            assert.ok(error instanceof StorageError);
            assert.equal(error.code, "CORRUPT_MESSAGE");
            return true;
          });
        }
        assert.equal(log.logEndOffset, 1);
        assert.deepEqual((await log.append(makeBatch())).baseOffset, 1);
        assert.equal(parseBatches(await readAll(log)).length, 2);
      }));

    it("stamps LogAppendTime: timestamp type bit, max timestamp, and a recomputed CRC", () =>
      withLog({}, async (log) => {
        const result = await log.append(
          Buffer.concat([makeBatch({ maxTimestamp: 5 }), makeBatch({ maxTimestamp: 6 })]),
          {
            logAppendTime: 1_234_567,
          },
        );
        assert.equal(result.logAppendTime, 1_234_567);
        for (const batch of parseBatches(await readAll(log))) {
          assert.equal(batch.attributes & ATTRIBUTE_LOG_APPEND_TIME, ATTRIBUTE_LOG_APPEND_TIME);
          assert.equal(batch.maxTimestamp, 1_234_567);
          assert.ok(batch.crcValid);
        }
      }));

    it("tells listeners about appends, until they unsubscribe", () =>
      withLog({}, async (log) => {
        const seen: number[] = [];
        const unsubscribe = log.onAppend(() => seen.push(log.highWatermark));
        await log.append(makeBatch({ records: 2 }));
        await log.append(makeBatch({ records: 3 }));
        unsubscribe();
        await log.append(makeBatch());
        assert.deepEqual(seen, [2, 5]);
        log.onAppend(() => {
          throw new Error("a broken waiter");
        });
        assert.equal((await log.append(makeBatch())).baseOffset, 6, "a failing listener does not fail the append");
      }));

    it("reports its size and segment count", () =>
      withLog({ segmentBytes: 250 }, async (log) => {
        assert.equal(log.sizeBytes, 0);
        assert.equal(log.segmentCount, 1);
        for (let i = 0; i < 5; i++) await log.append(makeBatch({ bodyBytes: 39 }));
        assert.equal(log.sizeBytes, 500);
        assert.equal(log.segmentCount, 3);
      }));
  });

  describe(`${engine} storage: batch headers`, () => {
    /** All the headers a walk from `from` yields, in order. */
    async function walk(log: PartitionLog, from: number): Promise<BatchHeader[]> {
      const headers: BatchHeader[] = [];
      for await (const group of log.batchHeaders(from)) headers.push(...group);
      return headers;
    }

    it("walks the headers of exactly the batches from the one holding an offset, small and larger than a read window", () =>
      withLog({}, async (log) => {
        // Runs of small batches span several read windows (headers straddle their edges), and
        // batches of 300 KiB and 1 MiB are each larger than a window.
        const bodies = [
          ...Array.from({ length: 300 }, (_, i) => 900 + i * 7),
          300 * 1024,
          ...Array.from({ length: 300 }, (_, i) => 100 + i),
          1024 * 1024,
          1024 * 1024,
          ...Array.from({ length: 50 }, () => 5000),
        ];
        for (const [i, bodyBytes] of bodies.entries()) {
          await log.append(makeBatch({ records: (i % 4) + 1, bodyBytes, maxTimestamp: 1_000_000 + i }));
        }
        const stored = parseBatches(await readAll(log, 0, 64 << 20)).map((batch) => readBatchHeader(batch.bytes));
        assert.equal(stored.length, bodies.length);
        for (const from of [0, 1, 2, 301, 450, 902, 1100, log.highWatermark - 1]) {
          const first = stored.findIndex((batch) => batch.baseOffset + batch.lastOffsetDelta >= from);
          assert.deepEqual(await walk(log, from), stored.slice(first), `walk from ${from}`);
        }
        assert.deepEqual(await walk(log, log.highWatermark), [], "nothing from the high watermark");
        assert.deepEqual(await walk(log, log.highWatermark + 5), [], "nothing past it");
      }));

    it("stops at the end of the segment it starts in and yields nothing below the log start offset", () =>
      withLog({ segmentBytes: 1000 }, async (log) => {
        for (let i = 0; i < 9; i++) await log.append(makeBatch({ records: 3, bodyBytes: 239, tag: `s${i}` })); // 3 per segment
        const offsetsFrom = async (from: number) => (await walk(log, from)).map((batch) => batch.baseOffset);
        assert.deepEqual(await offsetsFrom(4), [3, 6]);
        assert.deepEqual(await offsetsFrom(9), [9, 12, 15]);
        await log.deleteRecordsBefore(10);
        assert.deepEqual(await offsetsFrom(9), []);
        assert.deepEqual(await offsetsFrom(10), [9, 12, 15]);
        assert.deepEqual(await offsetsFrom(24), [24]);
      }));
  });

  describe(`${engine} storage: segments, retention, DeleteRecords`, () => {
    it("rolls a segment when the next append would pass segment.bytes, and reads across segments", () =>
      withLog({ segmentBytes: 1000 }, async (log) => {
        const batches = Array.from({ length: 25 }, (_, i) => makeBatch({ records: 3, bodyBytes: 239, tag: `s${i}` }));
        for (const batch of batches) await log.append(batch); // 300 bytes each: 3 per segment
        assert.equal(log.segmentCount, 9);
        assert.deepEqual(Buffer.concat(await readAll(log)), Buffer.concat(batches));
        for (const offset of [0, 8, 9, 10, 44, 74]) {
          const result = await log.read(offset, 1);
          assert.ok(!result.outOfRange);
          assert.equal(parseBatches(result.records)[0]!.tag, `s${Math.floor(offset / 3)}`);
        }
      }));

    it("stops a read at the end of a segment", () =>
      withLog({ segmentBytes: 1000 }, async (log) => {
        for (let i = 0; i < 6; i++) await log.append(makeBatch({ bodyBytes: 239 }));
        const result = await log.read(0, 1 << 20);
        assert.ok(!result.outOfRange);
        assert.equal(parseBatches(result.records).length, 3);
      }));

    it("accepts a batch larger than segment.bytes into an empty segment", () =>
      withLog({ segmentBytes: 200 }, async (log) => {
        await log.append(makeBatch({ bodyBytes: 1000 }));
        await log.append(makeBatch({ bodyBytes: 1000 }));
        assert.equal(log.segmentCount, 2);
        assert.equal(parseBatches(await readAll(log)).length, 2);
      }));

    it("rolls a segment older than segment.ms, counted from its first append", async () => {
      const clock = manualClock();
      await withLog({ segmentMs: 1000, clock: clock.now }, async (log) => {
        clock.advance(5000); // an empty segment does not age
        await log.append(makeBatch());
        clock.advance(600);
        await log.append(makeBatch());
        assert.equal(log.segmentCount, 1);
        clock.advance(400);
        await log.append(makeBatch());
        assert.equal(log.segmentCount, 2);
        assert.equal(parseBatches(await readAll(log)).length, 3);
      });
    });

    it("applies a segment.bytes override set after creation", () =>
      withLog({}, async (log, storage) => {
        await storage.setTopicConfig("events", { "segment.bytes": "250" });
        for (let i = 0; i < 3; i++) await log.append(makeBatch({ bodyBytes: 39 }));
        assert.equal(log.segmentCount, 2);
      }));

    it("retention by time deletes old whole segments, never the active one", () =>
      withLog({ segmentBytes: 250 }, async (log) => {
        // Two 100-byte batches per segment, timestamps 1000, 2000, …
        for (let i = 1; i <= 7; i++) await log.append(makeBatch({ bodyBytes: 39, records: 2, maxTimestamp: i * 1000 }));
        assert.equal(log.segmentCount, 4);
        assert.equal(await log.applyRetention(4500, { retentionMs: 10_000, retentionBytes: -1 }), 0);
        // Segments end at 2000, 4000, 6000, 7000: with retention 1500 at 6000 the first two expire.
        assert.equal(await log.applyRetention(6000, { retentionMs: 1500, retentionBytes: -1 }), 2);
        assert.equal(log.segmentCount, 2);
        assert.equal(log.logStartOffset, 8);
        assert.equal((await log.read(7, 100)).outOfRange, true);
        assert.equal(parseBatches(await readAll(log))[0]!.baseOffset, 8);
        // Everything expired: the active segment stays.
        assert.equal(await log.applyRetention(100_000, { retentionMs: 1, retentionBytes: -1 }), 1);
        assert.equal(log.segmentCount, 1);
        assert.equal(log.logStartOffset, 12);
        assert.equal(log.logEndOffset, 14);
      }));

    it("retention by size deletes the oldest segments while the rest stays over retention.bytes", () =>
      withLog({ segmentBytes: 250 }, async (log) => {
        for (let i = 0; i < 9; i++) await log.append(makeBatch({ bodyBytes: 39 }));
        assert.equal(log.segmentCount, 5); // 200+200+200+200+100 bytes
        assert.equal(await log.applyRetention(0, { retentionMs: -1, retentionBytes: 900 }), 0);
        assert.equal(await log.applyRetention(0, { retentionMs: -1, retentionBytes: 500 }), 2);
        assert.equal(log.sizeBytes, 500);
        assert.equal(log.logStartOffset, 4);
        assert.equal(await log.applyRetention(0, { retentionMs: -1, retentionBytes: 0 }), 2);
        assert.equal(log.segmentCount, 1);
        assert.equal(log.logStartOffset, 8);
      }));

    it("deleteRecordsBefore moves the log start offset and drops the segments entirely below it", () =>
      withLog({ segmentBytes: 250 }, async (log) => {
        for (let i = 0; i < 8; i++) await log.append(makeBatch({ bodyBytes: 39, records: 5 }));
        assert.equal(log.segmentCount, 4); // offsets 0-9, 10-19, 20-29, 30-39
        assert.equal(await log.deleteRecordsBefore(13), 13);
        assert.equal(log.logStartOffset, 13);
        assert.equal(log.segmentCount, 3);
        const result = await log.read(13, 1);
        assert.ok(!result.outOfRange);
        assert.equal(parseBatches(result.records)[0]!.baseOffset, 10, "the batch containing the log start offset");
        assert.equal(await log.deleteRecordsBefore(5), 13, "the log start offset never moves back");
        assert.equal(await log.deleteRecordsBefore(40), 40);
        assert.equal(log.segmentCount, 1);
        assert.equal(log.sizeBytes, 200);
        assert.deepEqual(await log.read(40, 100), {
          outOfRange: false,
          records: [],
          highWatermark: 40,
          logStartOffset: 40,
        });
        assert.deepEqual((await log.append(makeBatch())).baseOffset, 40);
        await assert.rejects(log.deleteRecordsBefore(42), { name: "StorageError", code: "OFFSET_OUT_OF_RANGE" });
      }));
  });

  describe(`${engine} storage: timestamps`, () => {
    it("finds the first batch whose max timestamp reaches the target", () =>
      withLog({ segmentBytes: 400 }, async (log) => {
        const timestamps = [100, 300, 200, 500, 400, 700, 600, 900];
        for (const maxTimestamp of timestamps) await log.append(makeBatch({ records: 2, maxTimestamp, bodyBytes: 39 }));
        assert.ok(log.segmentCount > 1);
        const expect = async (target: number, offset: number | undefined, timestamp?: number) =>
          assert.deepEqual(
            await log.offsetForTimestamp(target),
            offset === undefined ? undefined : { offset, timestamp },
            `target ${target}`,
          );
        await expect(0, 0, 100);
        await expect(100, 0, 100);
        await expect(101, 2, 300);
        await expect(250, 2, 300);
        await expect(301, 6, 500);
        await expect(550, 10, 700);
        await expect(800, 14, 900);
        await expect(901, undefined);
        await log.deleteRecordsBefore(3);
        await expect(0, 3, 300);
      }));

    it("reports the max timestamp and the last offset of the first batch that carries it", () =>
      withLog({ segmentBytes: 250 }, async (log) => {
        assert.equal(log.maxTimestampEntry(), undefined);
        for (const maxTimestamp of [10, 50, 20, 50, 30])
          await log.append(makeBatch({ records: 3, maxTimestamp, bodyBytes: 39 }));
        assert.deepEqual(log.maxTimestampEntry(), { offset: 5, timestamp: 50 });
      }));
  });

  describe(`${engine} storage: topics`, () => {
    it("creates, grows, reconfigures and deletes topics", async () => {
      const storage = await open({});
      try {
        assert.deepEqual(await storage.loadTopics(), []);
        await storage.createTopic(topic("a", 2, { "retention.ms": "1000" }));
        await storage.createTopic(topic("b"));
        assert.ok(storage.partition("a", 1));
        assert.equal(storage.partition("a", 2), undefined);
        assert.equal(storage.partition("c", 0), undefined);
        await storage.partition("a", 1)!.append(makeBatch());
        await storage.addPartitions("a", 4);
        assert.ok(storage.partition("a", 3));
        assert.equal(storage.partition("a", 1)!.logEndOffset, 1, "existing partitions keep their data");
        await storage.setTopicConfig("b", { "cleanup.policy": "delete" });
        assert.deepEqual(
          (await storage.loadTopics()).sort((x, y) => x.name.localeCompare(y.name)),
          [topic("a", 4, { "retention.ms": "1000" }), topic("b", 1, { "cleanup.policy": "delete" })],
        );
        await storage.deleteTopic("a");
        assert.equal(storage.partition("a", 0), undefined);
        assert.deepEqual(await storage.loadTopics(), [topic("b", 1, { "cleanup.policy": "delete" })]);
        await storage.createTopic(topic("a"));
        assert.equal(storage.partition("a", 0)!.logEndOffset, 0, "a re-created topic starts empty");
      } finally {
        await storage.close();
      }
    });

    it("refuses what Kafka refuses, with the matching error codes", async () => {
      const storage = await open({});
      try {
        await storage.createTopic(topic("a", 2));
        const refuses = (promise: Promise<unknown>, code: string) =>
          assert.rejects(promise, (error: unknown) => error instanceof StorageError && error.code === code);
        await refuses(storage.createTopic(topic("a")), "TOPIC_ALREADY_EXISTS");
        await refuses(storage.createTopic(topic("../etc")), "INVALID_TOPIC_EXCEPTION");
        await refuses(storage.createTopic(topic("")), "INVALID_TOPIC_EXCEPTION");
        await refuses(storage.createTopic(topic("z", 0)), "INVALID_PARTITIONS");
        await refuses(storage.createTopic({ ...topic("z"), topicId: "nope" }), "INVALID_TOPIC_EXCEPTION");
        await refuses(storage.addPartitions("a", 2), "INVALID_PARTITIONS");
        await refuses(storage.addPartitions("nope", 3), "UNKNOWN_TOPIC_OR_PARTITION");
        await refuses(storage.deleteTopic("nope"), "UNKNOWN_TOPIC_OR_PARTITION");
        await refuses(storage.setTopicConfig("nope", {}), "UNKNOWN_TOPIC_OR_PARTITION");
        assert.deepEqual(await storage.loadTopics(), [topic("a", 2)]);
      } finally {
        await storage.close();
      }
    });

    it("stops the logs of a deleted topic", async () => {
      const storage = await open({});
      try {
        await storage.createTopic(topic("gone"));
        const log = storage.partition("gone", 0)!;
        await storage.deleteTopic("gone");
        await assert.rejects(log.append(makeBatch()), { name: "StorageError", code: "KAFKA_STORAGE_ERROR" });
      } finally {
        await storage.close();
      }
    });
  });
}
