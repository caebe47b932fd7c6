import { ErrorCode } from "../protocol/errors.js";
import type { Cluster } from "./cluster.js";
import { BrookError, isStaleCoordinatorCode } from "./errors.js";
import { byTopic, type TopicPartition } from "./offsets.js";

export interface CommittedOffset extends TopicPartition {
  /** -1 when the group has no offset for the partition. */
  offset: number;
  /** The leader epoch of the committed record (-1 if unknown). */
  leaderEpoch: number;
  metadata: string | null;
}

export interface OffsetToCommit extends TopicPartition {
  offset: number;
  leaderEpoch?: number;
  metadata?: string | null;
}

export interface CommitOptions {
  /** -1 (the default) commits for an empty group, as admin tools do; members pass their generation. */
  generationId?: number;
  memberId?: string;
  groupInstanceId?: string | null;
}

function groupError(code: number, what: string, groupId: string): BrookError {
  return BrookError.fromKafkaCode(code, `${what} for group '${groupId}'`);
}

/**
 * The offsets group `groupId` committed, for the given partitions or, with null, for every
 * partition it has an offset for (OffsetFetch to the group's coordinator, with retries).
 */
export async function fetchCommittedOffsets(
  cluster: Cluster,
  groupId: string,
  partitions: readonly TopicPartition[] | null,
  options: { requireStable?: boolean } = {},
): Promise<CommittedOffset[]> {
  const topics =
    partitions === null
      ? null
      : [...byTopic(partitions)].map(([name, list]) => ({ name, partitionIndexes: list.map((p) => p.partition) }));
  return cluster.retry(async () => {
    const response = await cluster.coordinatorRequest(
      groupId,
      "OffsetFetch",
      (version) =>
        version >= 8
          ? { groups: [{ groupId, topics }], requireStable: options.requireStable ?? false }
          : { groupId, topics, requireStable: options.requireStable ?? false },
      {
        // v0–1 cannot ask for "all partitions" (a null list).
        minVersion: topics === null ? 2 : 0,
        errorCodeOf: (r) => (r.groups[0]?.errorCode ?? r.errorCode) || firstPartitionError(r),
      },
    );
    const group = response.groups[0];
    const errorCode = group ? group.errorCode : response.errorCode;
    if (errorCode !== ErrorCode.NONE) throw groupError(errorCode, "OffsetFetch", groupId);
    const offsets: CommittedOffset[] = [];
    for (const topic of group ? group.topics : response.topics) {
      for (const p of topic.partitions) {
        if (p.errorCode !== ErrorCode.NONE) {
          throw BrookError.fromKafkaCode(
            p.errorCode,
            `OffsetFetch of ${topic.name}-${p.partitionIndex} for group '${groupId}'`,
          );
        }
        offsets.push({
          topic: topic.name,
          partition: p.partitionIndex,
          offset: p.committedOffset,
          leaderEpoch: p.committedLeaderEpoch,
          metadata: p.metadata,
        });
      }
    }
    return offsets;
  });
}

function firstPartitionError(response: {
  topics: { partitions: { errorCode: number }[] }[];
  groups: { topics: { partitions: { errorCode: number }[] }[] }[];
}): number {
  for (const topic of [...response.topics, ...(response.groups[0]?.topics ?? [])]) {
    for (const p of topic.partitions) if (isStaleCoordinatorCode(p.errorCode)) return p.errorCode;
  }
  return ErrorCode.NONE;
}

/**
 * Commits offsets for group `groupId` (OffsetCommit to its coordinator, with retries). By
 * default as an admin does, with generation -1, which the coordinator accepts only while the
 * group has no members.
 */
export async function commitOffsets(
  cluster: Cluster,
  groupId: string,
  offsets: readonly OffsetToCommit[],
  options: CommitOptions = {},
): Promise<void> {
  const topics = [...byTopic(offsets)].map(([name, list]) => ({
    name,
    partitions: list.map((o) => ({
      partitionIndex: o.partition,
      committedOffset: o.offset,
      committedLeaderEpoch: o.leaderEpoch ?? -1,
      commitTimestamp: -1,
      committedMetadata: o.metadata ?? null,
    })),
  }));
  await cluster.retry(async () => {
    const response = await cluster.coordinatorRequest(
      groupId,
      "OffsetCommit",
      () => ({
        groupId,
        generationIdOrMemberEpoch: options.generationId ?? -1,
        memberId: options.memberId ?? "",
        groupInstanceId: options.groupInstanceId ?? null,
        retentionTimeMs: -1,
        topics,
      }),
      { errorCodeOf: (r) => firstPartitionError({ topics: r.topics, groups: [] }) },
    );
    for (const topic of response.topics) {
      for (const p of topic.partitions) {
        if (p.errorCode !== ErrorCode.NONE) {
          throw BrookError.fromKafkaCode(
            p.errorCode,
            `OffsetCommit of ${topic.name}-${p.partitionIndex} for group '${groupId}'`,
            { topic: topic.name, partition: p.partitionIndex },
          );
        }
      }
    }
  });
}
