import assert from "node:assert/strict";
import { appendFileSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { CLEAN_SHUTDOWN_MARKER } from "../../../src/broker/storage/clean-shutdown.js";
import { type FileStorageOptions, openFileStorage } from "../../../src/broker/storage/file-storage.js";
import type { PartitionLog } from "../../../src/broker/storage/storage.js";
import { makeBatch, parseBatches } from "./batches.js";
import { capturingLogger, temporaryDirectories } from "./file-helpers.js";
import { readAll, topic } from "./storage-contract.js";

const directory = temporaryDirectories("recovery");
const FIRST_SEGMENT = "00000000000000000000";

/**
 * Writes `count` 100-byte batches of 2 records (timestamps 100, 200, …) to events-0, and leaves
 * the files as a crash after they reached the disk would: closed, but without the clean-shutdown
 * marker, so that the next open recovers them in full.
 */
async function writeLog(count: number, options: Partial<FileStorageOptions> = {}): Promise<FileStorageOptions> {
  const full = { dataDir: directory(), fsync: "never" as const, indexIntervalBytes: 150, ...options };
  const storage = await openFileStorage(full);
  await storage.createTopic(topic("events"));
  const log = storage.partition("events", 0)!;
  for (let i = 0; i < count; i++) {
    await log.append(makeBatch({ records: 2, bodyBytes: 39, maxTimestamp: 100 * (i + 1), tag: `t${i}` }));
  }
  await storage.close();
  rmSync(join(full.dataDir, CLEAN_SHUTDOWN_MARKER));
  return full;
}

function segmentPath(options: FileStorageOptions, stem: string, extension: string): string {
  return join(options.dataDir, "events-0", `${stem}.${extension}`);
}

/** Reopens with a capturing logger, checks the log holds `batches` batches, and that it takes appends after them. */
async function reopenAndCheck(options: FileStorageOptions, batches: number) {
  const { logger, lines } = capturingLogger();
  const storage = await openFileStorage({ ...options, logger });
  const log = storage.partition("events", 0)!;
  assert.equal(log.logEndOffset, batches * 2);
  const tags = parseBatches(await readAll(log)).map((b) => b.tag);
  assert.deepEqual(
    tags,
    Array.from({ length: batches }, (_, i) => `t${i}`),
  );
  return { storage, log, lines };
}

async function appendAndReopen(storage: { close(): Promise<void> }, log: PartitionLog, options: FileStorageOptions) {
  assert.equal((await log.append(makeBatch({ records: 2, tag: "after" }))).baseOffset, log.logEndOffset - 2);
  await storage.close();
  const { logger, lines } = capturingLogger();
  const reopened = await openFileStorage({ ...options, logger });
  assert.deepEqual(lines, [], "the repaired log recovers cleanly");
  const tags = parseBatches(await readAll(reopened.partition("events", 0)!)).map((b) => b.tag);
  await reopened.close();
  return tags;
}

describe("recovery of the active segment", () => {
  it("truncates a segment cut in the middle of a batch, then appends at the right offset", async () => {
    const options = await writeLog(5);
    truncateSync(segmentPath(options, FIRST_SEGMENT, "log"), 470);
    const { storage, log, lines } = await reopenAndCheck(options, 4);
    const warning = lines.find((line) => line.msg === "truncating a torn or corrupt segment tail");
    assert.ok(warning, "a warning says what was truncated");
    assert.equal(warning.position, 400);
    assert.equal(warning.droppedBytes, 70);
    assert.match(String(warning.reason), /past the end of the file/);
    assert.equal(statSync(segmentPath(options, FIRST_SEGMENT, "log")).size, 400);
    assert.deepEqual(await appendAndReopen(storage, log, options), ["t0", "t1", "t2", "t3", "after"]);
  });

  it("truncates a last batch whose bytes no longer match its CRC", async () => {
    const options = await writeLog(5);
    const path = segmentPath(options, FIRST_SEGMENT, "log");
    const bytes = readFileSync(path);
    bytes[480]! ^= 0x01; // inside the records of the fifth batch
    writeFileSync(path, bytes);
    const { storage, log, lines } = await reopenAndCheck(options, 4);
    assert.deepEqual(
      lines.map((line) => [line.msg, line.reason]),
      [
        ["truncating a torn or corrupt segment tail", "CRC-32C mismatch"],
        ["rebuilding index", "it does not match the log"],
        ["rebuilding index", "it does not match the log"],
      ],
    );
    assert.deepEqual(await appendAndReopen(storage, log, options), ["t0", "t1", "t2", "t3", "after"]);
  });

  it("truncates a zero-filled tail, as a crash can leave after the file size was updated", async () => {
    const options = await writeLog(3);
    appendFileSync(segmentPath(options, FIRST_SEGMENT, "log"), Buffer.alloc(4096));
    const { storage, log, lines } = await reopenAndCheck(options, 3);
    assert.match(String(lines[0]?.reason), /impossible batch length/);
    assert.deepEqual(await appendAndReopen(storage, log, options), ["t0", "t1", "t2", "after"]);
  });

  it("stops at a corrupt batch in the middle, dropping the batches after it", async () => {
    const options = await writeLog(5);
    const path = segmentPath(options, FIRST_SEGMENT, "log");
    const bytes = readFileSync(path);
    bytes.writeInt8(1, 116); // magic of the second batch
    writeFileSync(path, bytes);
    const { storage, lines } = await reopenAndCheck(options, 1);
    assert.equal(lines[0]?.reason, "magic 1");
    await storage.close();
  });

  it("treats a segment emptied by a crash as an empty log at its base offset", async () => {
    const options = await writeLog(3, { segmentBytes: 250 });
    truncateSync(segmentPath(options, "00000000000000000004", "log"), 0);
    const { storage, log } = await reopenAndCheck(options, 2);
    assert.equal(log.segmentCount, 2);
    await storage.close();
  });
});

describe("index recovery", () => {
  const SEGMENTS = ["00000000000000000000", "00000000000000000020", "00000000000000000040"];

  /** 25 batches in segments of 10: lookups of every offset and every timestamp still answer right. */
  async function checkLookups(log: PartitionLog): Promise<void> {
    for (let offset = 0; offset < 50; offset++) {
      const result = await log.read(offset, 1);
      assert.ok(!result.outOfRange);
      assert.equal(parseBatches(result.records)[0]!.tag, `t${Math.floor(offset / 2)}`, `read at ${offset}`);
    }
    for (let batch = 0; batch < 25; batch++) {
      assert.deepEqual(await log.offsetForTimestamp(100 * batch + 50), {
        offset: 2 * batch,
        timestamp: 100 * (batch + 1),
      });
    }
  }

  it("rebuilds indexes that are missing, torn or point past the log, byte for byte", async () => {
    const options = await writeLog(25, { segmentBytes: 1000 });
    const path = (stem: string, extension: string) => segmentPath(options, stem, extension);
    const original = new Map(
      SEGMENTS.flatMap((stem) => ["index", "timeindex"].map((ext) => [path(stem, ext), readFileSync(path(stem, ext))])),
    );
    assert.ok(original.get(path(SEGMENTS[0]!, "index"))!.length > 0, "the test segments have index entries");
    rmSync(path(SEGMENTS[0]!, "index"));
    writeFileSync(path(SEGMENTS[0]!, "timeindex"), Buffer.alloc(0));
    truncateSync(path(SEGMENTS[1]!, "index"), 5);
    const pastTheEnd = Buffer.alloc(8);
    pastTheEnd.writeInt32BE(9, 0);
    pastTheEnd.writeInt32BE(5000, 4);
    appendFileSync(path(SEGMENTS[1]!, "index"), pastTheEnd);
    writeFileSync(path(SEGMENTS[1]!, "timeindex"), Buffer.from("garbage!garbage!"));
    rmSync(path(SEGMENTS[2]!, "index"));
    rmSync(path(SEGMENTS[2]!, "timeindex"));

    const { logger, lines } = capturingLogger();
    const storage = await openFileStorage({ ...options, logger });
    assert.equal(lines.filter((line) => line.msg === "rebuilding index").length, 6);
    for (const [file, bytes] of original) assert.deepEqual(readFileSync(file), bytes, `${file} rebuilt`);
    await checkLookups(storage.partition("events", 0)!);
    await storage.close();
  });

  it("walks from the segment start when an index entry points into the middle of a batch", async () => {
    const options = await writeLog(25, { segmentBytes: 1000 });
    const path = segmentPath(options, SEGMENTS[0]!, "index");
    const index = readFileSync(path);
    index.writeInt32BE(index.readInt32BE(4) + 1, 4); // still ordered and inside the log, so not caught at startup
    writeFileSync(path, index);
    const { logger, lines } = capturingLogger();
    const storage = await openFileStorage({ ...options, logger });
    assert.equal(lines.length, 0, "the entry looks valid at startup");
    await checkLookups(storage.partition("events", 0)!);
    assert.ok(lines.some((line) => line.msg === "index entry does not point at its batch"));
    await storage.close();
  });

  it("removes index files left without their log by an interrupted deletion", async () => {
    const options = await writeLog(3);
    const stray = segmentPath(options, "00000000000000000099", "index");
    writeFileSync(stray, Buffer.alloc(8));
    const storage = await openFileStorage(options);
    assert.throws(() => statSync(stray), { code: "ENOENT" });
    await storage.close();
  });
});

describe("log start offset recovery", () => {
  it("ignores a damaged checkpoint with a warning, starting at the first segment", async () => {
    const dataDir = directory();
    const options = { dataDir, fsync: "never" as const, segmentBytes: 250 };
    let storage = await openFileStorage(options);
    await storage.createTopic(topic("events"));
    const log = storage.partition("events", 0)!;
    for (let i = 0; i < 6; i++) await log.append(makeBatch({ bodyBytes: 39 }));
    await log.deleteRecordsBefore(3);
    await storage.close();
    const checkpoint = join(dataDir, "events-0", "log-start-offset");
    const bytes = readFileSync(checkpoint);
    bytes[bytes.length - 1]! ^= 0xff;
    writeFileSync(checkpoint, bytes);
    const { logger, lines } = capturingLogger();
    storage = await openFileStorage({ ...options, logger });
    assert.equal(lines[0]?.msg, "ignoring a damaged log start offset checkpoint");
    assert.equal(storage.partition("events", 0)!.logStartOffset, 2);
    await storage.close();
  });

  it("starts empty at the log start offset when a crash lost the records up to it", async () => {
    const dataDir = directory();
    const options = { dataDir, fsync: "never" as const };
    let storage = await openFileStorage(options);
    await storage.createTopic(topic("events"));
    for (let i = 0; i < 4; i++) await storage.partition("events", 0)!.append(makeBatch({ bodyBytes: 39 }));
    await storage.partition("events", 0)!.deleteRecordsBefore(4);
    await storage.close();
    truncateSync(join(dataDir, "events-0", `${FIRST_SEGMENT}.log`), 250); // the tail the page cache never wrote
    const { logger, lines } = capturingLogger();
    storage = await openFileStorage({ ...options, logger });
    const log = storage.partition("events", 0)!;
    assert.deepEqual([log.logStartOffset, log.logEndOffset], [4, 4]);
    assert.ok(
      lines.some((line) => line.msg === "log start offset is past the recovered log end; starting empty there"),
    );
    assert.equal((await log.append(makeBatch())).baseOffset, 4);
    await storage.close();
  });
});
