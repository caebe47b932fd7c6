import assert from "node:assert/strict";
import {
  appendFileSync,
  cpSync,
  existsSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { CLEAN_SHUTDOWN_MARKER } from "../../../src/broker/storage/clean-shutdown.js";
import { type FileStorageOptions, openFileStorage } from "../../../src/broker/storage/file-storage.js";
import type { PartitionLog } from "../../../src/broker/storage/storage.js";
import { makeBatch, parseBatches } from "./batches.js";
import { capturingLogger, temporaryDirectories } from "./file-helpers.js";
import { readAll, topic } from "./storage-contract.js";

const directory = temporaryDirectories("clean-shutdown");
const BATCHES = 26;
/** 10 batches of 100 bytes per segment: the active segment holds the last 6. */
const ACTIVE_SEGMENT = "00000000000000000040";
/** Timestamps near now, so that segment.ms does not roll the active segment at the next append. */
const T0 = Date.now();

/**
 * Writes 26 100-byte batches of 2 records to events-0 and closes cleanly. Max timestamps are
 * T0 plus a permutation of 100…2600, so the max of a segment is not that of its last batch; with an index
 * entry every 150 bytes, the active segment has entries at its 3rd and 5th batches and a tail of
 * one batch after the last entry.
 */
async function writeCleanly(): Promise<FileStorageOptions> {
  const options = { dataDir: directory(), fsync: "never" as const, segmentBytes: 1000, indexIntervalBytes: 150 };
  const storage = await openFileStorage(options);
  await storage.createTopic(topic("events"));
  const log = storage.partition("events", 0)!;
  for (let i = 0; i < BATCHES; i++) {
    const maxTimestamp = T0 + ((i * 7) % BATCHES) * 100 + 100;
    await log.append(makeBatch({ records: 2, bodyBytes: 39, maxTimestamp, tag: `t${i}` }));
  }
  await storage.close();
  return options;
}

function markerPath(options: FileStorageOptions): string {
  return join(options.dataDir, CLEAN_SHUTDOWN_MARKER);
}

function activePath(options: FileStorageOptions, extension: string): string {
  return join(options.dataDir, "events-0", `${ACTIVE_SEGMENT}.${extension}`);
}

/** What a reader can observe of a partition log. */
async function observe(log: PartitionLog) {
  const timestamps = [0, 1250, 2550, 2600, 2601].map((delta) => T0 + delta);
  return {
    logStartOffset: log.logStartOffset,
    logEndOffset: log.logEndOffset,
    highWatermark: log.highWatermark,
    segmentCount: log.segmentCount,
    maxTimestampEntry: log.maxTimestampEntry(),
    offsetsForTimestamps: await Promise.all(timestamps.map((timestamp) => log.offsetForTimestamp(timestamp))),
    batches: await readAll(log),
  };
}

/** A copy of the data directory without the marker: what full recovery makes of the same files. */
function copyWithoutMarker(options: FileStorageOptions): FileStorageOptions {
  const copy = { ...options, dataDir: directory() };
  cpSync(options.dataDir, copy.dataDir, { recursive: true });
  rmSync(markerPath(copy));
  return copy;
}

describe("clean shutdown", () => {
  it("reopens from the marker as full recovery would, consumes it, and indexes new appends identically", async () => {
    const options = await writeCleanly();
    assert.ok(existsSync(markerPath(options)), "a clean close leaves the marker");
    const recovered = copyWithoutMarker(options);

    const { logger, lines } = capturingLogger("info");
    const trusted = await openFileStorage({ ...options, logger });
    assert.equal(existsSync(markerPath(options)), false, "the marker is consumed before the storage is used");
    assert.ok(lines.some((line) => line.cleanShutdown === true && /without checking their batches/.test(line.msg)));
    assert.deepEqual(
      lines.filter((line) => line.level >= 40),
      [],
    );
    const full = await openFileStorage(recovered);
    const [trustedLog, fullLog] = [trusted.partition("events", 0)!, full.partition("events", 0)!];
    const observed = await observe(trustedLog);
    assert.equal(observed.logEndOffset, 2 * BATCHES);
    assert.deepEqual(observed, await observe(fullLog));

    // The resumed indexer must go on exactly as the rebuilt one: same entries for new batches.
    for (const log of [trustedLog, fullLog]) {
      for (let i = 0; i < 3; i++) {
        await log.append(makeBatch({ bodyBytes: 39, maxTimestamp: T0 + 3000 + i, tag: `n${i}` }));
      }
    }
    assert.deepEqual(await observe(trustedLog), await observe(fullLog));
    assert.equal(trustedLog.activeSegmentBaseOffset, 2 * BATCHES - 12, "the appends went to the resumed segment");
    await Promise.all([trusted.close(), full.close()]);
    for (const extension of ["log", "index", "timeindex"]) {
      assert.deepEqual(
        readFileSync(activePath(options, extension)),
        readFileSync(activePath(recovered, extension)),
        `${extension} after appends`,
      );
    }
  });

  it("trusts the active segment without reading its batches", async () => {
    const options = await writeCleanly();
    const path = activePath(options, "log");
    const bytes = readFileSync(path);
    bytes[150]! ^= 0x01; // inside the records of the active segment's second batch: a CRC full recovery checks
    writeFileSync(path, bytes);
    const { logger, lines } = capturingLogger();
    const storage = await openFileStorage({ ...options, logger });
    const log = storage.partition("events", 0)!;
    assert.deepEqual(lines, []);
    assert.equal(log.logEndOffset, 2 * BATCHES, "nothing truncated: the batches were not read");
    const active = parseBatches(await readAll(log, 40));
    assert.deepEqual(
      active.map((batch) => batch.crcValid),
      [true, false, true, true, true, true],
    );
    await storage.close();
  });

  it("recovers in full after a crash that follows a clean start", async () => {
    const options = await writeCleanly();
    const crashed = await openFileStorage(options);
    await crashed
      .partition("events", 0)!
      .append(makeBatch({ records: 2, bodyBytes: 39, maxTimestamp: T0, tag: "lost" }));
    // The process dies here: no close, so no marker. Then the disk turns out to hold a bad batch.
    const path = activePath(options, "log");
    const bytes = readFileSync(path);
    bytes[680]! ^= 0x01; // inside the records of the appended batch
    writeFileSync(path, bytes);

    const { logger, lines } = capturingLogger();
    const storage = await openFileStorage({ ...options, logger });
    const log = storage.partition("events", 0)!;
    assert.equal(lines[0]?.msg, "truncating a torn or corrupt segment tail");
    assert.equal(lines[0]?.reason, "CRC-32C mismatch");
    assert.equal(log.logEndOffset, 2 * BATCHES);
    assert.equal(statSync(path).size, 600);
    await storage.close();
  });

  const damages: [string, (options: FileStorageOptions) => void][] = [
    ["a missing offset index", (options) => rmSync(activePath(options, "index"))],
    ["a missing time index", (options) => rmSync(activePath(options, "timeindex"))],
    ["an offset index that lost its last entry", (options) => truncateSync(activePath(options, "index"), 8)],
    ["a torn tail written after the close", (options) => appendFileSync(activePath(options, "log"), Buffer.alloc(70))],
  ];
  for (const [damage, inflict] of damages) {
    it(`falls back to full recovery of the active segment on ${damage}`, async () => {
      const options = await writeCleanly();
      const original = new Map(
        ["log", "index", "timeindex"].map((extension) => [extension, readFileSync(activePath(options, extension))]),
      );
      const recovered = copyWithoutMarker(options);
      inflict(options);
      const { logger, lines } = capturingLogger();
      const storage = await openFileStorage({ ...options, logger });
      const fallback = lines.find((line) => line.msg.startsWith("active segment does not match its indexes"));
      assert.ok(fallback, "a warning says why the segment is checked in full");
      assert.equal(fallback.segment, activePath(options, "log"));
      const full = await openFileStorage(recovered);
      assert.deepEqual(await observe(storage.partition("events", 0)!), await observe(full.partition("events", 0)!));
      for (const [extension, bytes] of original) {
        assert.deepEqual(readFileSync(activePath(options, extension)), bytes, `${extension} repaired`);
      }
      await Promise.all([storage.close(), full.close()]);
    });
  }
});
