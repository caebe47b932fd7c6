import type { Logger } from "pino";
import { type RandomAccessFile, syncDirectory } from "./random-access-file.js";
import { ioError } from "./storage-error.js";

/**
 * When appended data reaches the disk:
 * - "always": an append resolves only after an fdatasync of its segment. Appends that arrive
 *   while a sync runs share the next one (group commit), so the cost is one sync per disk
 *   round trip, not one per append.
 * - { intervalMs }: appends resolve once written to the page cache; a timer syncs every
 *   segment written since the last tick. A crash loses at most that window.
 * - "never": the operating system decides (Kafka's default); flush() and close() still sync.
 */
export type FsyncPolicy = "always" | "never" | { intervalMs: number };

/** A file whose writes the policy makes durable (a segment's log file). */
export interface DurableFile {
  /** fdatasync, shared with concurrent callers through a GroupSync. */
  sync(): Promise<void>;
  /** A sync nobody awaited failed: the owner can no longer trust what it acknowledged. */
  syncFailed(error: unknown): void;
}

interface Round {
  promise: Promise<void>;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit for one file. A caller of `sync()` has finished its write, so it needs an
 * fdatasync that starts after the call: if none is running it starts one; if one is already
 * running (it may have started before the write) the caller waits for the next, which then
 * covers every caller that arrived meanwhile.
 */
export class GroupSync {
  private running = false;
  private next: Round | undefined;

  constructor(private readonly datasync: () => Promise<void>) {}

  sync(): Promise<void> {
    this.next ??= newRound();
    const { promise } = this.next;
    if (!this.running) this.startRound();
    return promise;
  }

  private startRound(): void {
    const round = this.next!;
    this.next = undefined;
    this.running = true;
    new Promise<void>((resolve) => resolve(this.datasync())).then(round.resolve, round.reject).finally(() => {
      this.running = false;
      if (this.next) this.startRound();
    });
  }
}

function newRound(): Round {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Applies one FsyncPolicy to every file of a storage, and counts the syncs it makes. */
export class Durability {
  private syncs = 0;
  private readonly dirty = new Set<DurableFile>();
  private readonly timer: NodeJS.Timeout | undefined;
  private backgroundFlush: Promise<void> | undefined;

  constructor(
    readonly policy: FsyncPolicy,
    private readonly logger: Logger,
  ) {
    if (typeof policy === "object") {
      this.timer = setInterval(() => this.flushInBackground(), policy.intervalMs);
      this.timer.unref();
    }
  }

  /** fdatasync and fsync calls made so far (tests check that group commit shares them). */
  get fsyncCount(): number {
    return this.syncs;
  }

  /** Whether rolled segments and new directory entries are synced (all policies but "never"). */
  get syncsMetadata(): boolean {
    return this.policy !== "never";
  }

  /** One counted fdatasync of `file`. */
  datasync(file: RandomAccessFile): Promise<void> {
    this.syncs++;
    return file.datasync();
  }

  /** Makes a new or removed directory entry durable, unless the policy is "never". */
  async syncDirectory(path: string): Promise<void> {
    if (!this.syncsMetadata) return;
    this.syncs++;
    await syncDirectory(path);
  }

  /**
   * Called after bytes were written to `file`. Returns the promise to await before
   * acknowledging them ("always"), or undefined when they may be acknowledged at once.
   */
  written(file: DurableFile): Promise<void> | undefined {
    if (this.policy === "always") return file.sync();
    this.dirty.add(file);
    return undefined;
  }

  /** Stops tracking a file that is being closed or deleted. */
  forget(file: DurableFile): void {
    this.dirty.delete(file);
  }

  /** Syncs `file` if it has writes the policy left unsynced, and stops tracking it. */
  async release(file: DurableFile): Promise<void> {
    if (this.dirty.delete(file)) await file.sync();
  }

  /** Syncs every file written since its last sync; a failure is reported to its owner and rethrown. */
  async flush(): Promise<void> {
    const files = [...this.dirty];
    this.dirty.clear();
    const results = await Promise.allSettled(files.map((file) => file.sync()));
    let failure: unknown;
    results.forEach((result, i) => {
      if (result.status === "fulfilled") return;
      files[i]!.syncFailed(result.reason);
      failure ??= result.reason;
    });
    if (failure !== undefined) throw ioError("fsync of written segments failed", failure);
  }

  close(): void {
    clearInterval(this.timer);
  }

  private flushInBackground(): void {
    // On a disk slower than the interval, skip ticks rather than pile syncs up.
    if (this.backgroundFlush) return;
    this.backgroundFlush = this.flush()
      .catch((error: unknown) => this.logger.error({ err: error }, "periodic fsync failed"))
      .finally(() => {
        this.backgroundFlush = undefined;
      });
  }
}
