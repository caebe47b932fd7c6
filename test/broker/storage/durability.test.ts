import assert from "node:assert/strict";
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { CLEAN_SHUTDOWN_MARKER } from "../../../src/broker/storage/clean-shutdown.js";
import { openFileStorage } from "../../../src/broker/storage/file-storage.js";
import {
  type OpenFile,
  openRandomAccessFile,
  type RandomAccessFile,
} from "../../../src/broker/storage/random-access-file.js";
import { StorageError } from "../../../src/broker/storage/storage-error.js";
import { makeBatch, parseBatches } from "./batches.js";
import { capturingLogger, temporaryDirectories } from "./file-helpers.js";
import { readAll, topic } from "./storage-contract.js";

const directory = temporaryDirectories("durability");

interface Hooks {
  write?(
    path: string,
    real: RandomAccessFile["write"],
    ...args: Parameters<RandomAccessFile["write"]>
  ): Promise<number>;
  datasync?(path: string, real: () => Promise<void>): Promise<void>;
}

/** Real files, with the writes and syncs the test wants to delay or fail going through `hooks`. */
function hookedFiles(hooks: Hooks): OpenFile {
  return async (path) => {
    const file = await openRandomAccessFile(path);
    return {
      ...file,
      write: (...args) => (hooks.write ? hooks.write(path, file.write, ...args) : file.write(...args)),
      datasync: () => (hooks.datasync ? hooks.datasync(path, file.datasync) : file.datasync()),
    };
  };
}

function systemError(code: string): Error {
  return Object.assign(new Error(`${code}: simulated`), { code });
}

function isStorageError(pattern: RegExp, causeCode?: string) {
  return (error: unknown) => {
    assert.ok(error instanceof StorageError, String(error));
    assert.equal(error.code, "KAFKA_STORAGE_ERROR");
    assert.match(error.message, pattern);
    if (causeCode) assert.equal((error.cause as NodeJS.ErrnoException).code, causeCode);
    return true;
  };
}

describe('fsync "always" with group commit', () => {
  it("shares one write and one fsync among the appends that arrive while another fsync runs", async () => {
    const appends = 50;
    let firstSyncStarted!: () => void;
    const firstSyncRunning = new Promise<void>((resolve) => (firstSyncStarted = resolve));
    let releaseSync!: () => void;
    const syncGate = new Promise<void>((resolve) => (releaseSync = resolve));
    let batchesWritten = 0;
    let logWrites = 0;
    let readableWhileBlocked: number | undefined;
    const storage = await openFileStorage({
      dataDir: directory(),
      fsync: "always",
      openFile: hookedFiles({
        async write(path, real, buffers, position) {
          const written = await real(buffers, position);
          if (!path.endsWith(".log")) return written;
          logWrites++;
          batchesWritten += buffers.length;
          if (batchesWritten === appends) {
            readableWhileBlocked = storage.partition("events", 0)!.highWatermark;
            releaseSync();
          }
          return written;
        },
        async datasync(_path, real) {
          firstSyncStarted();
          await syncGate; // the first fsync lasts until every append has been written
          return real();
        },
      }),
    });
    await storage.createTopic(topic("events"));
    const log = storage.partition("events", 0)!;
    const before = storage.fsyncCount;
    const first = log.append(makeBatch());
    await firstSyncRunning;
    const others = Array.from({ length: appends - 1 }, () => log.append(makeBatch()));
    const results = await Promise.all([first, ...others]);
    assert.deepEqual(
      results.map((r) => r.baseOffset),
      results.map((_, i) => i),
    );
    assert.equal(readableWhileBlocked, 0, "nothing is readable before its fsync");
    assert.equal(storage.fsyncCount - before, 2, "one fsync for the first append, one for the 49 others");
    assert.equal(logWrites, 2, "and one write for each");
    assert.equal(log.highWatermark, appends);
    await storage.close();
  });

  it("makes far fewer fsyncs than appends on a real disk, with producers that each wait for their acks", async () => {
    const storage = await openFileStorage({ dataDir: directory(), fsync: "always" });
    await storage.createTopic(topic("events", 4));
    const before = storage.fsyncCount;
    const producers = 40;
    const appendsEach = 10;
    await Promise.all(
      Array.from({ length: producers }, async (_, producer) => {
        const log = storage.partition("events", producer % 4)!;
        for (let i = 0; i < appendsEach; i++) await log.append(makeBatch({ bodyBytes: 200 }));
      }),
    );
    const appends = producers * appendsEach;
    const fsyncs = storage.fsyncCount - before;
    assert.ok(fsyncs <= appends / 5, `${fsyncs} fsyncs for ${appends} appends`);
    for (let partition = 0; partition < 4; partition++) {
      assert.equal(storage.partition("events", partition)!.highWatermark, appends / 4);
    }
    await storage.close();
  });
});

/** Writes to files whose name ends with `suffix` fail (half written, then ENOSPC) while `failing` says so. */
function failingWrites(suffix: string, failing: () => boolean) {
  return hookedFiles({
    async write(path, real, buffers, position) {
      if (!failing() || !path.endsWith(suffix)) return real(buffers, position);
      const first = buffers[0]!;
      await real([first.subarray(0, first.length >> 1)], position); // a partial write, then the disk is full
      throw systemError("ENOSPC");
    },
  });
}

describe("disk failures", () => {
  it("a failed .log write rejects the append and leaves the log at a clean batch boundary", async () => {
    let failNextWrite = false;
    const options = {
      dataDir: directory(),
      fsync: "always" as const,
      indexIntervalBytes: 0, // every batch indexed
      openFile: failingWrites(".log", () => {
        const fail = failNextWrite;
        failNextWrite = false;
        return fail;
      }),
    };
    const storage = await openFileStorage(options);
    await storage.createTopic(topic("events"));
    const log = storage.partition("events", 0)!;
    for (let i = 0; i < 3; i++) await log.append(makeBatch({ bodyBytes: 39, tag: `ok${i}` }));
    failNextWrite = true;
    await assert.rejects(log.append(makeBatch({ bodyBytes: 39, tag: "lost" })), isStorageError(/failed/, "ENOSPC"));
    assert.equal(log.logEndOffset, 3);
    const segment = join(options.dataDir, "events-0", "00000000000000000000");
    assert.equal(statSync(`${segment}.log`).size, 300);
    assert.equal(
      statSync(`${segment}.index`).size,
      0,
      "appends index in memory; the file waits for a roll or a clean shutdown",
    );
    assert.equal((await log.append(makeBatch({ bodyBytes: 39, tag: "ok3" }))).baseOffset, 3);
    await storage.close();
    assert.equal(statSync(`${segment}.index`).size, 8 * 4, "one entry per batch, none for the lost one");

    const { logger, lines } = capturingLogger();
    const reopened = await openFileStorage({ ...options, logger });
    assert.deepEqual(lines, [], "recovery finds nothing to repair");
    assert.deepEqual(
      parseBatches(await readAll(reopened.partition("events", 0)!)).map((b) => b.tag),
      ["ok0", "ok1", "ok2", "ok3"],
    );
    await reopened.close();
  });

  it("a failed index write at shutdown leaves no clean-shutdown marker, and the next start rebuilds the index", async () => {
    let failIndexWrites = true;
    const options = {
      dataDir: directory(),
      fsync: "always" as const,
      indexIntervalBytes: 0,
      openFile: failingWrites(".index", () => failIndexWrites),
    };
    const storage = await openFileStorage(options);
    await storage.createTopic(topic("events"));
    const log = storage.partition("events", 0)!;
    for (let i = 0; i < 3; i++) await log.append(makeBatch({ bodyBytes: 39, tag: `ok${i}` }));
    await assert.rejects(storage.close(), isStorageError(/failed/, "ENOSPC"));
    assert.equal(existsSync(join(options.dataDir, CLEAN_SHUTDOWN_MARKER)), false);

    failIndexWrites = false;
    const { logger, lines } = capturingLogger("debug");
    const reopened = await openFileStorage({ ...options, logger });
    assert.deepEqual(
      lines
        .filter((line) => line.level >= 40 || /index/.test(String(line.msg)))
        .map((line) => [line.msg, String(line.index).split(".").pop()]),
      [
        ["completing index that lags the log", "index"],
        ["completing index that lags the log", "timeindex"],
      ],
      "a half-written or unwritten index is a prefix of the rebuilt one: no warning",
    );
    const segment = join(options.dataDir, "events-0", "00000000000000000000");
    assert.equal(statSync(`${segment}.index`).size, 8 * 3);
    assert.deepEqual(
      parseBatches(await readAll(reopened.partition("events", 0)!)).map((b) => b.tag),
      ["ok0", "ok1", "ok2"],
    );
    await reopened.close();
  });

  it("a failed fsync takes the partition offline, not its neighbours", async () => {
    let failSync = false;
    const { logger, lines } = capturingLogger();
    const dataDir = directory();
    const storage = await openFileStorage({
      dataDir,
      fsync: "always",
      logger,
      openFile: hookedFiles({
        async datasync(path, real) {
          if (failSync && path.includes("events-0")) throw systemError("EIO");
          return real();
        },
      }),
    });
    await storage.createTopic(topic("events", 2));
    const [broken, healthy] = [storage.partition("events", 0)!, storage.partition("events", 1)!];
    await broken.append(makeBatch({ tag: "durable" }));
    failSync = true;
    await assert.rejects(broken.append(makeBatch()), isStorageError(/offline/));
    await assert.rejects(broken.append(makeBatch()), isStorageError(/offline/));
    assert.equal(broken.highWatermark, 1);
    assert.deepEqual(
      parseBatches(await readAll(broken)).map((b) => b.tag),
      ["durable"],
    );
    assert.equal((await healthy.append(makeBatch())).baseOffset, 0);
    assert.ok(lines.some((line) => line.msg === "partition log offline"));
    await storage.close();
    assert.equal(existsSync(join(dataDir, CLEAN_SHUTDOWN_MARKER)), false, "an offline partition is no clean shutdown");
  });
});

describe("fsync on an interval", () => {
  it("acknowledges appends at once and syncs the written segments on each tick", async (t) => {
    t.mock.timers.enable({ apis: ["setInterval"] });
    const syncsInFlight = new Set<Promise<void>>();
    const storage = await openFileStorage({
      dataDir: directory(),
      fsync: { intervalMs: 1000 },
      openFile: hookedFiles({
        datasync(_path, real) {
          const sync = real();
          syncsInFlight.add(sync);
          return sync;
        },
      }),
    });
    await storage.createTopic(topic("events", 2));
    const syncsAtStart = storage.fsyncCount; // the new partition directories
    const syncs = () => storage.fsyncCount - syncsAtStart;
    const log = storage.partition("events", 0)!;
    for (let i = 0; i < 3; i++) await log.append(makeBatch());
    assert.equal(log.highWatermark, 3);
    assert.equal(syncs(), 0);
    const nextTurn = () => new Promise((resolve) => setImmediate(resolve));
    /** Fires the timer and waits until the syncs it started are done. */
    const tick = async () => {
      t.mock.timers.tick(1000);
      await nextTurn();
      await Promise.all(syncsInFlight);
      await nextTurn();
    };
    await tick();
    assert.equal(syncs(), 1, "one sync for the one partition written");
    await tick();
    assert.equal(syncs(), 1, "nothing written, nothing synced");
    await log.append(makeBatch());
    await storage.partition("events", 1)!.append(makeBatch());
    await tick();
    assert.equal(syncs(), 3);
    await storage.close();
  });
});
