import { existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { type Logger, pino } from "pino";
import { takeCleanShutdownMarker, writeCleanShutdownMarker } from "./clean-shutdown.js";
import { Durability, type FsyncPolicy } from "./durability.js";
import { FilePartitionLog, type PartitionContext } from "./file-partition-log.js";
import { type OpenFile, openRandomAccessFile } from "./random-access-file.js";
import type { ReadBuffers } from "./read-buffers.js";
import { defaultSegmentConfig, type SegmentConfig, segmentConfigFor } from "./segment-policy.js";
import { SerialQueue } from "./serial-queue.js";
import type { PartitionLog, Storage, StorageOptions, TopicMetadata } from "./storage.js";
import { ioError, StorageError } from "./storage-error.js";
import { checkTopic, readTopicsFile, TOPICS_FILE, writeTopicsFile } from "./topic-store.js";

export interface FileStorageOptions extends StorageOptions {
  /** The data directory (--data); created if missing. */
  dataDir: string;
  fsync: FsyncPolicy;
  /** Bytes of log between two offset index entries (Kafka's index.interval.bytes). */
  indexIntervalBytes?: number;
  /** Opens segment and index files; tests replace it to inject disk failures. */
  openFile?: OpenFile;
  /**
   * Lends the buffers of log reads; whoever serves them must give each back once written (the
   * broker's server does). Without it every read gets a new buffer.
   */
  readBuffers?: ReadBuffers;
}

const DEFAULT_INDEX_INTERVAL_BYTES = 4096;
const PARTITION_DIRECTORY = /^[a-zA-Z0-9._-]+-\d+$/;

/**
 * Opens the file engine on a data directory laid out as:
 *
 *   topics.meta                    every topic's metadata (topic-store.ts)
 *   .brook-clean-shutdown          present only between a clean close and the next open (clean-shutdown.ts)
 *   <topic>-<partition>/           one directory per partition
 *     00000000000000000000.log     segments named by base offset (segment-files.ts)
 *     00000000000000000000.index
 *     00000000000000000000.timeindex
 *     log-start-offset             set once DeleteRecords or retention moved it
 *
 * Every partition is recovered before this resolves (segment-recovery.ts); after a clean
 * shutdown, active segments are trusted rather than checked. A corrupt topics.meta is refused
 * with a StorageError naming the file and the damage.
 */
export async function openFileStorage(options: FileStorageOptions): Promise<FileStorage> {
  try {
    mkdirSync(options.dataDir, { recursive: true });
  } catch (error) {
    throw ioError(`creating the data directory ${options.dataDir} failed`, error);
  }
  const topics = await readTopicsFile(options.dataDir).catch((error: unknown) => {
    throw error instanceof StorageError ? error : ioError(`reading ${TOPICS_FILE} failed`, error);
  });
  // Consumed before the partitions load: whatever happens from here on, the next start recovers in full.
  const cleanShutdown = await takeCleanShutdownMarker(options.dataDir).catch((error: unknown) => {
    throw ioError(`removing the clean shutdown marker of ${options.dataDir} failed`, error);
  });
  return new FileStorage(options, topics, cleanShutdown);
}

export class FileStorage implements Storage {
  private readonly topics = new Map<string, TopicMetadata>();
  private readonly logs = new Map<string, FilePartitionLog[]>();
  private readonly metadataQueue = new SerialQueue();
  private readonly durability: Durability;
  private readonly defaults: SegmentConfig;
  private readonly logger: Logger;
  private readonly allocateRead: (length: number) => Buffer;
  private closed = false;
  private closing: Promise<void> | undefined;

  /** `cleanShutdown`: the last run closed the data directory cleanly, so active segments are trusted. */
  constructor(
    private readonly options: FileStorageOptions,
    topics: TopicMetadata[],
    readonly openedAfterCleanShutdown: boolean,
  ) {
    this.logger = options.logger ?? pino({ level: "silent" });
    this.durability = new Durability(options.fsync, this.logger);
    const { readBuffers } = options;
    this.allocateRead = readBuffers ? (length) => readBuffers.lend(length) : Buffer.allocUnsafe;
    this.defaults = defaultSegmentConfig(options);
    this.logger.info(
      { dataDir: options.dataDir, cleanShutdown: openedAfterCleanShutdown },
      openedAfterCleanShutdown
        ? "clean shutdown: loading active segments without checking their batches"
        : "no clean shutdown marker: checking every active segment batch by batch",
    );
    for (const topic of topics) {
      this.topics.set(topic.name, topic);
      const logs: FilePartitionLog[] = [];
      for (let partition = 0; partition < topic.partitionCount; partition++)
        logs.push(this.openPartition(topic, partition, openedAfterCleanShutdown));
      this.logs.set(topic.name, logs);
    }
    this.reportStrayDirectories();
  }

  /** fsync and fdatasync calls made so far. */
  get fsyncCount(): number {
    return this.durability.fsyncCount;
  }

  async loadTopics(): Promise<TopicMetadata[]> {
    return [...this.topics.values()].map((topic) => ({ ...topic, configs: { ...topic.configs } }));
  }

  createTopic(topic: TopicMetadata): Promise<void> {
    return this.metadataQueue.run(async () => {
      this.checkOpen();
      checkTopic(topic);
      if (this.topics.has(topic.name)) {
        throw new StorageError("TOPIC_ALREADY_EXISTS", `topic ${topic.name} already exists`);
      }
      const stored = { ...topic, configs: { ...topic.configs } };
      const logs = await this.createPartitions(stored, 0);
      await this.persist([...this.topics.values(), stored], () => this.discard(topic.name, logs));
      this.topics.set(topic.name, stored);
      this.logs.set(topic.name, logs);
    });
  }

  /** Forgets the topic first and removes its directories after, so a crash leaves at worst stray directories. */
  deleteTopic(name: string): Promise<void> {
    return this.metadataQueue.run(async () => {
      this.checkOpen();
      this.topicNamed(name);
      await this.persist([...this.topics.values()].filter((topic) => topic.name !== name));
      const logs = this.logs.get(name)!;
      this.topics.delete(name);
      this.logs.delete(name);
      await this.discard(name, logs);
    });
  }

  addPartitions(name: string, partitionCount: number): Promise<void> {
    return this.metadataQueue.run(async () => {
      this.checkOpen();
      const topic = this.topicNamed(name);
      if (!Number.isSafeInteger(partitionCount) || partitionCount <= topic.partitionCount) {
        throw new StorageError(
          "INVALID_PARTITIONS",
          `topic ${name} has ${topic.partitionCount} partitions; cannot change that to ${partitionCount}`,
        );
      }
      const grown = { ...topic, partitionCount };
      const added = await this.createPartitions(grown, topic.partitionCount);
      const others = [...this.topics.values()].filter((other) => other.name !== name);
      await this.persist([...others, grown], () => this.discard(name, added));
      this.topics.set(name, grown);
      this.logs.get(name)!.push(...added);
    });
  }

  setTopicConfig(name: string, configs: Record<string, string>): Promise<void> {
    return this.metadataQueue.run(async () => {
      this.checkOpen();
      const changed = { ...this.topicNamed(name), configs: { ...configs } };
      checkTopic(changed);
      await this.persist([...this.topics.values()].map((topic) => (topic.name === name ? changed : topic)));
      this.topics.set(name, changed);
      const segmentConfig = segmentConfigFor(changed.configs, this.defaults);
      for (const log of this.logs.get(name)!) log.segmentConfig = segmentConfig;
    });
  }

  partition(topic: string, index: number): PartitionLog | undefined {
    return this.logs.get(topic)?.[index];
  }

  flush(): Promise<void> {
    return this.durability.flush();
  }

  /**
   * Closes every partition log; if all closed without error and none is offline, writes the
   * clean-shutdown marker, so that the next start trusts the files instead of checking them.
   */
  close(): Promise<void> {
    this.closing ??= this.closeAll();
    return this.closing;
  }

  private async closeAll(): Promise<void> {
    await this.metadataQueue.run(async () => {
      this.closed = true;
    });
    const logs = [...this.logs.values()].flat();
    const results = await Promise.allSettled(logs.map((log) => log.close()));
    this.durability.close();
    const failed = results.find((result) => result.status === "rejected");
    if (failed) throw failed.reason;
    if (logs.some((log) => log.offline)) return;
    try {
      await writeCleanShutdownMarker(this.options.dataDir);
    } catch (error) {
      throw ioError(`writing the clean shutdown marker of ${this.options.dataDir} failed`, error);
    }
  }

  private openPartition(topic: TopicMetadata, partition: number, cleanShutdown: boolean): FilePartitionLog {
    const context = this.partitionContext(topic.name, partition);
    const config = segmentConfigFor(topic.configs, this.defaults);
    try {
      return FilePartitionLog.open(topic.name, partition, context, config, cleanShutdown);
    } catch (error) {
      throw ioError(`opening partition ${topic.name}-${partition} failed`, error);
    }
  }

  /**
   * Creates partitions `from`.. of a new or growing topic. A directory already there was left by
   * a deleted topic of the same name (see reportStrayDirectories) and must not become its data.
   */
  private async createPartitions(topic: TopicMetadata, from: number): Promise<FilePartitionLog[]> {
    const logs: FilePartitionLog[] = [];
    try {
      for (let partition = from; partition < topic.partitionCount; partition++) {
        const directory = this.partitionDirectory(topic.name, partition);
        if (existsSync(directory)) {
          this.logger.warn({ directory }, "removing the stray directory of an earlier topic");
          rmSync(directory, { recursive: true, force: true });
        }
        logs.push(this.openPartition(topic, partition, false));
        // The new segment files' directory entries; the topics file write then syncs the data directory.
        await this.durability.syncDirectory(directory);
      }
    } catch (error) {
      await this.discard(topic.name, logs);
      throw error instanceof StorageError ? error : ioError(`creating partitions of ${topic.name} failed`, error);
    }
    return logs;
  }

  private partitionContext(topic: string, partition: number): PartitionContext {
    return {
      directory: this.partitionDirectory(topic, partition),
      durability: this.durability,
      openFile: this.options.openFile ?? openRandomAccessFile,
      indexIntervalBytes: this.options.indexIntervalBytes ?? DEFAULT_INDEX_INTERVAL_BYTES,
      logger: this.logger.child({ topic, partition }),
      allocateRead: this.allocateRead,
      clock: this.options.clock ?? Date.now,
    };
  }

  private partitionDirectory(topic: string, partition: number): string {
    return join(this.options.dataDir, `${topic}-${partition}`);
  }

  /** Writes the topics file; if that fails, runs `undo` and reports the failure. */
  private async persist(topics: TopicMetadata[], undo?: () => Promise<void>): Promise<void> {
    try {
      await writeTopicsFile(this.options.dataDir, topics);
    } catch (error) {
      await undo?.();
      throw ioError(`writing ${TOPICS_FILE} failed`, error);
    }
  }

  /** Closes partition logs that no topic owns (any more) and removes their directories. */
  private async discard(topic: string, logs: FilePartitionLog[]): Promise<void> {
    await Promise.allSettled(logs.map((log) => log.close()));
    await Promise.all(
      logs.map((log) => rm(this.partitionDirectory(topic, log.partition), { recursive: true, force: true })),
    );
  }

  private topicNamed(name: string): TopicMetadata {
    const topic = this.topics.get(name);
    if (!topic) throw new StorageError("UNKNOWN_TOPIC_OR_PARTITION", `topic ${name} does not exist`);
    return topic;
  }

  private checkOpen(): void {
    if (this.closed) throw new StorageError("KAFKA_STORAGE_ERROR", "the storage is closed");
  }

  /**
   * Directories that belong to no partition are what a crash left of a topic deletion (or
   * someone else's files). They are reported, not removed: only creating a topic of the same
   * name clears them, since a lost or replaced topics file must not wipe the data directory.
   */
  private reportStrayDirectories(): void {
    const known = new Set<string>([TOPICS_FILE]);
    for (const topic of this.topics.values()) {
      for (let partition = 0; partition < topic.partitionCount; partition++) known.add(`${topic.name}-${partition}`);
    }
    // Only names shaped like a partition directory: the broker keeps other state beside them
    // (meta.properties, the group log).
    for (const entry of readdirSync(this.options.dataDir)) {
      if (!known.has(entry) && PARTITION_DIRECTORY.test(entry)) {
        this.logger.warn({ path: join(this.options.dataDir, entry) }, "data directory entry belongs to no topic");
      }
    }
  }
}
