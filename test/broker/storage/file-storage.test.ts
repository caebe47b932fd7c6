import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { CLEAN_SHUTDOWN_MARKER } from "../../../src/broker/storage/clean-shutdown.js";
import { openFileStorage } from "../../../src/broker/storage/file-storage.js";
import { ReadBuffers } from "../../../src/broker/storage/read-buffers.js";
import { encodeTopics } from "../../../src/broker/storage/topic-store.js";
import { makeBatch, parseBatches } from "./batches.js";
import { capturingLogger, temporaryDirectories } from "./file-helpers.js";
import { describeStorageContract, readAll, topic } from "./storage-contract.js";

const directory = temporaryDirectories("file-storage");

// fsync "always" is the strictest path (data readable only once synced); a small index
// interval makes the tests' small segments use their indexes.
describeStorageContract("file", (options) =>
  openFileStorage({ dataDir: directory(), fsync: "always", indexIntervalBytes: 150, ...options }),
);

describe("file storage on disk", () => {
  it("lays segments out as Kafka does, holding the batches exactly as produced with offsets patched", async () => {
    const dataDir = directory();
    const storage = await openFileStorage({ dataDir, fsync: "never", segmentBytes: 250 });
    await storage.createTopic(topic("events", 2));
    const batches = Array.from({ length: 5 }, (_, i) => makeBatch({ records: 2, bodyBytes: 39, tag: `f${i}` }));
    for (const batch of batches) await storage.partition("events", 1)!.append(batch);
    await storage.close();

    assert.deepEqual(readdirSync(dataDir).sort(), [CLEAN_SHUTDOWN_MARKER, "events-0", "events-1", "topics.meta"]);
    const partitionDir = join(dataDir, "events-1");
    assert.deepEqual(readdirSync(partitionDir).sort(), [
      "00000000000000000000.index",
      "00000000000000000000.log",
      "00000000000000000000.timeindex",
      "00000000000000000004.index",
      "00000000000000000004.log",
      "00000000000000000004.timeindex",
      "00000000000000000008.index",
      "00000000000000000008.log",
      "00000000000000000008.timeindex",
    ]);
    const logBytes = ["00000000000000000000", "00000000000000000004", "00000000000000000008"].map((stem) =>
      readFileSync(join(partitionDir, `${stem}.log`)),
    );
    assert.deepEqual(Buffer.concat(logBytes), Buffer.concat(batches));
    assert.deepEqual(
      parseBatches(logBytes[1]!).map((b) => [b.baseOffset, b.partitionLeaderEpoch, b.crcValid]),
      [
        [4, 0, true],
        [6, 0, true],
      ],
    );
  });

  it("keeps topics, data, offsets, log start offset and timestamps across a restart", async () => {
    const dataDir = directory();
    const options = { dataDir, fsync: "always" as const, segmentBytes: 250, indexIntervalBytes: 150 };
    let storage = await openFileStorage(options);
    await storage.createTopic(topic("events", 3, { "retention.ms": "60000" }));
    await storage.createTopic(topic("other"));
    const log = storage.partition("events", 2)!;
    for (let i = 0; i < 9; i++) await log.append(makeBatch({ records: 3, bodyBytes: 39, maxTimestamp: 100 * (i + 1) }));
    await log.deleteRecordsBefore(10);
    const before = {
      logStartOffset: log.logStartOffset,
      logEndOffset: log.logEndOffset,
      segmentCount: log.segmentCount,
      sizeBytes: log.sizeBytes,
      maxTimestamp: log.maxTimestampEntry(),
      byTime: await log.offsetForTimestamp(450),
      data: Buffer.concat(await readAll(log)),
    };
    await storage.close();

    const { logger, lines } = capturingLogger();
    storage = await openFileStorage({ ...options, logger });
    assert.deepEqual(lines, [], "a clean restart recovers nothing");
    assert.deepEqual(
      (await storage.loadTopics()).sort((a, b) => a.name.localeCompare(b.name)),
      [topic("events", 3, { "retention.ms": "60000" }), topic("other")],
    );
    const reopened = storage.partition("events", 2)!;
    assert.deepEqual(
      {
        logStartOffset: reopened.logStartOffset,
        logEndOffset: reopened.logEndOffset,
        segmentCount: reopened.segmentCount,
        sizeBytes: reopened.sizeBytes,
        maxTimestamp: reopened.maxTimestampEntry(),
        byTime: await reopened.offsetForTimestamp(450),
        data: Buffer.concat(await readAll(reopened)),
      },
      before,
    );
    assert.deepEqual(before.byTime, { offset: 12, timestamp: 500 });
    assert.equal(reopened.highWatermark, 27);
    assert.equal((await reopened.append(makeBatch())).baseOffset, 27);
    assert.equal(storage.partition("events", 0)!.logEndOffset, 0);
    await storage.close();
  });

  it("removes a deleted topic's directories", async () => {
    const dataDir = directory();
    const storage = await openFileStorage({ dataDir, fsync: "never" });
    await storage.createTopic(topic("doomed", 2));
    await storage.partition("doomed", 0)!.append(makeBatch());
    await storage.deleteTopic("doomed");
    assert.deepEqual(readdirSync(dataDir), ["topics.meta"]);
    await storage.close();
  });

  it("reports stray directories at startup and clears one when a topic of that name is created", async () => {
    const dataDir = directory();
    let storage = await openFileStorage({ dataDir, fsync: "never" });
    await storage.createTopic(topic("kept"));
    await storage.partition("kept", 0)!.append(makeBatch());
    await storage.close();
    // What a crash between forgetting a topic and removing its directory leaves.
    writeFileSync(join(dataDir, "topics.meta"), encodeTopics([]));
    const { logger, lines } = capturingLogger();
    storage = await openFileStorage({ dataDir, fsync: "never", logger });
    assert.deepEqual(
      lines.map((line) => [line.msg, line.path]),
      [["data directory entry belongs to no topic", join(dataDir, "kept-0")]],
    );
    await storage.createTopic(topic("kept"));
    assert.equal(storage.partition("kept", 0)!.logEndOffset, 0);
    await storage.close();
  });

  it("lets a read finish on a segment that retention deletes meanwhile", async () => {
    const storage = await openFileStorage({ dataDir: directory(), fsync: "never", segmentBytes: 250 });
    await storage.createTopic(topic("events"));
    const log = storage.partition("events", 0)!;
    for (let i = 0; i < 5; i++) await log.append(makeBatch({ bodyBytes: 39, tag: `r${i}` }));
    const reading = log.read(0, 1000);
    assert.equal(await log.applyRetention(Date.now(), { retentionMs: -1, retentionBytes: 0 }), 2);
    const result = await reading;
    assert.ok(!result.outOfRange);
    assert.deepEqual(
      parseBatches(result.records).map((b) => b.tag),
      ["r0", "r1"],
    );
    assert.equal((await log.read(0, 1000)).outOfRange, true);
    await storage.close();
  });

  it("writes a segment's index entries when it rolls, not at each append", async () => {
    const dataDir = directory();
    const storage = await openFileStorage({ dataDir, fsync: "never", segmentBytes: 250, indexIntervalBytes: 0 });
    await storage.createTopic(topic("events"));
    const log = storage.partition("events", 0)!;
    const size = (stem: string, extension: string) => statSync(join(dataDir, "events-0", `${stem}.${extension}`)).size;
    for (let i = 0; i < 2; i++) await log.append(makeBatch({ bodyBytes: 39 })); // 100 bytes each
    assert.deepEqual([size("00000000000000000000", "index"), size("00000000000000000000", "timeindex")], [0, 0]);
    await log.append(makeBatch({ bodyBytes: 39 })); // past 250 bytes: a new segment
    assert.equal(log.segmentCount, 2);
    // One offset entry per batch (interval 0); one time entry, as every batch has the same timestamp.
    assert.deepEqual([size("00000000000000000000", "index"), size("00000000000000000000", "timeindex")], [2 * 8, 12]);
    assert.deepEqual([size("00000000000000000002", "index"), size("00000000000000000002", "timeindex")], [0, 0]);
    await storage.close();
    assert.deepEqual([size("00000000000000000002", "index"), size("00000000000000000002", "timeindex")], [8, 12]);
  });

  it("does not read a first batch that firstBatchMaxBytes turns away", async () => {
    const lent: number[] = [];
    const readBuffers = new (class extends ReadBuffers {
      override lend(length: number): Buffer {
        lent.push(length);
        return super.lend(length);
      }
    })(1024 * 1024, 64 * 1024, 4);
    const storage = await openFileStorage({ dataDir: directory(), fsync: "never", readBuffers });
    await storage.createTopic(topic("events"));
    const log = storage.partition("events", 0)!;
    // Larger than the window the offset lookup reads, so returning it takes a read of its own.
    const batch = makeBatch({ bodyBytes: 100_000, tag: "large" });
    await log.append(batch);
    const turnedAway = await log.read(0, 1000, batch.length - 1);
    assert.ok(!turnedAway.outOfRange);
    assert.deepEqual(turnedAway.records, []);
    assert.deepEqual(lent, [], "no read of the batch");
    const read = await log.read(0, 1000, batch.length);
    assert.ok(!read.outOfRange);
    assert.deepEqual(
      parseBatches(read.records).map((b) => b.tag),
      ["large"],
    );
    assert.deepEqual(lent, [batch.length]);
    await storage.close();
  });

  it('with fsync "never" makes no sync until close, which syncs the active segment\'s three files', async () => {
    const storage = await openFileStorage({ dataDir: directory(), fsync: "never" });
    await storage.createTopic(topic("events"));
    for (let i = 0; i < 10; i++) await storage.partition("events", 0)!.append(makeBatch());
    assert.equal(storage.fsyncCount, 0);
    await storage.close();
    assert.equal(storage.fsyncCount, 3);
  });
});
