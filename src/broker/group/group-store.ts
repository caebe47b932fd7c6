import type { GroupRecord } from "./group-records.js";
import { StoredGroups } from "./stored-groups.js";

/**
 * Where the coordinator keeps committed offsets and group snapshots. `state` is what the
 * records written so far add up to; the coordinator reads offsets from it.
 */
export interface GroupStore {
  readonly state: StoredGroups;
  /** Loads what was saved before; called once, before anything else. */
  open(): Promise<void>;
  /**
   * Applies the records to `state` at once and saves them as one unit. The promise settles
   * when they are as durable as the store promises; it rejects if they could not be written,
   * and then they were not applied.
   */
  write(records: readonly GroupRecord[]): Promise<void>;
  close(): Promise<void>;
}

/**
 * A store that keeps everything in memory: for tests, and for brokers that need no
 * durability. Opening it again after closing finds what was written before, the way a
 * file store does after a restart.
 */
export class MemoryGroupStore implements GroupStore {
  readonly state = new StoredGroups();

  async open(): Promise<void> {}

  write(records: readonly GroupRecord[]): Promise<void> {
    for (const record of records) this.state.apply(record);
    return Promise.resolve();
  }

  async close(): Promise<void> {}
}
