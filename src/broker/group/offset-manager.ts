import type { Logger } from "../../logger.js";
import { ErrorCode } from "../../protocol/errors.js";
import type {
  OffsetCommitRequest,
  OffsetCommitResponseTopicInput,
  OffsetDeleteRequest,
  OffsetDeleteResponseTopicInput,
  OffsetFetchResponsePartitionsInput,
} from "../../protocol/generated/index.js";
import type { TopicLookup } from "../broker-context.js";
import type { Group } from "./group.js";
import type { GroupRecord } from "./group-records.js";
import type { GroupRegistry } from "./group-registry.js";
import type { GroupStore } from "./group-store.js";
import type { GroupMember } from "./member.js";
import { expiredOffsets } from "./offset-expiry.js";

export interface FetchedTopicOffsets {
  readonly name: string;
  readonly partitions: OffsetFetchResponsePartitionsInput[];
}

export interface FetchOffsetsResult {
  readonly errorCode: number;
  readonly topics: FetchedTopicOffsets[];
}

export interface DeleteOffsetsResult {
  readonly errorCode: number;
  readonly topics: OffsetDeleteResponseTopicInput[];
}

export interface OffsetManagerOptions {
  readonly offsetsRetentionMs: number;
  readonly logger: Logger;
  readonly store: GroupStore;
  readonly groups: GroupRegistry;
  readonly topics: TopicLookup;
  readonly now: () => number;
  /** A commit from a member counts as a sign of life, like a heartbeat. */
  readonly keepAlive: (group: Group, member: GroupMember) => void;
}

/** Kafka's offset.metadata.max.bytes (counted in characters, as Kafka does). */
const MAX_OFFSET_METADATA_LENGTH = 4096;

/**
 * Committed offsets: who may commit (Kafka's validateOffsetCommit), fetching, deleting, and
 * expiry after offsets.retention.ms. The offsets themselves live in the store's state, which
 * a commit updates at once; the commit is answered when the store has made it durable.
 */
export class OffsetManager {
  constructor(private readonly options: OffsetManagerOptions) {}

  /**
   * OffsetCommit: each partition must exist; then who may commit decides for all of them
   * (members of the current generation, or anyone with generation -1 while the group is
   * empty, which also creates it); the accepted offsets are written as one entry.
   */
  async commit(request: OffsetCommitRequest): Promise<OffsetCommitResponseTopicInput[]> {
    const { store, groups, topics: topicLookup, logger } = this.options;
    const now = this.options.now();
    const verdict = this.commitVerdict(request);
    const records: GroupRecord[] = [];
    const accepted: { errorCode: number }[] = [];
    const expireTimestamp = request.retentionTimeMs === -1 ? -1 : now + request.retentionTimeMs;
    const topics = request.topics.map((topic) => {
      const partitionCount = topicLookup.partitionCount(topic.name);
      return {
        name: topic.name,
        partitions: topic.partitions.map((p) => {
          const result = { partitionIndex: p.partitionIndex, errorCode: ErrorCode.NONE as number };
          const metadata = p.committedMetadata ?? "";
          if (partitionCount === undefined || p.partitionIndex < 0 || p.partitionIndex >= partitionCount) {
            result.errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
          } else if (typeof verdict === "number") {
            result.errorCode = verdict;
          } else if (metadata.length > MAX_OFFSET_METADATA_LENGTH) {
            result.errorCode = ErrorCode.OFFSET_METADATA_TOO_LARGE;
          } else {
            records.push({
              kind: "offset",
              groupId: request.groupId,
              topic: topic.name,
              partition: p.partitionIndex,
              committed: {
                offset: p.committedOffset,
                leaderEpoch: p.committedLeaderEpoch,
                metadata,
                commitTimestamp: p.commitTimestamp === -1 ? now : p.commitTimestamp,
                expireTimestamp,
              },
            });
            accepted.push(result);
          }
          return result;
        }),
      };
    });
    if (typeof verdict === "number" || records.length === 0) return topics;

    // No group yet: a consumer that assigns itself partitions and only stores offsets here.
    const group = verdict.group ?? groups.create(request.groupId, now);
    if (verdict.member) this.options.keepAlive(group, verdict.member);
    try {
      await store.write(records);
    } catch (error) {
      logger.error({ err: error, group: request.groupId }, "could not store committed offsets");
      for (const result of accepted) result.errorCode = ErrorCode.COORDINATOR_NOT_AVAILABLE;
    }
    return topics;
  }

  /** The error for every partition of the commit, or the group (if any) and member committing. */
  private commitVerdict(
    request: OffsetCommitRequest,
  ): number | { group: Group | undefined; member: GroupMember | undefined } {
    const generationId = request.generationIdOrMemberEpoch;
    const group = this.options.groups.get(request.groupId);
    if (!group) {
      // Generation -1: a commit from outside any group. Otherwise a member of a group we lost.
      return generationId < 0 ? { group: undefined, member: undefined } : ErrorCode.ILLEGAL_GENERATION;
    }
    const error = group.offsetCommitError(generationId, request.memberId, request.groupInstanceId);
    if (error !== null) return error;
    // A member with its new generation but no assignment yet: it should not be committing.
    if (group.state === "CompletingRebalance") return ErrorCode.REBALANCE_IN_PROGRESS;
    return { group, member: group.get(request.memberId) };
  }

  /**
   * OffsetFetch for one group: null topics means every partition the group committed.
   * Partitions without a commit answer offset -1; unknown groups are not an error.
   */
  fetch(
    groupId: string,
    topics: readonly { readonly name: string; readonly partitionIndexes: readonly number[] }[] | null,
  ): FetchOffsetsResult {
    const offsets = this.options.store.state.offsets(groupId);
    const entry = (topic: string, partitionIndex: number): OffsetFetchResponsePartitionsInput => {
      const committed = offsets?.get(topic)?.get(partitionIndex);
      return {
        partitionIndex,
        committedOffset: committed?.offset ?? -1,
        committedLeaderEpoch: committed?.leaderEpoch ?? -1,
        metadata: committed?.metadata ?? "",
        errorCode: ErrorCode.NONE,
      };
    };
    if (topics !== null) {
      return {
        errorCode: ErrorCode.NONE,
        topics: topics.map((t) => ({ name: t.name, partitions: t.partitionIndexes.map((p) => entry(t.name, p)) })),
      };
    }
    const names = [...(offsets?.keys() ?? [])].sort();
    return {
      errorCode: ErrorCode.NONE,
      topics: names.map((name) => ({
        name,
        partitions: [...(offsets?.get(name)?.keys() ?? [])].sort((a, b) => a - b).map((p) => entry(name, p)),
      })),
    };
  }

  /**
   * OffsetDelete: an empty group may drop any offsets; a consumer group with members only
   * those of topics it is not subscribed to (GROUP_SUBSCRIBED_TO_TOPIC otherwise); any other
   * group with members none (NON_EMPTY_GROUP).
   */
  async delete(request: OffsetDeleteRequest): Promise<DeleteOffsetsResult> {
    if (request.groupId === "") return { errorCode: ErrorCode.INVALID_GROUP_ID, topics: [] };
    const group = this.options.groups.get(request.groupId);
    if (!group) return { errorCode: ErrorCode.GROUP_ID_NOT_FOUND, topics: [] };
    if (group.state !== "Empty" && !group.isConsumerGroup) return { errorCode: ErrorCode.NON_EMPTY_GROUP, topics: [] };

    const offsets = this.options.store.state.offsets(group.groupId);
    const records: GroupRecord[] = [];
    const removed: { errorCode: number }[] = [];
    const topics = request.topics.map((topic) => {
      const partitionCount = this.options.topics.partitionCount(topic.name);
      const subscribed = group.state !== "Empty" && group.mayBeSubscribedTo(topic.name);
      return {
        name: topic.name,
        partitions: topic.partitions.map(({ partitionIndex }) => {
          const result = { partitionIndex, errorCode: ErrorCode.NONE as number };
          if (partitionCount === undefined || partitionIndex < 0 || partitionIndex >= partitionCount) {
            result.errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
          } else if (subscribed) {
            result.errorCode = ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC;
          } else if (offsets?.get(topic.name)?.has(partitionIndex)) {
            records.push({
              kind: "offset-removed",
              groupId: group.groupId,
              topic: topic.name,
              partition: partitionIndex,
            });
            removed.push(result);
          }
          return result;
        }),
      };
    });
    if (records.length > 0) {
      try {
        await this.remove(records, [group]);
      } catch (error) {
        this.options.logger.error({ err: error, group: group.groupId }, "could not store deleted offsets");
        for (const result of removed) result.errorCode = ErrorCode.COORDINATOR_NOT_AVAILABLE;
      }
    }
    return { errorCode: ErrorCode.NONE, topics };
  }

  /** Removes expired offsets (Kafka's rules, see offset-expiry.ts), then empty groups left without any. */
  async removeExpired(): Promise<void> {
    const { store, groups, offsetsRetentionMs, logger } = this.options;
    const now = this.options.now();
    const records: GroupRecord[] = [];
    for (const group of groups.values()) {
      const offsets = store.state.offsets(group.groupId);
      if (!offsets) continue;
      for (const { topic, partition } of expiredOffsets(group, offsets, now, offsetsRetentionMs)) {
        records.push({ kind: "offset-removed", groupId: group.groupId, topic, partition });
      }
    }
    if (records.length > 0) logger.info({ offsets: records.length }, "removing expired offsets");
    await this.remove(records, [...groups.values()]);
  }

  /** A deleted topic's offsets go from every group. */
  async removeTopic(topic: string): Promise<void> {
    const { store, groups } = this.options;
    const records: GroupRecord[] = [];
    const affected: Group[] = [];
    for (const groupId of store.state.groupsWithOffsetsFor(topic)) {
      for (const partition of store.state.offsets(groupId)?.get(topic)?.keys() ?? []) {
        records.push({ kind: "offset-removed", groupId, topic, partition });
      }
      const group = groups.get(groupId);
      if (group) affected.push(group);
    }
    await this.remove(records, affected);
  }

  /** Stores offset removals, then removes the groups among `candidates` left empty and without offsets. */
  private async remove(records: readonly GroupRecord[], candidates: readonly Group[]): Promise<void> {
    const { store, groups } = this.options;
    const writes: Promise<void>[] = [];
    // Applied to the store's state at once, so the check below sees the offsets gone.
    if (records.length > 0) writes.push(store.write(records));
    const now = this.options.now();
    const removals: GroupRecord[] = [];
    for (const group of candidates) {
      const removal = groups.removeIfEmptyWithoutOffsets(group, now);
      if (removal) removals.push(removal);
    }
    if (removals.length > 0) writes.push(store.write(removals));
    await Promise.all(writes);
  }
}
