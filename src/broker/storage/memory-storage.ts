import { type Logger, pino } from "pino";
import { MemoryPartitionLog } from "./memory-partition-log.js";
import { defaultSegmentConfig, type SegmentConfig, segmentConfigFor } from "./segment-policy.js";
import type { PartitionLog, Storage, StorageOptions, TopicMetadata } from "./storage.js";
import { StorageError } from "./storage-error.js";
import { checkTopic } from "./topic-store.js";

/** The memory engine: everything is lost on close. For tests and throwaway brokers. */
export function createMemoryStorage(options: StorageOptions = {}): MemoryStorage {
  return new MemoryStorage(options);
}

export class MemoryStorage implements Storage {
  readonly openedAfterCleanShutdown = false;
  private readonly topics = new Map<string, TopicMetadata>();
  private readonly logs = new Map<string, MemoryPartitionLog[]>();
  private readonly defaults: SegmentConfig;
  private readonly clock: () => number;
  private readonly logger: Logger;
  private closed = false;

  constructor(options: StorageOptions) {
    this.defaults = defaultSegmentConfig(options);
    this.clock = options.clock ?? Date.now;
    this.logger = options.logger ?? pino({ level: "silent" });
  }

  async loadTopics(): Promise<TopicMetadata[]> {
    return [...this.topics.values()].map((topic) => ({ ...topic, configs: { ...topic.configs } }));
  }

  async createTopic(topic: TopicMetadata): Promise<void> {
    this.checkOpen();
    checkTopic(topic);
    if (this.topics.has(topic.name)) {
      throw new StorageError("TOPIC_ALREADY_EXISTS", `topic ${topic.name} already exists`);
    }
    const stored = { ...topic, configs: { ...topic.configs } };
    this.topics.set(topic.name, stored);
    this.logs.set(topic.name, this.newPartitions(stored, 0));
  }

  async deleteTopic(name: string): Promise<void> {
    this.checkOpen();
    this.topicNamed(name);
    for (const log of this.logs.get(name)!) log.close();
    this.topics.delete(name);
    this.logs.delete(name);
  }

  async addPartitions(name: string, partitionCount: number): Promise<void> {
    this.checkOpen();
    const topic = this.topicNamed(name);
    if (!Number.isSafeInteger(partitionCount) || partitionCount <= topic.partitionCount) {
      throw new StorageError(
        "INVALID_PARTITIONS",
        `topic ${name} has ${topic.partitionCount} partitions; cannot change that to ${partitionCount}`,
      );
    }
    const grown = { ...topic, partitionCount };
    this.logs.get(name)!.push(...this.newPartitions(grown, topic.partitionCount));
    this.topics.set(name, grown);
  }

  async setTopicConfig(name: string, configs: Record<string, string>): Promise<void> {
    this.checkOpen();
    const changed = { ...this.topicNamed(name), configs: { ...configs } };
    checkTopic(changed);
    this.topics.set(name, changed);
    const segmentConfig = segmentConfigFor(changed.configs, this.defaults);
    for (const log of this.logs.get(name)!) log.segmentConfig = segmentConfig;
  }

  partition(topic: string, index: number): PartitionLog | undefined {
    return this.logs.get(topic)?.[index];
  }

  async flush(): Promise<void> {}

  async close(): Promise<void> {
    this.closed = true;
    for (const log of [...this.logs.values()].flat()) log.close();
  }

  private newPartitions(topic: TopicMetadata, from: number): MemoryPartitionLog[] {
    const config = segmentConfigFor(topic.configs, this.defaults);
    const logs: MemoryPartitionLog[] = [];
    for (let partition = from; partition < topic.partitionCount; partition++) {
      logs.push(new MemoryPartitionLog(topic.name, partition, config, this.clock, this.logger));
    }
    return logs;
  }

  private topicNamed(name: string): TopicMetadata {
    const topic = this.topics.get(name);
    if (!topic) throw new StorageError("UNKNOWN_TOPIC_OR_PARTITION", `topic ${name} does not exist`);
    return topic;
  }

  private checkOpen(): void {
    if (this.closed) throw new StorageError("KAFKA_STORAGE_ERROR", "the storage is closed");
  }
}
