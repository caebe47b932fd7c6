import { ErrorCode } from "../../protocol/errors.js";
import type { Cluster } from "../cluster.js";
import { BrookError } from "../errors.js";
import { partitionKey, type TopicPartition } from "./partition-state.js";

/** Who commits: a group member's generation, or generation -1 and no member for a consumer outside any group's membership. */
export interface CommitIdentity {
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
}

export interface OffsetToCommit extends TopicPartition {
  /** The next offset to read, as Kafka stores it. */
  offset: number;
  metadata?: string | null;
}

/** Membership errors a commit must not retry: the member's generation is over, so are its partitions. */
const MEMBERSHIP_ERRORS = new Set<number>([
  ErrorCode.ILLEGAL_GENERATION,
  ErrorCode.UNKNOWN_MEMBER_ID,
  ErrorCode.REBALANCE_IN_PROGRESS,
  ErrorCode.FENCED_INSTANCE_ID,
]);

export function isMembershipError(error: unknown): boolean {
  return error instanceof BrookError && error.kafkaCode !== undefined && MEMBERSHIP_ERRORS.has(error.kafkaCode);
}

function byTopic<T extends TopicPartition>(items: readonly T[]): Map<string, T[]> {
  const topics = new Map<string, T[]>();
  for (const item of items) {
    const list = topics.get(item.topic);
    if (list) list.push(item);
    else topics.set(item.topic, [item]);
  }
  return topics;
}

/**
 * The group's committed offsets of `partitions`, by partitionKey; -1 where none. With
 * requireStable (v7+), offsets a transaction is still committing are waited for (the broker
 * answers UNSTABLE_OFFSET_COMMIT, which is retried).
 */
export function fetchCommittedOffsets(
  cluster: Cluster,
  groupId: string,
  partitions: readonly TopicPartition[],
): Promise<Map<string, number>> {
  const topics = [...byTopic(partitions)].map(([name, list]) => ({
    name,
    partitionIndexes: list.map((p) => p.partition),
  }));
  return cluster.retry(async () => {
    const response = await cluster.coordinatorRequest(
      groupId,
      "OffsetFetch",
      (version) =>
        version >= 8
          ? { groups: [{ groupId, topics }], requireStable: true }
          : { groupId, topics, requireStable: true },
      { channel: "group", errorCodeOf: (r) => r.groups[0]?.errorCode ?? r.errorCode },
    );
    const group = response.groups[0];
    const errorCode = group ? group.errorCode : response.errorCode;
    if (errorCode !== ErrorCode.NONE) throw BrookError.fromKafkaCode(errorCode, `OffsetFetch for group '${groupId}'`);
    const offsets = new Map<string, number>();
    for (const topic of group ? group.topics : response.topics) {
      for (const partition of topic.partitions) {
        // A partition the group never committed is not an error: offset -1.
        if (partition.errorCode !== ErrorCode.NONE && partition.errorCode !== ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) {
          throw BrookError.fromKafkaCode(
            partition.errorCode,
            `OffsetFetch of ${topic.name}-${partition.partitionIndex} for group '${groupId}'`,
            { topic: topic.name, partition: partition.partitionIndex },
          );
        }
        offsets.set(partitionKey(topic.name, partition.partitionIndex), partition.committedOffset);
      }
    }
    return offsets;
  });
}

/**
 * Commits `offsets` for the group, as `identity()` says at each attempt. Lost coordinators
 * and connections are retried; membership errors (ILLEGAL_GENERATION, REBALANCE_IN_PROGRESS...)
 * are not, as Kafka's consumers do: by then the partitions may belong to another member.
 */
export function commitOffsets(
  cluster: Cluster,
  groupId: string,
  identity: CommitIdentity,
  offsets: readonly OffsetToCommit[],
): Promise<void> {
  const topics = [...byTopic(offsets)].map(([name, list]) => ({
    name,
    partitions: list.map((o) => ({
      partitionIndex: o.partition,
      committedOffset: o.offset,
      committedMetadata: o.metadata ?? null,
    })),
  }));
  return cluster.retry(async () => {
    const response = await cluster.coordinatorRequest(
      groupId,
      "OffsetCommit",
      () => ({
        groupId,
        generationIdOrMemberEpoch: identity.generationId,
        memberId: identity.memberId,
        groupInstanceId: identity.groupInstanceId,
        topics,
      }),
      {
        channel: "group",
        // Static members need v7 to send their instance id.
        minVersion: identity.groupInstanceId === null ? 0 : 7,
        errorCodeOf: (r) => r.topics[0]?.partitions[0]?.errorCode ?? ErrorCode.NONE,
      },
    );
    for (const topic of response.topics) {
      for (const partition of topic.partitions) {
        const code = partition.errorCode;
        if (code === ErrorCode.NONE) continue;
        throw BrookError.fromKafkaCode(
          code,
          `commit of ${topic.name}-${partition.partitionIndex} for group '${groupId}'`,
          {
            topic: topic.name,
            partition: partition.partitionIndex,
            ...(MEMBERSHIP_ERRORS.has(code) ? { retriable: false } : {}),
          },
        );
      }
    }
  });
}

/** ListOffsets timestamps with a special meaning. */
export const LATEST_TIMESTAMP = -1;
export const EARLIEST_TIMESTAMP = -2;

export interface OffsetQuery extends TopicPartition {
  /** EARLIEST_TIMESTAMP, LATEST_TIMESTAMP, or ms since the epoch (the first offset with a timestamp at or after it). */
  timestamp: number;
}

/**
 * Asks partition leaders for offsets, one request per leader, by partitionKey. A time after
 * every message answers -1. Partitions whose leader moved are retried after a metadata refresh.
 */
export async function listOffsets(
  cluster: Cluster,
  queries: readonly OffsetQuery[],
  isolationLevel: number,
): Promise<Map<string, number>> {
  const results = new Map<string, number>();
  let pending = queries;
  await cluster.retry(async () => {
    const byLeader = new Map<number, OffsetQuery[]>();
    for (const query of pending) {
      const leader = cluster.leaderFor(query.topic, query.partition);
      const list = byLeader.get(leader);
      if (list) list.push(query);
      else byLeader.set(leader, [query]);
    }
    const failures: BrookError[] = [];
    await Promise.all(
      [...byLeader].map(async ([leader, list]) => {
        const response = await cluster.request(leader, "ListOffsets", () => ({
          replicaId: -1,
          isolationLevel,
          topics: [...byTopic(list)].map(([name, partitions]) => ({
            name,
            partitions: partitions.map((p) => ({
              partitionIndex: p.partition,
              timestamp: p.timestamp,
              maxNumOffsets: 1,
            })),
          })),
        }));
        for (const topic of response.topics) {
          for (const partition of topic.partitions) {
            const key = partitionKey(topic.name, partition.partitionIndex);
            if (partition.errorCode !== ErrorCode.NONE) {
              failures.push(
                BrookError.fromKafkaCode(
                  partition.errorCode,
                  `ListOffsets of ${topic.name}-${partition.partitionIndex}`,
                  {
                    topic: topic.name,
                    partition: partition.partitionIndex,
                  },
                ),
              );
              continue;
            }
            // v0 answers a list of offsets instead of one.
            results.set(key, partition.oldStyleOffsets[0] ?? partition.offset);
          }
        }
      }),
    );
    pending = pending.filter((query) => !results.has(partitionKey(query.topic, query.partition)));
    if (failures.length > 0) throw failures.find((error) => !error.retriable) ?? failures[0];
    if (pending.length > 0) {
      throw new BrookError("BROOK_PROTOCOL", `ListOffsets answered nothing for ${pending.length} partition(s)`, {
        retriable: true,
      });
    }
  });
  return results;
}
