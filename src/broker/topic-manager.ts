import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import { ErrorCode } from "../protocol/errors.js";
import type { TopicLookup } from "./broker-context.js";
import type { PartitionLog, Storage } from "./storage/storage.js";
import { type ConfigOverrides, type TopicSettings, topicSettings, validateTopicConfigs } from "./topic-config.js";

/** A topic as the broker holds it. */
export interface Topic {
  readonly name: string;
  readonly id: string;
  readonly partitions: readonly PartitionLog[];
  readonly partitionCount: number;
  readonly overrides: ConfigOverrides;
  readonly settings: TopicSettings;
}

export interface TopicResult {
  errorCode: number;
  errorMessage: string | null;
}

const OK: TopicResult = { errorCode: ErrorCode.NONE, errorMessage: null };
const failure = (errorCode: number, errorMessage: string): TopicResult => ({ errorCode, errorMessage });

const MAX_NAME_LENGTH = 249;
const LEGAL_NAME = /^[a-zA-Z0-9._-]+$/;
/** More partitions than this in one topic is a typo, not a plan, on a single broker. */
const MAX_PARTITIONS = 10_000;

/** Why a topic name is not legal in Kafka, or undefined when it is. */
export function invalidTopicName(name: string): string | undefined {
  if (name.length === 0) return "the topic name is empty";
  if (name === "." || name === "..") return `"${name}" is not a legal topic name`;
  if (name.length > MAX_NAME_LENGTH) return `the topic name is longer than ${MAX_NAME_LENGTH} characters`;
  if (!LEGAL_NAME.test(name)) return `"${name}" may only contain ASCII letters, digits, '.', '_' and '-'`;
  return undefined;
}

/**
 * The topics of the broker and their partition logs. Every change (create, delete, add
 * partitions, alter configs) is serialized through one queue so that concurrent admin
 * requests and auto-creation never interleave halfway.
 */
export class TopicManager implements TopicLookup {
  private readonly topics = new Map<string, Topic>();
  private readonly topicsById = new Map<string, Topic>();
  private changes: Promise<unknown> = Promise.resolve();
  private readonly deletionListeners: ((topic: string) => void)[] = [];

  constructor(
    private readonly storage: Storage,
    readonly brokerDefaults: ConfigOverrides,
    private readonly logger: Logger,
  ) {}

  /** Opens every persisted topic and its partition logs. */
  async load(): Promise<void> {
    for (const meta of await this.storage.loadTopics()) {
      this.install(meta.name, meta.topicId, meta.partitionCount, meta.configs);
    }
  }

  get(name: string): Topic | undefined {
    return this.topics.get(name);
  }

  byId(id: string): Topic | undefined {
    return this.topicsById.get(id);
  }

  all(): Topic[] {
    return [...this.topics.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  partitionCount(name: string): number | undefined {
    return this.topics.get(name)?.partitionCount;
  }

  partition(name: string, index: number): PartitionLog | undefined {
    return this.topics.get(name)?.partitions[index];
  }

  /** Called after a topic is deleted (the group coordinator drops its offsets). */
  onDeleted(listener: (topic: string) => void): void {
    this.deletionListeners.push(listener);
  }

  create(
    name: string,
    options: { partitions: number; configs?: Record<string, string>; validateOnly?: boolean },
  ): Promise<TopicResult> {
    return this.serialized(async () => {
      const problem = invalidTopicName(name);
      if (problem) return failure(ErrorCode.INVALID_TOPIC_EXCEPTION, problem);
      if (this.topics.has(name)) return failure(ErrorCode.TOPIC_ALREADY_EXISTS, `topic "${name}" already exists`);
      if (!Number.isInteger(options.partitions) || options.partitions <= 0 || options.partitions > MAX_PARTITIONS) {
        return failure(
          ErrorCode.INVALID_PARTITIONS,
          `the number of partitions must be between 1 and ${MAX_PARTITIONS}`,
        );
      }
      const configs = options.configs ?? {};
      const configProblem = validateTopicConfigs(configs);
      if (configProblem) return failure(ErrorCode.INVALID_CONFIG, configProblem);
      if (options.validateOnly) return OK;
      const topicId = randomUUID();
      await this.storage.createTopic({ name, topicId, partitionCount: options.partitions, configs });
      this.install(name, topicId, options.partitions, configs);
      this.logger.info({ topic: name, partitions: options.partitions }, "topic created");
      return OK;
    });
  }

  delete(name: string): Promise<TopicResult> {
    return this.serialized(async () => {
      const topic = this.topics.get(name);
      if (!topic) return failure(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic "${name}" does not exist`);
      this.topics.delete(name);
      this.topicsById.delete(topic.id);
      await this.storage.deleteTopic(name);
      this.logger.info({ topic: name }, "topic deleted");
      for (const listener of this.deletionListeners) listener(name);
      return OK;
    });
  }

  createPartitions(name: string, count: number, validateOnly: boolean): Promise<TopicResult> {
    return this.serialized(async () => {
      const topic = this.topics.get(name);
      if (!topic) return failure(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic "${name}" does not exist`);
      if (count <= topic.partitionCount) {
        return failure(
          ErrorCode.INVALID_PARTITIONS,
          `topic "${name}" has ${topic.partitionCount} partitions; the new count must be larger`,
        );
      }
      if (count > MAX_PARTITIONS) return failure(ErrorCode.INVALID_PARTITIONS, `at most ${MAX_PARTITIONS} partitions`);
      if (validateOnly) return OK;
      await this.storage.addPartitions(name, count);
      this.install(name, topic.id, count, topic.overrides);
      return OK;
    });
  }

  /** Replaces (AlterConfigs) or edits (IncrementalAlterConfigs) a topic's overrides. */
  alterConfigs(
    name: string,
    change: (current: ConfigOverrides) => Record<string, string>,
    validateOnly: boolean,
  ): Promise<TopicResult> {
    return this.serialized(async () => {
      const topic = this.topics.get(name);
      if (!topic) return failure(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic "${name}" does not exist`);
      const next = change(topic.overrides);
      const problem = validateTopicConfigs(next);
      if (problem) return failure(ErrorCode.INVALID_CONFIG, problem);
      if (validateOnly) return OK;
      await this.storage.setTopicConfig(name, next);
      this.install(name, topic.id, topic.partitionCount, next);
      return OK;
    });
  }

  /** Registers a topic with its partition logs opened, replacing an earlier entry. */
  private install(name: string, id: string, partitionCount: number, overrides: ConfigOverrides): void {
    const settings = topicSettings(overrides, this.brokerDefaults);
    const partitions: PartitionLog[] = [];
    for (let index = 0; index < partitionCount; index++) {
      const log = this.storage.partition(name, index);
      if (!log) throw new Error(`storage has no partition ${index} of topic "${name}"`);
      partitions.push(log);
    }
    const topic: Topic = { name, id, partitions, partitionCount, overrides: { ...overrides }, settings };
    this.topics.set(name, topic);
    this.topicsById.set(id, topic);
  }

  /** Applies retention to every partition; called periodically by the broker. */
  async applyRetention(now: number): Promise<void> {
    for (const topic of this.topics.values()) {
      if (!topic.settings.deleteRetention) continue;
      for (const log of topic.partitions) {
        await log.applyRetention(now, {
          retentionMs: topic.settings.retentionMs,
          retentionBytes: topic.settings.retentionBytes,
        });
      }
    }
  }

  private serialized<T>(change: () => Promise<T>): Promise<T> {
    const next = this.changes.then(change, change);
    this.changes = next.catch(() => undefined);
    return next;
  }
}
