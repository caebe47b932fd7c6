import { type Logger, silentLogger } from "../../logger.js";
import { type FsyncPolicy, GroupLogFile } from "./group-log-file.js";
import { encodeGroupLogEntries } from "./group-log-format.js";
import type { GroupRecord } from "./group-records.js";
import type { GroupStore } from "./group-store.js";
import { StoredGroups } from "./stored-groups.js";

export interface FileGroupStoreOptions {
  /** The directory of the group log, e.g. `<dataDir>/__brook_groups`; created if missing. */
  readonly dir: string;
  /** Default "always": an OffsetCommit is answered once its offsets are on disk. */
  readonly fsync?: FsyncPolicy;
  readonly logger?: Logger;
  /** The log is rewritten as a snapshot once it is `ratio` times the snapshot's size... */
  readonly compactionRatio?: number;
  /** ...and at least this many bytes. */
  readonly compactionMinBytes?: number;
}

const DEFAULT_COMPACTION_RATIO = 4;
const DEFAULT_COMPACTION_MIN_BYTES = 8 * 1024 * 1024;

/**
 * A store backed by an append-only log of checksummed entries (see group-log-format.ts).
 * Every write appends one entry; when the log has grown to several times what its live
 * records take, it is replaced by a snapshot of them, so its size follows the number of
 * committed partitions, not the number of commits.
 */
export class FileGroupStore implements GroupStore {
  readonly state = new StoredGroups();
  private log: GroupLogFile | null = null;
  /** Log size at which compaction is next considered. */
  private compactionCheckAt = 0;
  private readonly ratio: number;
  private readonly minBytes: number;
  private readonly logger: Logger;

  constructor(private readonly options: FileGroupStoreOptions) {
    this.ratio = options.compactionRatio ?? DEFAULT_COMPACTION_RATIO;
    this.minBytes = options.compactionMinBytes ?? DEFAULT_COMPACTION_MIN_BYTES;
    this.logger = options.logger ?? silentLogger;
  }

  async open(): Promise<void> {
    const { log, records } = GroupLogFile.open(this.options.dir, this.options.fsync ?? "always", this.logger);
    for (const record of records) this.state.apply(record);
    this.log = log;
    this.compactionCheckAt = this.minBytes;
  }

  write(records: readonly GroupRecord[]): Promise<void> {
    if (!this.log) return Promise.reject(new Error("the group store is not open"));
    let durable: Promise<void>;
    try {
      durable = this.log.append(records);
    } catch (error) {
      return Promise.reject(error);
    }
    for (const record of records) this.state.apply(record);
    if (this.log.byteLength >= this.compactionCheckAt) this.compact(this.log);
    return durable;
  }

  async close(): Promise<void> {
    const log = this.log;
    this.log = null;
    await log?.close();
  }

  private compact(log: GroupLogFile): void {
    const entries = encodeGroupLogEntries(this.state.records());
    const liveBytes = entries.reduce((sum, entry) => sum + entry.length, 0);
    this.compactionCheckAt = Math.max(this.minBytes, liveBytes * this.ratio);
    if (log.byteLength < liveBytes * this.ratio) return;
    const before = log.byteLength;
    try {
      log.rewrite(entries);
      this.logger.info({ before, after: liveBytes }, "compacted the group log");
    } catch (error) {
      // The appended log is still whole; compaction is tried again once it has doubled.
      this.logger.error({ err: error }, "compacting the group log failed");
      this.compactionCheckAt = before * 2;
    }
  }
}
