import {
  closeSync,
  existsSync,
  fsync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import type { Logger } from "../../logger.js";
import { decodeGroupLog, encodeGroupLogEntry, GroupLogFormatError } from "./group-log-format.js";
import type { GroupRecord } from "./group-records.js";

/**
 * When appended records reach the disk itself rather than the page cache:
 * - "always": every append's promise settles after an fsync that covers it (appends that
 *   arrive while one fsync runs share the next one);
 * - `{ intervalMs }`: a timer fsyncs whatever was appended since the last one;
 * - "never": the operating system decides.
 * Appends are written to the file before append returns, so a killed process (as opposed
 * to a lost machine) loses nothing under any policy.
 */
export type FsyncPolicy = "always" | "never" | { readonly intervalMs: number };

const LOG_FILE = "groups.log";
const REWRITE_FILE = "groups.log.rewrite";

interface Waiter {
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * The group log on disk: replayed once when opened (cutting off a torn tail), then appended
 * to, and now and then replaced whole by a snapshot (write a new file, fsync it, rename it
 * over the old one), so the file never needs to be edited in place.
 */
export class GroupLogFile {
  private size: number;
  /** Appended since the last fsync started (for the interval policy). */
  private dirty = false;
  /** Appends waiting for an fsync that has not started yet. */
  private waiting: Waiter[] = [];
  /** The appends the running fsync covers, and the file it syncs. */
  private syncing: Waiter[] | null = null;
  private syncingFd: number | null = null;
  private readonly idle: Array<() => void> = [];
  /**
   * Set when an fsync failed. The log then refuses writes until a restart replays it: pages
   * the kernel could not write may be gone, and a later fsync would not say so.
   */
  private failure: Error | null = null;
  private readonly interval: NodeJS.Timeout | null = null;

  private constructor(
    private readonly dir: string,
    private fd: number,
    size: number,
    private readonly policy: FsyncPolicy,
    private readonly logger: Logger,
  ) {
    this.size = size;
    if (typeof policy === "object") {
      this.interval = setInterval(() => {
        if (this.dirty && this.syncing === null) this.startSync();
      }, policy.intervalMs);
      this.interval.unref();
    }
  }

  /**
   * Opens (or creates) the log in `dir` and reads it back. A damaged tail is truncated with a
   * warning; an intact log this version cannot read throws GroupLogFormatError.
   */
  static open(dir: string, policy: FsyncPolicy, logger: Logger): { log: GroupLogFile; records: GroupRecord[] } {
    mkdirSync(dir, { recursive: true });
    // A rewrite that did not reach its rename: the log it was to replace is still whole.
    rmSync(join(dir, REWRITE_FILE), { force: true });
    const path = join(dir, LOG_FILE);
    const created = !existsSync(path);
    const fd = openSync(path, created ? "w+" : "r+");
    try {
      if (created) fsyncDirectory(dir);
      const contents = decodeGroupLog(readFileSync(fd));
      if (contents.damage !== null) {
        logger.warn(
          { path, validBytes: contents.validLength, damage: contents.damage },
          "group log has a damaged tail (an interrupted write); truncating it",
        );
        ftruncateSync(fd, contents.validLength);
        fsyncSync(fd);
      }
      return { log: new GroupLogFile(dir, fd, contents.validLength, policy, logger), records: contents.records };
    } catch (error) {
      closeSync(fd);
      if (error instanceof GroupLogFormatError) error.message = `${path}: ${error.message}`;
      throw error;
    }
  }

  /** Bytes in the log. */
  get byteLength(): number {
    return this.size;
  }

  /**
   * Writes the records as one entry. Throws if the write fails (the log is left as it was);
   * the returned promise settles when the entry is as durable as the fsync policy promises.
   */
  append(records: readonly GroupRecord[]): Promise<void> {
    if (this.failure) throw this.failure;
    const entry = encodeGroupLogEntry(records);
    try {
      writeFully(this.fd, entry, this.size);
    } catch (error) {
      // Cut off whatever part did reach the file, or the next append would follow a torn entry.
      ftruncateSync(this.fd, this.size);
      throw error;
    }
    this.size += entry.length;
    this.dirty = true;
    if (this.policy !== "always") return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      if (this.syncing === null) this.startSync();
    });
  }

  /**
   * Replaces the log with the given entries (a snapshot of the live state). Synchronous, so no
   * append can fall between the snapshot and the switch. Everything appended before is then
   * durable in the new file, so appends waiting for an fsync are released.
   */
  rewrite(entries: readonly Buffer[]): void {
    const rewritePath = join(this.dir, REWRITE_FILE);
    const fd = openSync(rewritePath, "w+");
    let size = 0;
    try {
      for (const entry of entries) {
        writeFully(fd, entry, size);
        size += entry.length;
      }
      fsyncSync(fd);
      renameSync(rewritePath, join(this.dir, LOG_FILE));
    } catch (error) {
      closeSync(fd);
      rmSync(rewritePath, { force: true });
      throw error;
    }
    fsyncDirectory(this.dir);
    const previous = this.fd;
    this.fd = fd;
    this.size = size;
    this.dirty = false;
    for (const waiter of this.waiting.splice(0)) waiter.resolve();
    for (const waiter of this.syncing ?? []) waiter.resolve();
    // A running fsync closes its file when it returns.
    if (previous !== this.syncingFd) closeSync(previous);
  }

  /** Waits for a running fsync, syncs what is left (unless the policy is "never") and closes. */
  async close(): Promise<void> {
    if (this.interval) clearInterval(this.interval);
    if (this.syncing !== null) await new Promise<void>((resolve) => this.idle.push(resolve));
    try {
      if (this.policy !== "never" && this.dirty) fsyncSync(this.fd);
      for (const waiter of this.waiting.splice(0)) waiter.resolve();
    } finally {
      closeSync(this.fd);
    }
  }

  private startSync(): void {
    const fd = this.fd;
    const covered = this.waiting;
    this.waiting = [];
    this.syncing = covered;
    this.syncingFd = fd;
    this.dirty = false;
    fsync(fd, (error) => {
      this.syncing = null;
      this.syncingFd = null;
      if (fd !== this.fd) {
        // A rewrite replaced this file meanwhile and already released these appends.
        closeSync(fd);
      } else if (error) {
        this.logger.error({ err: error }, "fsync of the group log failed; it takes no more writes until restart");
        this.failure = error;
        for (const waiter of [...covered, ...this.waiting.splice(0)]) waiter.reject(error);
      } else {
        for (const waiter of covered) waiter.resolve();
      }
      if (this.waiting.length > 0) this.startSync();
      else for (const wake of this.idle.splice(0)) wake();
    });
  }
}

function writeFully(fd: number, data: Buffer, position: number): void {
  let written = 0;
  while (written < data.length) {
    written += writeSync(fd, data, written, data.length - written, position + written);
  }
}

/** Makes a created or renamed file's directory entry durable. */
function fsyncDirectory(dir: string): void {
  let fd: number;
  try {
    fd = openSync(dir, "r");
  } catch {
    return; // Some platforms cannot open a directory; there the rename is as durable as it gets.
  }
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
