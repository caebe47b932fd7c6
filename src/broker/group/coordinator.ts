import type { Logger } from "../../logger.js";
import { ErrorCode } from "../../protocol/errors.js";
import type {
  DescribeGroupsResponseDescribedGroupInput,
  HeartbeatRequest,
  JoinGroupRequest,
  LeaveGroupRequestMemberIdentity,
  ListGroupsResponseListedGroupInput,
  OffsetCommitRequest,
  OffsetCommitResponseTopicInput,
  OffsetDeleteRequest,
  SyncGroupRequest,
} from "../../protocol/generated/index.js";
import type { BrokerConfig, TopicLookup } from "../broker-context.js";
import { Group, type GroupState } from "./group.js";
import type { GroupRecord } from "./group-records.js";
import { GroupRegistry } from "./group-registry.js";
import type { GroupStore } from "./group-store.js";
import { GroupMembership, type JoiningClient, type LeaveResult } from "./membership.js";
import { type DeleteOffsetsResult, type FetchOffsetsResult, OffsetManager } from "./offset-manager.js";
import { type JoinResult, joinError, NO_BYTES, type SyncResult, syncError } from "./results.js";
import { runGuarded } from "./timers.js";

export type { JoiningClient, LeaveResult } from "./membership.js";
export type { DeleteOffsetsResult, FetchedTopicOffsets, FetchOffsetsResult } from "./offset-manager.js";
export type { JoinResult, SyncResult } from "./results.js";

export type GroupCoordinatorConfig = Pick<
  BrokerConfig,
  | "groupInitialRebalanceDelayMs"
  | "groupMinSessionTimeoutMs"
  | "groupMaxSessionTimeoutMs"
  | "groupMaxSize"
  | "offsetsRetentionMs"
>;

export interface GroupCoordinatorOptions {
  readonly config: GroupCoordinatorConfig;
  readonly logger: Logger;
  readonly topics: TopicLookup;
  readonly store: GroupStore;
  /** How often expired offsets are looked for (offsets.retention.check.interval.ms); 10 minutes. */
  readonly offsetsRetentionCheckIntervalMs?: number;
  /** The clock for timestamps (commit times, expiry); tests move it. */
  readonly now?: () => number;
}

export type DescribedGroup = Omit<DescribeGroupsResponseDescribedGroupInput, "authorizedOperations">;

const DEFAULT_RETENTION_CHECK_INTERVAL_MS = 10 * 60 * 1000;
/** The only group type this coordinator runs (ListGroups v5 filters on it). */
const CLASSIC_GROUP_TYPE = "classic";

/**
 * The classic group coordinator, as Kafka's GroupCoordinator: what the group handlers call.
 * It loads the store, answers "try again" while it does, and hands each request to the part
 * that owns it: GroupMembership (rebalances, heartbeats), OffsetManager (committed offsets);
 * the group administration APIs (describe, list, delete) are answered here. Everything runs
 * on the event loop, so each request sees and leaves a consistent state.
 */
export class GroupCoordinator {
  private phase: "loading" | "active" | "closed" = "loading";
  private retentionTimer: NodeJS.Timeout | null = null;
  private readonly groups: GroupRegistry;
  private readonly membership: GroupMembership;
  private readonly offsets: OffsetManager;
  private readonly store: GroupStore;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly retentionCheckIntervalMs: number;

  constructor(options: GroupCoordinatorOptions) {
    const { config, logger, store } = options;
    const now = options.now ?? Date.now;
    this.store = store;
    this.logger = logger;
    this.now = now;
    this.retentionCheckIntervalMs = options.offsetsRetentionCheckIntervalMs ?? DEFAULT_RETENTION_CHECK_INTERVAL_MS;
    this.groups = new GroupRegistry(store.state);
    this.membership = new GroupMembership({ config, logger, store, groups: this.groups, now });
    this.offsets = new OffsetManager({
      offsetsRetentionMs: config.offsetsRetentionMs,
      logger,
      store,
      groups: this.groups,
      topics: options.topics,
      now,
      keepAlive: (group, member) => this.membership.keepAlive(group, member),
    });
  }

  /** Loads the stored offsets and groups; until it resolves, group requests are told to retry. */
  async start(): Promise<void> {
    await this.store.open();
    if (this.phase === "closed") return;
    const now = this.now();
    for (const groupId of this.store.state.groupIds()) {
      const stored = this.store.state.snapshot(groupId);
      const group = this.groups.add(stored ? Group.restore(groupId, stored, now) : new Group(groupId, now));
      this.membership.adopt(group);
    }
    this.phase = "active";
    this.retentionTimer = setInterval(
      () => runGuarded(this.logger, () => this.removeExpiredOffsets()),
      this.retentionCheckIntervalMs,
    );
    this.retentionTimer.unref();
    this.logger.info({ groups: this.groups.size }, "group coordinator loaded");
  }

  /** Stops every timer, answers parked requests with COORDINATOR_NOT_AVAILABLE and closes the store. */
  async close(): Promise<void> {
    if (this.phase === "closed") return;
    this.phase = "closed";
    if (this.retentionTimer) clearInterval(this.retentionTimer);
    this.membership.abandon(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    // Writes still in flight find no group to act on when they complete.
    this.groups.clear();
    await this.store.close();
  }

  // ---- Membership --------------------------------------------------------------------------

  async joinGroup(request: JoinGroupRequest, client: JoiningClient): Promise<JoinResult> {
    const unavailable = this.unavailableError();
    if (unavailable !== null) return joinError(request.memberId, unavailable);
    return this.membership.join(request, client);
  }

  async syncGroup(request: SyncGroupRequest): Promise<SyncResult> {
    const unavailable = this.unavailableError();
    if (unavailable !== null) return syncError(unavailable);
    return this.membership.sync(request);
  }

  heartbeat(request: HeartbeatRequest): number {
    // While loading, Kafka answers heartbeats blindly: the member's state is not known yet.
    if (this.phase === "loading") return ErrorCode.NONE;
    if (this.phase === "closed") return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    return this.membership.heartbeat(request);
  }

  leaveGroup(groupId: string, leaving: readonly LeaveGroupRequestMemberIdentity[]): LeaveResult {
    const unavailable = this.unavailableError();
    if (unavailable !== null) return { errorCode: unavailable, members: [] };
    return this.membership.leave(groupId, leaving);
  }

  // ---- Offsets -----------------------------------------------------------------------------

  async commitOffsets(request: OffsetCommitRequest): Promise<OffsetCommitResponseTopicInput[]> {
    const unavailable = this.unavailableError();
    if (unavailable === null) return this.offsets.commit(request);
    return request.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: unavailable })),
    }));
  }

  fetchOffsets(
    groupId: string,
    topics: readonly { readonly name: string; readonly partitionIndexes: readonly number[] }[] | null,
  ): FetchOffsetsResult {
    const unavailable = this.unavailableError();
    if (unavailable !== null) return { errorCode: unavailable, topics: [] };
    return this.offsets.fetch(groupId, topics);
  }

  async deleteOffsets(request: OffsetDeleteRequest): Promise<DeleteOffsetsResult> {
    const unavailable = this.unavailableError();
    if (unavailable !== null) return { errorCode: unavailable, topics: [] };
    return this.offsets.delete(request);
  }

  /**
   * Removes expired offsets and the empty groups left without any. Runs on a timer every
   * offsetsRetentionCheckIntervalMs; exposed so tests need not wait for it.
   */
  async removeExpiredOffsets(): Promise<void> {
    if (this.phase === "active") await this.offsets.removeExpired();
  }

  /**
   * A topic was deleted: its committed offsets go, and groups whose members subscribe to it
   * rebalance, so their leader computes an assignment without it.
   */
  async onTopicDeleted(topic: string): Promise<void> {
    if (this.phase !== "active") return;
    this.membership.rebalanceSubscribersOf(topic, `subscribed topic ${topic} was deleted`);
    try {
      await this.offsets.removeTopic(topic);
    } catch (error) {
      this.logger.error({ err: error, topic }, "could not store the removal of a deleted topic's offsets");
    }
  }

  // ---- Group administration ----------------------------------------------------------------

  describeGroups(groupIds: readonly string[]): DescribedGroup[] {
    const unavailable = this.unavailableError();
    return groupIds.map((groupId) => {
      if (unavailable !== null) return describedGroup(groupId, unavailable, "", "", "", []);
      const group = this.groups.get(groupId);
      // Kafka describes a group it does not know as Dead rather than failing.
      if (!group) return describedGroup(groupId, ErrorCode.NONE, "Dead", "", "", []);
      // Metadata and assignments are only meaningful once the generation is settled.
      const stable = group.state === "Stable";
      const protocolName = stable ? (group.protocolName ?? "") : "";
      const members = [...group.members.values()].map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        memberMetadata: stable ? m.metadataFor(protocolName) : NO_BYTES,
        memberAssignment: stable ? m.assignment : NO_BYTES,
      }));
      return describedGroup(groupId, ErrorCode.NONE, group.state, group.protocolType ?? "", protocolName, members);
    });
  }

  /** ListGroups; the filters (v4 states, v5 types) match case-insensitively, empty = all. */
  listGroups(
    statesFilter: readonly string[],
    typesFilter: readonly string[],
  ): { errorCode: number; groups: ListGroupsResponseListedGroupInput[] } {
    const unavailable = this.unavailableError();
    if (unavailable !== null) return { errorCode: unavailable, groups: [] };
    const states = new Set(statesFilter.map((s) => s.toLowerCase()));
    const types = new Set(typesFilter.map((t) => t.toLowerCase()));
    if (types.size > 0 && !types.has(CLASSIC_GROUP_TYPE)) return { errorCode: ErrorCode.NONE, groups: [] };
    const groups: ListGroupsResponseListedGroupInput[] = [];
    for (const group of this.groups.values()) {
      if (states.size > 0 && !states.has(group.state.toLowerCase())) continue;
      groups.push({
        groupId: group.groupId,
        protocolType: group.protocolType ?? "",
        groupState: group.state,
        groupType: CLASSIC_GROUP_TYPE,
      });
    }
    return { errorCode: ErrorCode.NONE, groups };
  }

  /** DeleteGroups: only empty groups can go, with all their offsets. */
  async deleteGroups(groupIds: readonly string[]): Promise<{ groupId: string; errorCode: number }[]> {
    const unavailable = this.unavailableError();
    const records: GroupRecord[] = [];
    const deleted: { errorCode: number }[] = [];
    const results = groupIds.map((groupId) => {
      if (unavailable !== null) return { groupId, errorCode: unavailable };
      const group = this.groups.get(groupId);
      if (!group) return { groupId, errorCode: ErrorCode.GROUP_ID_NOT_FOUND };
      if (group.state !== "Empty") return { groupId, errorCode: ErrorCode.NON_EMPTY_GROUP };
      const removal = this.groups.remove(group, this.now());
      if (removal) records.push(removal);
      const result = { groupId, errorCode: ErrorCode.NONE as number };
      deleted.push(result);
      return result;
    });
    if (records.length > 0) {
      try {
        await this.store.write(records);
      } catch (error) {
        this.logger.error({ err: error }, "could not store deleted groups");
        for (const result of deleted) result.errorCode = ErrorCode.COORDINATOR_NOT_AVAILABLE;
      }
    }
    return results;
  }

  private unavailableError(): number | null {
    if (this.phase === "loading") return ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
    if (this.phase === "closed") return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    return null;
  }
}

function describedGroup(
  groupId: string,
  errorCode: number,
  groupState: GroupState | "",
  protocolType: string,
  protocolData: string,
  members: DescribedGroup["members"],
): DescribedGroup {
  return { errorCode, groupId, groupState, protocolType, protocolData, members };
}
