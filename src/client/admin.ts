import { ErrorCode } from "../protocol/errors.js";
import { decodeConsumerProtocolAssignment } from "../protocol/generated/consumer-protocol-assignment.js";
import { decodeConsumerProtocolSubscription } from "../protocol/generated/consumer-protocol-subscription.js";
import { Reader } from "../protocol/reader.js";
import { Cluster } from "./cluster.js";
import { BrookError, invalidOption } from "./errors.js";
import { type CommittedOffset, commitOffsets, fetchCommittedOffsets, type OffsetToCommit } from "./group-offsets.js";
import type { BrokerInfo } from "./metadata.js";
import {
  byTopic,
  listOffsets,
  type OffsetSpec,
  type PartitionOffset,
  perPartitionRequest,
  type TopicPartition,
} from "./offsets.js";
import type { ClientOptions } from "./options.js";

export type { CommittedOffset, OffsetToCommit } from "./group-offsets.js";
export type { OffsetSpec, PartitionOffset, TopicPartition } from "./offsets.js";

export type AdminOptions = ClientOptions;

export interface NewTopic {
  topic: string;
  /** Default: the broker's num.partitions. */
  numPartitions?: number;
  /** Default: the broker's default.replication.factor. */
  replicationFactor?: number;
  /** Topic configs, e.g. { "retention.ms": "86400000" }. */
  configs?: Record<string, string>;
  /** Replica broker ids per partition, instead of numPartitions and replicationFactor. */
  replicaAssignment?: Record<number, number[]>;
}

export interface PartitionDescription {
  partition: number;
  leader: number;
  replicas: number[];
  isr: number[];
  offlineReplicas: number[];
  /** The log start offset. */
  earliestOffset: number;
  /** The high watermark: the offset the next message gets. */
  latestOffset: number;
}

export interface TopicDescription {
  name: string;
  topicId: string;
  internal: boolean;
  partitions: PartitionDescription[];
}

export type ConfigResourceType = "topic" | "broker";

export interface ConfigResource {
  type: ConfigResourceType;
  /** The topic name, or the broker's node id as a string. */
  name: string;
  /** Only these configs; default all. */
  configNames?: string[];
}

/** Where a config's value comes from (Kafka's ConfigSource). */
export type ConfigSource =
  | "UNKNOWN"
  | "DYNAMIC_TOPIC_CONFIG"
  | "DYNAMIC_BROKER_CONFIG"
  | "DYNAMIC_DEFAULT_BROKER_CONFIG"
  | "STATIC_BROKER_CONFIG"
  | "DEFAULT_CONFIG"
  | "DYNAMIC_BROKER_LOGGER_CONFIG";

const CONFIG_SOURCES: ConfigSource[] = [
  "UNKNOWN",
  "DYNAMIC_TOPIC_CONFIG",
  "DYNAMIC_BROKER_CONFIG",
  "DYNAMIC_DEFAULT_BROKER_CONFIG",
  "STATIC_BROKER_CONFIG",
  "DEFAULT_CONFIG",
  "DYNAMIC_BROKER_LOGGER_CONFIG",
];

export interface ConfigEntry {
  name: string;
  /** null for sensitive values and unset ones. */
  value: string | null;
  readOnly: boolean;
  isDefault: boolean;
  source: ConfigSource;
  sensitive: boolean;
}

export interface ConfigDescription {
  type: ConfigResourceType;
  name: string;
  configs: ConfigEntry[];
}

export interface ConfigChange {
  name: string;
  /** "set" (default) needs a value; "delete" returns the config to its default; "append"/"subtract" edit list configs. */
  operation?: "set" | "delete" | "append" | "subtract";
  value?: string | null;
}

export interface GroupListing {
  groupId: string;
  /** "consumer" for consumer groups; "" for groups that only store offsets. */
  protocolType: string;
  /** Empty, Stable, PreparingRebalance, CompletingRebalance, Dead (ListGroups v4+; "" before). */
  state: string;
  /** The node id of the group's coordinator. */
  coordinator: number;
}

export interface GroupMemberDescription {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  /** For consumer groups: the topics the member subscribes to. */
  subscribedTopics: string[] | null;
  /** For consumer groups: its assigned partitions. */
  assignment: TopicPartitions[] | null;
  /** The raw JoinGroup metadata and SyncGroup assignment. */
  metadata: Buffer;
  rawAssignment: Buffer;
}

export interface TopicPartitions {
  topic: string;
  partitions: number[];
}

export interface GroupDescription {
  groupId: string;
  /** "Dead" for a group that does not exist. */
  state: string;
  protocolType: string;
  /** The assignor for consumer groups ("range", "cooperative-sticky"...). */
  protocol: string;
  members: GroupMemberDescription[];
  coordinator: BrokerInfo;
}

export interface PartitionLag extends TopicPartition {
  /** -1 when the group has no committed offset for the partition. */
  committedOffset: number;
  latestOffset: number;
  /** latestOffset - committedOffset; null without a committed offset. */
  lag: number | null;
}

const RESOURCE_TYPES: Record<ConfigResourceType, number> = { topic: 2, broker: 4 };
const CONFIG_OPERATIONS = { set: 0, delete: 1, append: 2, subtract: 3 } as const;
const DEFAULT_OPERATION_TIMEOUT_MS = 30_000;

function checkTopicNames(names: unknown, what: string): string[] {
  if (!Array.isArray(names) || names.length === 0 || !names.every((n) => typeof n === "string" && n !== "")) {
    throw invalidOption(`${what} must be a non-empty array of topic names`);
  }
  return names;
}

function checkGroupIds(groupIds: unknown): string[] {
  if (!Array.isArray(groupIds) || !groupIds.every((g) => typeof g === "string")) {
    throw invalidOption("group ids must be an array of strings");
  }
  return groupIds;
}

function topicError(code: number, what: string, topic: string, brokerMessage?: string | null): BrookError {
  if (code === ErrorCode.TOPIC_ALREADY_EXISTS) {
    return new BrookError("TOPIC_ALREADY_EXISTS", `topic '${topic}' already exists`, { kafkaCode: code, topic });
  }
  if (code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) {
    // A controller answering this for a topic it was asked to change is sure: no retry.
    return new BrookError("BROOK_UNKNOWN_TOPIC", `topic '${topic}' does not exist`, {
      kafkaCode: code,
      topic,
      retriable: false,
    });
  }
  return BrookError.fromKafkaCode(code, `${what} '${topic}'`, { topic, brokerMessage });
}

/** Decodes a consumer-protocol payload (int16 version, then that version's struct) or null if it is not one. */
function decodeConsumerPayload<T>(
  bytes: Buffer,
  decode: (reader: Reader, version: number) => T,
  newest: number,
): T | null {
  if (bytes.length < 2) return null;
  try {
    const reader = new Reader(bytes, 2);
    // A newer version starts with the fields this one knows.
    return decode(reader, Math.min(bytes.readInt16BE(0), newest));
  } catch {
    return null;
  }
}

/**
 * Administers a Kafka cluster: topics, partitions, configs, consumer groups and their offsets,
 * records. Every method retries retriable errors within retry.timeoutMs and rejects with a
 * BrookError naming what failed.
 */
/** One log directory of one broker (DescribeLogDirs), with the partitions it holds. */
export interface LogDirDescription {
  broker: number;
  /** The directory's path on the broker. */
  path: string;
  /** Size and free space of the volume it is on, when the broker says (Kafka 3.3+, brook). */
  totalBytes: number | null;
  usableBytes: number | null;
  partitions: { topic: string; partition: number; sizeBytes: number; offsetLag: number; isFuture: boolean }[];
}

export class Admin {
  readonly cluster: Cluster;

  constructor(options: AdminOptions) {
    this.cluster = new Cluster(options);
  }

  /** Optional: every method connects on first use. */
  async connect(): Promise<void> {
    await this.cluster.connect();
  }

  async close(): Promise<void> {
    await this.cluster.close();
  }

  // ---- topics ------------------------------------------------------------------------------

  /**
   * Creates topics (CreateTopics to the controller) and, unless validateOnly, waits until
   * every new partition has a leader, so the topics can be used at once.
   */
  async createTopics(options: { topics: NewTopic[]; validateOnly?: boolean; timeoutMs?: number }): Promise<void> {
    const { topics } = options;
    if (!Array.isArray(topics) || topics.length === 0)
      throw invalidOption("createTopics needs a non-empty topics array");
    for (const t of topics) {
      if (typeof t?.topic !== "string" || t.topic === "") throw invalidOption("every new topic needs a topic name");
    }
    const timeoutMs = options.timeoutMs ?? DEFAULT_OPERATION_TIMEOUT_MS;
    await this.cluster.retry(async () => {
      const response = await this.cluster.requestController("CreateTopics", (version) => ({
        topics: topics.map((t) => ({
          name: t.topic,
          // v0–3 have no "broker default" (-1).
          numPartitions: t.replicaAssignment ? -1 : (t.numPartitions ?? (version >= 4 ? -1 : 1)),
          replicationFactor: t.replicaAssignment ? -1 : (t.replicationFactor ?? (version >= 4 ? -1 : 1)),
          assignments: Object.entries(t.replicaAssignment ?? {}).map(([partition, brokerIds]) => ({
            partitionIndex: Number(partition),
            brokerIds,
          })),
          configs: Object.entries(t.configs ?? {}).map(([name, value]) => ({ name, value })),
        })),
        timeoutMs,
        validateOnly: options.validateOnly ?? false,
      }));
      for (const result of response.topics) {
        if (result.errorCode !== ErrorCode.NONE) {
          throw topicError(result.errorCode, "create topic", result.name, result.errorMessage);
        }
      }
    });
    if (!options.validateOnly) await this.waitForLeaders(topics.map((t) => t.topic));
  }

  private async waitForLeaders(topics: string[]): Promise<void> {
    await this.cluster.retry(async () => {
      await this.cluster.refreshMetadata(topics);
      for (const name of topics) {
        const topic = this.cluster.metadata.topics.get(name);
        if (!topic || topic.partitions.length === 0 || topic.partitions.some((p) => !p || p.leader < 0)) {
          throw new BrookError("BROOK_LEADER_NOT_AVAILABLE", `topic '${name}' has partitions without a leader yet`, {
            retriable: true,
            topic: name,
          });
        }
      }
    });
  }

  /** Deletes topics (DeleteTopics to the controller). */
  async deleteTopics(options: { topics: string[]; timeoutMs?: number }): Promise<void> {
    const names = checkTopicNames(options?.topics, "deleteTopics topics");
    const timeoutMs = options.timeoutMs ?? DEFAULT_OPERATION_TIMEOUT_MS;
    await this.cluster.retry(async () => {
      const response = await this.cluster.requestController("DeleteTopics", (version) =>
        version >= 6
          ? { topics: names.map((name) => ({ name, topicId: "00000000-0000-0000-0000-000000000000" })), timeoutMs }
          : { topicNames: names, timeoutMs },
      );
      for (const result of response.responses) {
        if (result.errorCode !== ErrorCode.NONE) {
          throw topicError(result.errorCode, "delete topic", result.name ?? "?", result.errorMessage);
        }
      }
    });
    this.cluster.unwatchTopics(names);
  }

  /** The names of all topics, without internal ones (__consumer_offsets...) unless asked. */
  async listTopics(options: { includeInternal?: boolean } = {}): Promise<string[]> {
    const metadata = await this.cluster.retry(() => this.cluster.refreshMetadata(null));
    return [...metadata.topics.values()]
      .filter((t) => options.includeInternal || !t.internal)
      .map((t) => t.name)
      .sort();
  }

  /** Partitions, leaders, replicas and earliest/latest offsets of topics. */
  async describeTopics(topics: string[]): Promise<TopicDescription[]> {
    const names = checkTopicNames(topics, "describeTopics");
    await this.cluster.retry(() => this.cluster.refreshMetadata(names));
    const infos = await this.cluster.topics(names);
    const partitions = infos.flatMap((t) =>
      t.partitions.filter(Boolean).map((p) => ({ topic: t.name, partition: p.partition })),
    );
    const [earliest, latest] = await Promise.all([
      listOffsets(
        this.cluster,
        partitions.map((p) => ({ ...p, spec: "earliest" })),
      ),
      listOffsets(
        this.cluster,
        partitions.map((p) => ({ ...p, spec: "latest" })),
      ),
    ]);
    const offsetOf = (list: PartitionOffset[], topic: string, partition: number) =>
      list.find((o) => o.topic === topic && o.partition === partition)?.offset ?? -1;
    return infos.map((t) => ({
      name: t.name,
      topicId: t.topicId,
      internal: t.internal,
      partitions: t.partitions.filter(Boolean).map((p) => ({
        partition: p.partition,
        leader: p.leader,
        replicas: p.replicas,
        isr: p.isr,
        offlineReplicas: p.offlineReplicas,
        earliestOffset: offsetOf(earliest, t.name, p.partition),
        latestOffset: offsetOf(latest, t.name, p.partition),
      })),
    }));
  }

  /** Raises topics' partition counts to `count` (CreatePartitions to the controller). */
  async createPartitions(options: {
    topics: { topic: string; count: number; assignments?: number[][] }[];
    validateOnly?: boolean;
    timeoutMs?: number;
  }): Promise<void> {
    const { topics } = options;
    if (!Array.isArray(topics) || topics.length === 0)
      throw invalidOption("createPartitions needs a non-empty topics array");
    for (const t of topics) {
      if (!Number.isInteger(t?.count) || t.count < 1) {
        throw invalidOption(`createPartitions: count for topic '${t?.topic}' must be a positive integer`);
      }
    }
    await this.cluster.retry(async () => {
      const response = await this.cluster.requestController("CreatePartitions", () => ({
        topics: topics.map((t) => ({
          name: t.topic,
          count: t.count,
          assignments: t.assignments ? t.assignments.map((brokerIds) => ({ brokerIds })) : null,
        })),
        timeoutMs: options.timeoutMs ?? DEFAULT_OPERATION_TIMEOUT_MS,
        validateOnly: options.validateOnly ?? false,
      }));
      for (const result of response.results) {
        if (result.errorCode !== ErrorCode.NONE) {
          throw topicError(result.errorCode, "create partitions of topic", result.name, result.errorMessage);
        }
      }
    });
    if (!options.validateOnly) await this.waitForLeaders(topics.map((t) => t.topic));
  }

  // ---- configs -----------------------------------------------------------------------------

  /** Broker resources are asked of that broker; topic resources of any broker. */
  private async requestForResource<T>(
    resources: { type: ConfigResourceType; name: string }[],
    send: (nodeId: number | null, resources: { type: ConfigResourceType; name: string }[]) => Promise<T[]>,
  ): Promise<T[]> {
    for (const r of resources) {
      if (r?.type !== "topic" && r?.type !== "broker")
        throw invalidOption('a config resource type is "topic" or "broker"');
      if (typeof r.name !== "string") throw invalidOption("a config resource needs a name");
      if (r.type === "broker" && !/^\d+$/.test(r.name)) {
        throw invalidOption(`a broker config resource is named by node id, not '${r.name}'`);
      }
    }
    const topicResources = resources.filter((r) => r.type === "topic");
    const brokerIds = [...new Set(resources.filter((r) => r.type === "broker").map((r) => r.name))];
    const batches = await Promise.all([
      topicResources.length > 0 ? send(null, topicResources) : [],
      ...brokerIds.map((id) =>
        send(
          Number(id),
          resources.filter((r) => r.type === "broker" && r.name === id),
        ),
      ),
    ]);
    return batches.flat();
  }

  /** The configs of topics and brokers, with where each value comes from. */
  async describeConfigs(options: { resources: ConfigResource[] }): Promise<ConfigDescription[]> {
    const resources = options?.resources;
    if (!Array.isArray(resources) || resources.length === 0) throw invalidOption("describeConfigs needs resources");
    const results = await this.requestForResource(resources, (nodeId, group) =>
      this.cluster.retry(async () => {
        const build = () => ({
          resources: group.map((r) => ({
            resourceType: RESOURCE_TYPES[r.type],
            resourceName: r.name,
            configurationKeys: (r as ConfigResource).configNames ?? null,
          })),
          includeSynonyms: false,
          includeDocumentation: false,
        });
        const response =
          nodeId === null
            ? await this.cluster.requestAny("DescribeConfigs", build)
            : await this.cluster.request(nodeId, "DescribeConfigs", build);
        return response.results.map((result) => {
          const type: ConfigResourceType = result.resourceType === RESOURCE_TYPES.broker ? "broker" : "topic";
          if (result.errorCode !== ErrorCode.NONE) {
            if (type === "topic")
              throw topicError(result.errorCode, "describe configs of topic", result.resourceName, result.errorMessage);
            throw BrookError.fromKafkaCode(result.errorCode, `describe configs of broker ${result.resourceName}`, {
              brokerMessage: result.errorMessage,
            });
          }
          return {
            type,
            name: result.resourceName,
            configs: result.configs.map((c) => ({
              name: c.name,
              value: c.value,
              readOnly: c.readOnly,
              // v0 says isDefault; v1+ says where the value comes from instead.
              isDefault: c.configSource === -1 ? c.isDefault : c.configSource === 5,
              source: CONFIG_SOURCES[c.configSource] ?? "UNKNOWN",
              sensitive: c.isSensitive,
            })),
          };
        });
      }),
    );
    return results;
  }

  /** Changes configs one by one (IncrementalAlterConfigs): the others keep their values. */
  async alterConfigs(options: {
    resources: { type: ConfigResourceType; name: string; configs: ConfigChange[] }[];
    validateOnly?: boolean;
  }): Promise<void> {
    const resources = options?.resources;
    if (!Array.isArray(resources) || resources.length === 0) throw invalidOption("alterConfigs needs resources");
    for (const r of resources) {
      for (const change of r.configs ?? []) {
        const operation = change.operation ?? "set";
        if (!(operation in CONFIG_OPERATIONS)) {
          throw invalidOption(`config operation must be set, delete, append or subtract, not '${operation}'`);
        }
        if (operation !== "delete" && typeof change.value !== "string") {
          throw invalidOption(`config '${change.name}': "${operation}" needs a string value`);
        }
      }
    }
    await this.requestForResource(resources, (nodeId, group) =>
      this.cluster.retry(async () => {
        const build = () => ({
          resources: group.map((r) => ({
            resourceType: RESOURCE_TYPES[r.type],
            resourceName: r.name,
            configs: (r as (typeof resources)[number]).configs.map((c) => ({
              name: c.name,
              configOperation: CONFIG_OPERATIONS[c.operation ?? "set"],
              value: c.operation === "delete" ? null : (c.value ?? null),
            })),
          })),
          validateOnly: options.validateOnly ?? false,
        });
        const response =
          nodeId === null
            ? await this.cluster.requestAny("IncrementalAlterConfigs", build)
            : await this.cluster.request(nodeId, "IncrementalAlterConfigs", build);
        for (const result of response.responses) {
          if (result.errorCode !== ErrorCode.NONE) {
            throw BrookError.fromKafkaCode(result.errorCode, `alter configs of ${result.resourceName}`, {
              brokerMessage: result.errorMessage,
            });
          }
        }
        return [];
      }),
    );
  }

  // ---- groups ------------------------------------------------------------------------------

  /** Every group on every broker (ListGroups to each), optionally only in some states. */
  async listGroups(options: { states?: string[] } = {}): Promise<GroupListing[]> {
    const metadata = await this.cluster.retry(() => this.cluster.refreshMetadata());
    const perBroker = await Promise.all(
      [...metadata.brokers.keys()].map((nodeId) =>
        this.cluster.retry(async () => {
          const response = await this.cluster.request(
            nodeId,
            "ListGroups",
            () => ({ statesFilter: options.states ?? [] }),
            { minVersion: options.states ? 4 : 0 },
          );
          if (response.errorCode !== ErrorCode.NONE) {
            throw BrookError.fromKafkaCode(response.errorCode, `ListGroups on broker ${nodeId}`);
          }
          return response.groups.map((g) => ({
            groupId: g.groupId,
            protocolType: g.protocolType,
            state: g.groupState,
            coordinator: nodeId,
          }));
        }),
      ),
    );
    return perBroker.flat().sort((a, b) => a.groupId.localeCompare(b.groupId));
  }

  /** State, protocol and members (with decoded subscriptions and assignments) of groups. */
  async describeGroups(groupIds: string[]): Promise<GroupDescription[]> {
    return Promise.all(
      checkGroupIds(groupIds).map((groupId) =>
        this.cluster.retry(async () => {
          const response = await this.cluster.coordinatorRequest(
            groupId,
            "DescribeGroups",
            () => ({ groups: [groupId], includeAuthorizedOperations: false }),
            { errorCodeOf: (r) => r.groups[0]?.errorCode ?? ErrorCode.NONE },
          );
          const group = response.groups[0];
          if (!group) throw new BrookError("BROOK_PROTOCOL", `DescribeGroups answered nothing for '${groupId}'`);
          if (group.errorCode !== ErrorCode.NONE) {
            throw BrookError.fromKafkaCode(group.errorCode, `describe group '${groupId}'`);
          }
          const consumer = group.protocolType === "consumer";
          return {
            groupId: group.groupId,
            state: group.groupState,
            protocolType: group.protocolType,
            protocol: group.protocolData,
            coordinator: await this.cluster.findCoordinator(groupId),
            members: group.members.map((m) => {
              const subscription = consumer
                ? decodeConsumerPayload(m.memberMetadata, decodeConsumerProtocolSubscription, 3)
                : null;
              const assignment = consumer
                ? decodeConsumerPayload(m.memberAssignment, decodeConsumerProtocolAssignment, 3)
                : null;
              return {
                memberId: m.memberId,
                groupInstanceId: m.groupInstanceId,
                clientId: m.clientId,
                clientHost: m.clientHost,
                subscribedTopics: subscription?.topics ?? null,
                assignment:
                  assignment?.assignedPartitions.map((a) => ({ topic: a.topic, partitions: a.partitions })) ?? null,
                metadata: m.memberMetadata,
                rawAssignment: m.memberAssignment,
              };
            }),
          };
        }),
      ),
    );
  }

  /** Deletes groups and their offsets; a group with members cannot be deleted (NON_EMPTY_GROUP). */
  async deleteGroups(groupIds: string[]): Promise<void> {
    await Promise.all(
      checkGroupIds(groupIds).map((groupId) =>
        this.cluster.retry(async () => {
          const response = await this.cluster.coordinatorRequest(
            groupId,
            "DeleteGroups",
            () => ({ groupsNames: [groupId] }),
            {
              errorCodeOf: (r) => r.results[0]?.errorCode ?? ErrorCode.NONE,
            },
          );
          const code = response.results[0]?.errorCode ?? ErrorCode.NONE;
          if (code === ErrorCode.GROUP_ID_NOT_FOUND) {
            throw new BrookError("GROUP_ID_NOT_FOUND", `group '${groupId}' does not exist`, { kafkaCode: code });
          }
          if (code === ErrorCode.NON_EMPTY_GROUP) {
            throw new BrookError("NON_EMPTY_GROUP", `group '${groupId}' still has members, so it cannot be deleted`, {
              kafkaCode: code,
            });
          }
          if (code !== ErrorCode.NONE) throw BrookError.fromKafkaCode(code, `delete group '${groupId}'`);
        }),
      ),
    );
  }

  // ---- offsets -----------------------------------------------------------------------------

  /** The offsets a group committed: for the partitions of `topics`, or every partition it has one for. */
  async listConsumerGroupOffsets(options: { groupId: string; topics?: string[] }): Promise<CommittedOffset[]> {
    const { groupId } = options;
    if (typeof groupId !== "string") throw invalidOption("groupId must be a string");
    const partitions = options.topics ? await this.partitionsOf(options.topics) : null;
    return fetchCommittedOffsets(this.cluster, groupId, partitions);
  }

  /**
   * Sets a group's committed offsets (OffsetCommit with generation -1): the group must have no
   * members, as with Kafka's kafka-consumer-groups --reset-offsets.
   */
  async alterConsumerGroupOffsets(options: { groupId: string; offsets: OffsetToCommit[] }): Promise<void> {
    const { groupId, offsets } = options;
    if (typeof groupId !== "string") throw invalidOption("groupId must be a string");
    if (!Array.isArray(offsets) || offsets.length === 0) throw invalidOption("offsets must be a non-empty array");
    for (const o of offsets) {
      if (!Number.isSafeInteger(o?.offset) || o.offset < 0) {
        throw invalidOption(`offset for ${o?.topic}-${o?.partition} must be an integer ≥ 0`);
      }
    }
    await commitOffsets(this.cluster, groupId, offsets);
  }

  /**
   * Moves a group's offsets for `topic` (all its partitions, or some) to the earliest, the
   * latest, an offset (kept within the partition's earliest..latest, as Kafka's tool does), or
   * the first offset at a time (latest where nothing is that recent). The group must have no
   * members. Resolves with the offsets set; with `dryRun`, with those it would set, committing
   * nothing.
   */
  async resetConsumerGroupOffsets(options: {
    groupId: string;
    topic: string;
    to: OffsetSpec | { offset: number };
    partitions?: number[];
    dryRun?: boolean;
  }): Promise<(TopicPartition & { offset: number })[]> {
    const { topic, to } = options;
    const [info] = await this.cluster.topics(checkTopicNames([topic], "resetConsumerGroupOffsets topic"));
    const partitions = options.partitions ?? (info?.partitions ?? []).filter(Boolean).map((p) => p.partition);
    const lookUp = async (spec: OffsetSpec) =>
      new Map(
        (
          await listOffsets(
            this.cluster,
            partitions.map((partition) => ({ topic, partition, spec })),
          )
        ).map((o) => [o.partition, o.offset]),
      );
    const latest = await lookUp("latest");
    const earliest = to === "latest" ? latest : await lookUp("earliest");
    const atTime = typeof to === "object" && "timestamp" in to ? await lookUp(to) : undefined;
    const offsets = partitions.map((partition) => {
      const [first, end] = [earliest.get(partition) ?? 0, latest.get(partition) ?? 0];
      let offset: number;
      if (to === "earliest") offset = first;
      else if (to === "latest") offset = end;
      else if ("offset" in to) offset = Math.min(Math.max(to.offset, first), end);
      else {
        const found = atTime?.get(partition) ?? -1;
        offset = found >= 0 ? found : end;
      }
      return { topic, partition, offset };
    });
    if (!options.dryRun) await commitOffsets(this.cluster, options.groupId, offsets);
    return offsets;
  }

  /**
   * How far a group is behind, per partition: the partitions it committed offsets for, plus
   * every partition of `topics` when given.
   */
  async consumerGroupLag(options: { groupId: string; topics?: string[] }): Promise<PartitionLag[]> {
    const committed = await this.listConsumerGroupOffsets(options);
    const partitions = new Map<string, TopicPartition>();
    for (const c of committed) partitions.set(`${c.topic}\0${c.partition}`, c);
    for (const p of options.topics ? await this.partitionsOf(options.topics) : [])
      partitions.set(`${p.topic}\0${p.partition}`, p);
    const latest = await listOffsets(
      this.cluster,
      [...partitions.values()].map((p) => ({ ...p, spec: "latest" })),
    );
    return latest
      .map((l) => {
        const offset = committed.find((c) => c.topic === l.topic && c.partition === l.partition)?.offset ?? -1;
        return {
          topic: l.topic,
          partition: l.partition,
          committedOffset: offset,
          latestOffset: l.offset,
          lag: offset >= 0 ? Math.max(0, l.offset - offset) : null,
        };
      })
      .sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
  }

  private async partitionsOf(topics: string[]): Promise<TopicPartition[]> {
    const infos = await this.cluster.topics(checkTopicNames(topics, "topics"));
    return infos.flatMap((t) => t.partitions.filter(Boolean).map((p) => ({ topic: t.name, partition: p.partition })));
  }

  // ---- records -----------------------------------------------------------------------------

  /**
   * Offsets of partitions at their start, their end, or the first record at or after a time;
   * all partitions of the topic unless `partitions` is given.
   */
  async listOffsets(options: {
    topic: string;
    at: OffsetSpec;
    partitions?: number[];
    isolationLevel?: "read_uncommitted" | "read_committed";
  }): Promise<PartitionOffset[]> {
    const partitions = options.partitions
      ? options.partitions.map((partition) => ({ topic: options.topic, partition }))
      : await this.partitionsOf([options?.topic]);
    return listOffsets(
      this.cluster,
      partitions.map((p) => ({ ...p, spec: options.at })),
      { isolationLevel: options.isolationLevel === "read_committed" ? 1 : 0 },
    );
  }

  /**
   * Deletes the records before `offset` in partitions (-1: all of them); resolves with each
   * partition's new start offset.
   */
  async deleteRecords(options: {
    topic: string;
    partitions: { partition: number; offset: number }[];
    timeoutMs?: number;
  }): Promise<{ partition: number; lowWatermark: number }[]> {
    const { topic, partitions } = options;
    if (!Array.isArray(partitions) || partitions.length === 0) throw invalidOption("deleteRecords needs partitions");
    const items = partitions.map((p) => ({ topic, partition: p.partition, offset: p.offset }));
    const results = await perPartitionRequest(
      this.cluster,
      items,
      async (leader, group) => {
        const response = await this.cluster.request(leader, "DeleteRecords", () => ({
          topics: [...byTopic(group)].map(([name, list]) => ({
            name,
            partitions: list.map((i) => ({ partitionIndex: i.partition, offset: i.offset })),
          })),
          timeoutMs: options.timeoutMs ?? DEFAULT_OPERATION_TIMEOUT_MS,
        }));
        const answers = new Map<string, { errorCode: number; result: number }>();
        for (const t of response.topics) {
          for (const p of t.partitions) {
            answers.set(`${t.name}\0${p.partitionIndex}`, { errorCode: p.errorCode, result: p.lowWatermark });
          }
        }
        return answers;
      },
      "DeleteRecords",
    );
    return items.map((i) => ({
      partition: i.partition,
      lowWatermark: results.get(`${topic}\0${i.partition}`) as number,
    }));
  }

  /**
   * The log directories of brokers (all of them unless `brokers` is given) and the size of
   * every partition replica in them, only those of `topics` when given.
   */
  async describeLogDirs(options: { brokers?: number[]; topics?: string[] } = {}): Promise<LogDirDescription[]> {
    const metadata = await this.cluster.retry(() => this.cluster.refreshMetadata(options.topics ?? null));
    const brokers = options.brokers ?? [...metadata.brokers.keys()].sort((a, b) => a - b);
    const topics = options.topics
      ? [...metadata.topics.values()]
          .filter((t) => options.topics?.includes(t.name))
          .map((t) => ({ topic: t.name, partitions: t.partitions.filter(Boolean).map((p) => p.partition) }))
      : null;
    const perBroker = await Promise.all(
      brokers.map((broker) =>
        this.cluster.retry(async () => {
          const response = await this.cluster.request(broker, "DescribeLogDirs", () => ({ topics }));
          if (response.errorCode !== ErrorCode.NONE) {
            throw BrookError.fromKafkaCode(response.errorCode, `describe log dirs of broker ${broker}`);
          }
          return response.results.map((dir): LogDirDescription => {
            if (dir.errorCode !== ErrorCode.NONE) {
              throw BrookError.fromKafkaCode(dir.errorCode, `describe log dir ${dir.logDir} of broker ${broker}`);
            }
            return {
              broker,
              path: dir.logDir,
              totalBytes: dir.totalBytes >= 0 ? dir.totalBytes : null,
              usableBytes: dir.usableBytes >= 0 ? dir.usableBytes : null,
              partitions: dir.topics.flatMap((t) =>
                t.partitions.map((p) => ({
                  topic: t.name,
                  partition: p.partitionIndex,
                  sizeBytes: p.partitionSize,
                  offsetLag: p.offsetLag,
                  isFuture: p.isFutureKey,
                })),
              ),
            };
          });
        }),
      ),
    );
    return perBroker.flat();
  }

  // ---- cluster -----------------------------------------------------------------------------

  /** The cluster id, the controller and the brokers, from fresh metadata. */
  async describeCluster(): Promise<{ clusterId: string | null; controllerId: number; brokers: BrokerInfo[] }> {
    const metadata = await this.cluster.retry(() => this.cluster.refreshMetadata());
    return {
      clusterId: metadata.clusterId,
      controllerId: metadata.controllerId,
      brokers: [...metadata.brokers.values()].sort((a, b) => a.nodeId - b.nodeId),
    };
  }
}
