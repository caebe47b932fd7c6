import { randomUUID } from "node:crypto";
import type { Logger } from "../../logger.js";
import { ErrorCode } from "../../protocol/errors.js";
import type {
  DescribeGroupsResponseDescribedGroupInput,
  HeartbeatRequest,
  JoinGroupRequest,
  LeaveGroupRequestMemberIdentity,
  LeaveGroupResponseMemberResponseInput,
  ListGroupsResponseListedGroupInput,
  OffsetCommitRequest,
  OffsetCommitResponseTopicInput,
  OffsetDeleteRequest,
  OffsetDeleteResponseTopicInput,
  OffsetFetchResponsePartitionsInput,
  SyncGroupRequest,
  SyncGroupRequestAssignment,
} from "../../protocol/generated/index.js";
import type { BrokerConfig, TopicLookup } from "../broker-context.js";
import { Group, type GroupState } from "./group.js";
import type { GroupRecord } from "./group-records.js";
import type { GroupStore } from "./group-store.js";
import { GroupMember, type MemberProtocol } from "./member.js";
import { expiredOffsets } from "./offset-expiry.js";
import { type JoinResult, joinError, NO_BYTES, type SyncResult, syncError } from "./results.js";

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

/** What the JoinGroup handler knows about the request beyond its body. */
export interface JoiningClient {
  readonly clientId: string;
  readonly clientHost: string;
  /** From v4: a new member first gets MEMBER_ID_REQUIRED and an id to rejoin with. */
  readonly requireKnownMemberId: boolean;
  /** From v9: a static leader that comes back is told not to compute a new assignment. */
  readonly supportsSkippingAssignment: boolean;
}

export interface LeaveResult {
  readonly errorCode: number;
  readonly members: LeaveGroupResponseMemberResponseInput[];
}

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

export type DescribedGroup = Omit<DescribeGroupsResponseDescribedGroupInput, "authorizedOperations">;

/** Kafka's offset.metadata.max.bytes (counted in characters, as Kafka does). */
const MAX_OFFSET_METADATA_LENGTH = 4096;
const DEFAULT_RETENTION_CHECK_INTERVAL_MS = 10 * 60 * 1000;
/** The only group type this coordinator runs (ListGroups v5 filters on it). */
const CLASSIC_GROUP_TYPE = "classic";

/**
 * The classic group coordinator, as Kafka's GroupCoordinator: groups form and rebalance
 * through JoinGroup and SyncGroup, stay alive through heartbeats, and commit offsets, which
 * the store keeps across restarts. Everything runs on the event loop, so each request sees
 * and leaves a consistent state; requests that must wait for others (JoinGroup, SyncGroup)
 * get promises that the completing event resolves. Each member has one timer, refreshed on
 * every heartbeat, so a heartbeat costs two map lookups and a timer refresh.
 */
export class GroupCoordinator {
  private readonly groups = new Map<string, Group>();
  private phase: "loading" | "active" | "closed" = "loading";
  private retentionTimer: NodeJS.Timeout | null = null;
  private readonly config: GroupCoordinatorConfig;
  private readonly logger: Logger;
  private readonly topics: TopicLookup;
  private readonly store: GroupStore;
  private readonly now: () => number;
  private readonly retentionCheckIntervalMs: number;

  constructor(options: GroupCoordinatorOptions) {
    this.config = options.config;
    this.logger = options.logger;
    this.topics = options.topics;
    this.store = options.store;
    this.now = options.now ?? Date.now;
    this.retentionCheckIntervalMs = options.offsetsRetentionCheckIntervalMs ?? DEFAULT_RETENTION_CHECK_INTERVAL_MS;
  }

  /** Loads the stored offsets and groups; until it resolves, group requests are told to retry. */
  async start(): Promise<void> {
    await this.store.open();
    const now = this.now();
    for (const groupId of this.store.state.groupIds()) {
      const stored = this.store.state.snapshot(groupId);
      const group = stored ? Group.restore(groupId, stored, now) : new Group(groupId, now);
      this.groups.set(groupId, group);
      // Restored members must heartbeat again within their session timeout, or they expire.
      for (const member of group.members.values()) this.armSession(group, member);
      if (group.size > this.config.groupMaxSize) this.prepareRebalance(group, "the group is over group.max.size");
    }
    this.phase = "active";
    this.retentionTimer = setInterval(
      () => this.guard(() => this.removeExpiredOffsets()),
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
    for (const group of this.groups.values()) {
      this.clearJoinTimer(group);
      this.clearSyncTimer(group);
      for (const timer of group.pendingMembers.values()) clearTimeout(timer);
      for (const member of group.members.values()) {
        if (member.sessionTimer) clearTimeout(member.sessionTimer);
        group.resolveJoin(member, joinError(member.memberId, ErrorCode.COORDINATOR_NOT_AVAILABLE));
        group.resolveSync(member, syncError(ErrorCode.COORDINATOR_NOT_AVAILABLE));
      }
    }
    // Writes still in flight find no group to act on when they complete.
    this.groups.clear();
    await this.store.close();
  }

  // ---- JoinGroup ---------------------------------------------------------------------------

  joinGroup(request: JoinGroupRequest, client: JoiningClient): Promise<JoinResult> {
    return Promise.resolve(this.join(request, client));
  }

  private join(request: JoinGroupRequest, client: JoiningClient): JoinResult | Promise<JoinResult> {
    const { groupId, memberId } = request;
    const unavailable = this.unavailableError();
    if (unavailable !== null) return joinError(memberId, unavailable);
    if (groupId === "") return joinError(memberId, ErrorCode.INVALID_GROUP_ID);
    const { groupMinSessionTimeoutMs: min, groupMaxSessionTimeoutMs: max } = this.config;
    if (request.sessionTimeoutMs < min || request.sessionTimeoutMs > max) {
      return joinError(memberId, ErrorCode.INVALID_SESSION_TIMEOUT);
    }
    const isNewMember = memberId === "";
    let group = this.groups.get(groupId);
    if (!group) {
      // Only a member without an id may create a group; one with an id lost it (a restart).
      if (!isNewMember) return joinError(memberId, ErrorCode.UNKNOWN_MEMBER_ID);
      group = new Group(groupId, this.now());
      this.groups.set(groupId, group);
    }

    let result: JoinResult | Promise<JoinResult>;
    if (!this.acceptsJoiningMember(group, memberId)) {
      const member = group.get(memberId);
      if (member) this.removeMember(group, member, "the group is at group.max.size");
      else this.removePendingMember(group, memberId);
      result = joinError("", ErrorCode.GROUP_MAX_SIZE_REACHED);
    } else if (isNewMember) {
      result = this.joinNewMember(group, request, client);
    } else {
      result = this.joinKnownMember(group, request, client);
    }
    this.tryCompleteJoin(group);
    this.dropIfUnused(group);
    return result;
  }

  /** Kafka's acceptJoiningMember: group.max.size counts members that are (re)joining. */
  private acceptsJoiningMember(group: Group, memberId: string): boolean {
    const max = this.config.groupMaxSize;
    switch (group.state) {
      case "Empty":
      case "Dead":
        return true;
      case "PreparingRebalance":
        // Counting members that have rejoined lets the last ones to rejoin be turned away.
        return Boolean(group.get(memberId)?.awaitingJoin) || group.awaitingJoin < max;
      case "CompletingRebalance":
      case "Stable":
        return group.has(memberId) || group.size < max;
    }
  }

  private joinNewMember(
    group: Group,
    request: JoinGroupRequest,
    client: JoiningClient,
  ): JoinResult | Promise<JoinResult> {
    if (group.state === "Dead") return joinError("", ErrorCode.COORDINATOR_NOT_AVAILABLE);
    const protocols = protocolsOf(request);
    if (!group.supportsProtocols(request.protocolType, protocols)) {
      return joinError("", ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    }
    const instanceId = request.groupInstanceId;
    const newMemberId = `${instanceId ?? client.clientId}-${randomUUID()}`;
    if (instanceId !== null) {
      const oldMemberId = group.staticMemberId(instanceId);
      if (oldMemberId !== undefined) {
        return this.replaceStaticMember(group, instanceId, oldMemberId, newMemberId, request, client);
      }
      return this.addMemberAndRebalance(group, newMemberId, request, client);
    }
    if (client.requireKnownMemberId) {
      // KIP-394: the client rejoins with this id; until then the round waits for it.
      this.addPendingMember(group, newMemberId, request.sessionTimeoutMs);
      return joinError(newMemberId, ErrorCode.MEMBER_ID_REQUIRED);
    }
    return this.addMemberAndRebalance(group, newMemberId, request, client);
  }

  private joinKnownMember(
    group: Group,
    request: JoinGroupRequest,
    client: JoiningClient,
  ): JoinResult | Promise<JoinResult> {
    const { memberId, groupInstanceId } = request;
    if (group.state === "Dead") return joinError(memberId, ErrorCode.COORDINATOR_NOT_AVAILABLE);
    const protocols = protocolsOf(request);
    if (!group.supportsProtocols(request.protocolType, protocols)) {
      return joinError(memberId, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    }
    if (group.pendingMembers.has(memberId)) {
      // Pending ids are handed to dynamic members only; an instance id with one is made up.
      if (groupInstanceId !== null) return joinError(memberId, ErrorCode.UNKNOWN_MEMBER_ID);
      return this.addMemberAndRebalance(group, memberId, request, client);
    }
    if (group.isStaticMemberFenced(groupInstanceId, memberId)) {
      return joinError(memberId, ErrorCode.FENCED_INSTANCE_ID);
    }
    const member = group.get(memberId);
    if (!member || (groupInstanceId !== null && group.staticMemberId(groupInstanceId) === undefined)) {
      return joinError(memberId, ErrorCode.UNKNOWN_MEMBER_ID);
    }
    switch (group.state) {
      case "PreparingRebalance":
        return this.updateMemberAndRebalance(group, member, request, protocols);
      case "CompletingRebalance":
        // The same metadata again: the member missed its JoinGroup response; send it again.
        if (member.matches(protocols)) return this.currentGeneration(group, member);
        return this.updateMemberAndRebalance(group, member, request, protocols);
      case "Stable":
        // The leader rejoins to make the group reassign (topic metadata changed, say).
        if (group.isLeader(memberId) || !member.matches(protocols)) {
          return this.updateMemberAndRebalance(group, member, request, protocols);
        }
        return this.currentGeneration(group, member);
      default:
        return joinError(memberId, ErrorCode.UNKNOWN_MEMBER_ID);
    }
  }

  private currentGeneration(group: Group, member: GroupMember): JoinResult {
    this.armSession(group, member);
    return {
      errorCode: ErrorCode.NONE,
      generationId: group.generationId,
      protocolType: group.protocolType,
      protocolName: group.protocolName,
      leader: group.leaderId ?? "",
      skipAssignment: false,
      memberId: member.memberId,
      members: group.isLeader(member.memberId) ? group.currentMemberMetadata() : [],
    };
  }

  private addMemberAndRebalance(
    group: Group,
    memberId: string,
    request: JoinGroupRequest,
    client: JoiningClient,
  ): Promise<JoinResult> {
    const member = new GroupMember(
      memberId,
      request.groupInstanceId,
      client.clientId,
      client.clientHost,
      request.rebalanceTimeoutMs,
      request.sessionTimeoutMs,
      protocolsOf(request),
    );
    this.clearPendingTimer(group, memberId);
    // A member arriving during the initial delay makes the round wait once more for others.
    if (group.state === "PreparingRebalance" && group.generationId === 0) group.newMemberAdded = true;
    group.add(member, request.protocolType);
    const joined = group.parkJoin(member);
    this.armSession(group, member);
    this.maybePrepareRebalance(group, `member ${memberId} joined`);
    return joined;
  }

  private updateMemberAndRebalance(
    group: Group,
    member: GroupMember,
    request: JoinGroupRequest,
    protocols: readonly MemberProtocol[],
  ): Promise<JoinResult> {
    group.updateMember(member, protocols, request.rebalanceTimeoutMs, request.sessionTimeoutMs);
    const joined = group.parkJoin(member);
    this.maybePrepareRebalance(group, `member ${member.memberId} rejoined`);
    return joined;
  }

  /**
   * A static member came back without its member id (its process restarted). It takes over
   * its old place under a new id, and the old id is fenced. In a Stable group whose protocol
   * stays the same nothing else changes: it gets the current generation and, on SyncGroup,
   * its old assignment, and the other members never notice.
   */
  private replaceStaticMember(
    group: Group,
    instanceId: string,
    oldMemberId: string,
    newMemberId: string,
    request: JoinGroupRequest,
    client: JoiningClient,
  ): Promise<JoinResult> {
    const previousLeader = group.leaderId;
    const member = group.replaceStaticMember(instanceId, oldMemberId, newMemberId);
    const previous = {
      protocols: member.protocols,
      rebalanceTimeoutMs: member.rebalanceTimeoutMs,
      sessionTimeoutMs: member.sessionTimeoutMs,
    };
    this.armSession(group, member);
    group.updateMember(member, protocolsOf(request), request.rebalanceTimeoutMs, request.sessionTimeoutMs);
    const joined = group.parkJoin(member);
    this.logger.info({ group: group.groupId, instanceId, oldMemberId, newMemberId }, "static member rejoined");

    if (group.state === "CompletingRebalance") {
      this.maybePrepareRebalance(group, `static member ${instanceId} rejoined during CompletingRebalance`);
    } else if (group.state === "Stable") {
      if (group.selectProtocol() !== group.protocolName) {
        this.maybePrepareRebalance(group, `static member ${instanceId} rejoined with other protocols`);
        return joined;
      }
      const generationId = group.generationId;
      this.save([{ kind: "group", groupId: group.groupId, group: group.snapshot() }]).then(
        () => {
          // A round that started meanwhile answers the parked JoinGroup itself.
          if (group.state !== "Stable" || group.generationId !== generationId) return;
          const isLeader = group.isLeader(newMemberId);
          const skipAssignment = client.supportsSkippingAssignment && isLeader;
          group.resolveJoin(member, {
            errorCode: ErrorCode.NONE,
            generationId,
            protocolType: group.protocolType,
            protocolName: group.protocolName,
            // An old client told it leads would compute an assignment that a Stable group
            // never hands out; so it is told the old leader id, which is not its own.
            leader: (client.supportsSkippingAssignment ? group.leaderId : previousLeader) ?? "",
            skipAssignment,
            memberId: newMemberId,
            members: skipAssignment ? group.currentMemberMetadata() : [],
          });
        },
        (error: unknown) => {
          this.logger.error({ err: error, group: group.groupId }, "could not store the static member's new id");
          if (group.get(newMemberId) !== member) return;
          group.resolveJoin(member, joinError("", ErrorCode.COORDINATOR_NOT_AVAILABLE));
          group.replaceStaticMember(instanceId, newMemberId, oldMemberId);
          group.updateMember(member, previous.protocols, previous.rebalanceTimeoutMs, previous.sessionTimeoutMs);
        },
      );
    }
    // PreparingRebalance: the member's JoinGroup simply waits for the round like the others.
    return joined;
  }

  private addPendingMember(group: Group, memberId: string, sessionTimeoutMs: number): void {
    const timer = this.schedule(sessionTimeoutMs, () => {
      if (this.groups.get(group.groupId) !== group || !group.pendingMembers.has(memberId)) return;
      this.logger.info({ group: group.groupId, memberId }, "pending member did not rejoin in time");
      this.removePendingMember(group, memberId);
    });
    group.pendingMembers.set(memberId, timer);
  }

  private clearPendingTimer(group: Group, memberId: string): void {
    const timer = group.pendingMembers.get(memberId);
    if (timer) clearTimeout(timer);
  }

  private removePendingMember(group: Group, memberId: string): void {
    this.clearPendingTimer(group, memberId);
    if (!group.pendingMembers.delete(memberId)) return;
    this.tryCompleteJoin(group);
    this.dropIfUnused(group);
  }

  // ---- Rebalance rounds --------------------------------------------------------------------

  private maybePrepareRebalance(group: Group, reason: string): void {
    if (group.canRebalance()) this.prepareRebalance(group, reason);
  }

  private prepareRebalance(group: Group, reason: string): void {
    // Members waiting for an assignment of the generation that is ending must rejoin instead.
    if (group.state === "CompletingRebalance") this.resetAssignments(group, ErrorCode.REBALANCE_IN_PROGRESS);
    this.clearSyncTimer(group);
    this.clearJoinTimer(group);
    const fromEmpty = group.state === "Empty";
    group.transitionTo("PreparingRebalance", this.now());
    this.logger.info({ group: group.groupId, generation: group.generationId, reason }, "preparing to rebalance group");
    if (fromEmpty) {
      const delay = this.config.groupInitialRebalanceDelayMs;
      this.startInitialDelay(group, delay, Math.max(group.rebalanceTimeoutMs() - delay, 0));
    } else {
      group.joinTimer = this.schedule(group.rebalanceTimeoutMs(), () => this.completeJoin(group));
      this.tryCompleteJoin(group);
    }
  }

  /**
   * group.initial.rebalance.delay.ms: a new group waits a little so that consumers starting
   * together land in one round; each newcomer buys another delay, up to the rebalance timeout.
   */
  private startInitialDelay(group: Group, delayMs: number, remainingMs: number): void {
    group.inInitialDelay = true;
    group.joinTimer = this.schedule(delayMs, () => {
      group.joinTimer = null;
      if (group.newMemberAdded && remainingMs > 0) {
        group.newMemberAdded = false;
        const delay = Math.min(this.config.groupInitialRebalanceDelayMs, remainingMs);
        this.startInitialDelay(group, delay, remainingMs - delay);
        return;
      }
      group.inInitialDelay = false;
      this.completeJoin(group);
    });
  }

  private tryCompleteJoin(group: Group): void {
    if (group.state === "PreparingRebalance" && !group.inInitialDelay && group.hasAllMembersJoined()) {
      this.completeJoin(group);
    }
  }

  /** Ends the join phase: everybody rejoined, or the rebalance timeout (or delay) ran out. */
  private completeJoin(group: Group): void {
    if (group.state !== "PreparingRebalance" || this.groups.get(group.groupId) !== group) return;
    this.clearJoinTimer(group);
    group.inInitialDelay = false;
    group.newMemberAdded = false;
    for (const member of group.notYetRejoinedMembers()) {
      // Static members keep their place until their session expires or they leave.
      if (member.isStatic) continue;
      this.logger.info({ group: group.groupId, memberId: member.memberId }, "member did not rejoin in time");
      this.dropMember(group, member);
    }
    if (!group.electJoinedLeader() && group.size > 0) {
      // Only static members that have not rejoined are left: give them another round's time.
      group.joinTimer = this.schedule(group.rebalanceTimeoutMs(), () => this.completeJoin(group));
      return;
    }

    const now = this.now();
    group.initNextGeneration(now);
    if (group.size === 0) {
      this.logger.info({ group: group.groupId, generation: group.generationId }, "group is empty");
      this.persist(group);
      return;
    }
    this.logger.info(
      { group: group.groupId, generation: group.generationId, members: group.size, protocol: group.protocolName },
      "group rebalanced",
    );
    const leaderView = group.currentMemberMetadata();
    for (const member of group.members.values()) {
      group.resolveJoin(member, {
        errorCode: ErrorCode.NONE,
        generationId: group.generationId,
        protocolType: group.protocolType,
        protocolName: group.protocolName,
        leader: group.leaderId ?? "",
        skipAssignment: false,
        memberId: member.memberId,
        members: group.isLeader(member.memberId) ? leaderView : [],
      });
      this.armSession(group, member);
      group.pendingSyncMembers.add(member.memberId);
    }
    const generationId = group.generationId;
    group.syncTimer = this.schedule(group.rebalanceTimeoutMs(), () => this.expirePendingSync(group, generationId));
  }

  /** Members that never sent SyncGroup for this generation are removed, and a round starts. */
  private expirePendingSync(group: Group, generationId: number): void {
    group.syncTimer = null;
    if (this.groups.get(group.groupId) !== group || group.generationId !== generationId) return;
    if (group.state !== "CompletingRebalance" && group.state !== "Stable") return;
    const missing = [...group.pendingSyncMembers];
    for (const memberId of missing) {
      const member = group.get(memberId);
      if (member) this.dropMember(group, member);
    }
    this.prepareRebalance(group, `members ${missing.join(", ")} did not send SyncGroup in time`);
  }

  // ---- SyncGroup ---------------------------------------------------------------------------

  syncGroup(request: SyncGroupRequest): Promise<SyncResult> {
    return Promise.resolve(this.sync(request));
  }

  private sync(request: SyncGroupRequest): SyncResult | Promise<SyncResult> {
    const { groupId, memberId } = request;
    const unavailable = this.unavailableError();
    if (unavailable !== null) return syncError(unavailable);
    if (groupId === "") return syncError(ErrorCode.INVALID_GROUP_ID);
    const group = this.groups.get(groupId);
    if (!group) return syncError(ErrorCode.UNKNOWN_MEMBER_ID);
    if (group.isStaticMemberFenced(request.groupInstanceId, memberId)) return syncError(ErrorCode.FENCED_INSTANCE_ID);
    const member = group.get(memberId);
    if (!member) return syncError(ErrorCode.UNKNOWN_MEMBER_ID);
    if (request.generationId !== group.generationId) return syncError(ErrorCode.ILLEGAL_GENERATION);
    if (
      (request.protocolType !== null && request.protocolType !== group.protocolType) ||
      (request.protocolName !== null && request.protocolName !== group.protocolName)
    ) {
      return syncError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    }
    switch (group.state) {
      case "PreparingRebalance":
        return syncError(ErrorCode.REBALANCE_IN_PROGRESS);
      case "CompletingRebalance": {
        const synced = group.parkSync(member);
        this.markSynced(group, memberId);
        if (group.isLeader(memberId)) this.installAssignment(group, request.assignments);
        return synced;
      }
      case "Stable":
        this.markSynced(group, memberId);
        this.armSession(group, member);
        return {
          errorCode: ErrorCode.NONE,
          protocolType: group.protocolType,
          protocolName: group.protocolName,
          assignment: member.assignment,
        };
      default:
        return syncError(ErrorCode.UNKNOWN_MEMBER_ID);
    }
  }

  private markSynced(group: Group, memberId: string): void {
    group.pendingSyncMembers.delete(memberId);
    if (group.pendingSyncMembers.size === 0) this.clearSyncTimer(group);
  }

  /**
   * The leader's assignment: stored with the group, then handed to every parked member and
   * the group is Stable. The bytes are relayed as they are (Kafka does not look inside
   * them either); members the leader left out get empty bytes, unknown member ids are ignored.
   */
  private installAssignment(group: Group, assignments: readonly SyncGroupRequestAssignment[]): void {
    const byMember = new Map<string, Buffer>();
    // Copied: the request's bytes are a view of the connection's read buffer.
    for (const a of assignments) byMember.set(a.memberId, Buffer.from(a.assignment));
    const assignmentOf = (member: GroupMember) => byMember.get(member.memberId) ?? NO_BYTES;
    const generationId = group.generationId;
    const stillWaiting = () =>
      this.groups.get(group.groupId) === group &&
      group.state === "CompletingRebalance" &&
      group.generationId === generationId;

    this.save([{ kind: "group", groupId: group.groupId, group: group.snapshot(assignmentOf) }]).then(
      () => {
        // Another member may have joined or left while the snapshot was written.
        if (!stillWaiting()) return;
        for (const member of group.members.values()) member.assignment = assignmentOf(member);
        this.propagateAssignment(group, ErrorCode.NONE);
        group.transitionTo("Stable", this.now());
      },
      (error: unknown) => {
        this.logger.error({ err: error, group: group.groupId }, "could not store the group's assignment");
        if (!stillWaiting()) return;
        this.resetAssignments(group, ErrorCode.COORDINATOR_NOT_AVAILABLE);
        this.maybePrepareRebalance(group, "storing the assignment failed");
      },
    );
  }

  private propagateAssignment(group: Group, errorCode: number): void {
    for (const member of group.members.values()) {
      const answered = group.resolveSync(member, {
        errorCode,
        protocolType: group.protocolType,
        protocolName: group.protocolName,
        assignment: member.assignment,
      });
      if (answered) this.armSession(group, member);
    }
  }

  private resetAssignments(group: Group, errorCode: number): void {
    for (const member of group.members.values()) member.assignment = NO_BYTES;
    this.propagateAssignment(group, errorCode);
  }

  // ---- Heartbeat and LeaveGroup ------------------------------------------------------------

  heartbeat(request: HeartbeatRequest): number {
    // While loading, Kafka answers heartbeats blindly: the member's state is not known yet.
    if (this.phase === "loading") return ErrorCode.NONE;
    if (this.phase === "closed") return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (request.groupId === "") return ErrorCode.INVALID_GROUP_ID;
    const group = this.groups.get(request.groupId);
    if (!group) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (group.isStaticMemberFenced(request.groupInstanceId, request.memberId)) return ErrorCode.FENCED_INSTANCE_ID;
    const member = group.get(request.memberId);
    if (!member) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (request.generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
    switch (group.state) {
      case "CompletingRebalance":
      case "Stable":
        this.armSession(group, member);
        return ErrorCode.NONE;
      case "PreparingRebalance":
        // How members learn that they must rejoin.
        this.armSession(group, member);
        return ErrorCode.REBALANCE_IN_PROGRESS;
      default:
        return ErrorCode.UNKNOWN_MEMBER_ID;
    }
  }

  /**
   * Removes members by member id, or by instance id alone (an administrator removing a
   * static member). Each gets its own error; the group's error is for the whole request.
   */
  leaveGroup(groupId: string, leaving: readonly LeaveGroupRequestMemberIdentity[]): LeaveResult {
    const unavailable = this.unavailableError();
    if (unavailable !== null) return { errorCode: unavailable, members: [] };
    if (groupId === "") return { errorCode: ErrorCode.INVALID_GROUP_ID, members: [] };
    const group = this.groups.get(groupId);
    const answer = (
      who: LeaveGroupRequestMemberIdentity,
      errorCode: number,
    ): LeaveGroupResponseMemberResponseInput => ({
      memberId: who.memberId,
      groupInstanceId: who.groupInstanceId,
      errorCode,
    });
    if (!group)
      return { errorCode: ErrorCode.NONE, members: leaving.map((m) => answer(m, ErrorCode.UNKNOWN_MEMBER_ID)) };

    const members = leaving.map((who) => {
      const reason = `member left the group${who.reason ? `: ${who.reason}` : ""}`;
      if (who.memberId === "") {
        const current = group.get(group.staticMemberId(who.groupInstanceId) ?? "");
        if (!current) return answer(who, ErrorCode.UNKNOWN_MEMBER_ID);
        this.removeMember(group, current, reason);
        return answer(who, ErrorCode.NONE);
      }
      if (group.pendingMembers.has(who.memberId)) {
        this.removePendingMember(group, who.memberId);
        return answer(who, ErrorCode.NONE);
      }
      if (group.isStaticMemberFenced(who.groupInstanceId, who.memberId))
        return answer(who, ErrorCode.FENCED_INSTANCE_ID);
      const member = group.get(who.memberId);
      if (!member) return answer(who, ErrorCode.UNKNOWN_MEMBER_ID);
      this.removeMember(group, member, reason);
      return answer(who, ErrorCode.NONE);
    });
    return { errorCode: ErrorCode.NONE, members };
  }

  // ---- Member removal and sessions ---------------------------------------------------------

  /** Removes a member (left, expired, turned away) and moves the group on. */
  private removeMember(group: Group, member: GroupMember, reason: string): void {
    this.logger.info({ group: group.groupId, memberId: member.memberId, reason }, "removing member from group");
    this.dropMember(group, member);
    switch (group.state) {
      case "Stable":
      case "CompletingRebalance":
        this.maybePrepareRebalance(group, reason);
        break;
      case "PreparingRebalance":
        this.tryCompleteJoin(group);
        break;
      default:
        break;
    }
  }

  /** Takes a member out without moving the group on; its parked requests get UNKNOWN_MEMBER_ID. */
  private dropMember(group: Group, member: GroupMember): void {
    // A parked client that is still there retries with an empty member id.
    group.resolveJoin(member, joinError("", ErrorCode.UNKNOWN_MEMBER_ID));
    group.resolveSync(member, syncError(ErrorCode.UNKNOWN_MEMBER_ID));
    if (member.sessionTimer) clearTimeout(member.sessionTimer);
    member.sessionTimer = null;
    group.remove(member.memberId);
  }

  /** Restarts the member's session timeout; the common case is one timer refresh. */
  private armSession(group: Group, member: GroupMember): void {
    const timer = member.sessionTimer;
    if (timer && member.sessionTimerMs === member.sessionTimeoutMs) {
      timer.refresh();
      return;
    }
    if (timer) clearTimeout(timer);
    member.sessionTimerMs = member.sessionTimeoutMs;
    member.sessionTimer = this.schedule(member.sessionTimeoutMs, () => this.expireSession(group, member));
  }

  private expireSession(group: Group, member: GroupMember): void {
    if (this.groups.get(group.groupId) !== group || group.get(member.memberId) !== member) return;
    // A member parked in JoinGroup or SyncGroup is waiting on us, not silent: Kafka counts the
    // wait as heartbeats. Its timer restarts when it is answered.
    if (member.awaitingJoin || member.awaitingSync) {
      member.sessionTimer?.refresh();
      return;
    }
    this.removeMember(group, member, `session timeout of ${member.sessionTimeoutMs} ms expired`);
  }

  // ---- Offsets -----------------------------------------------------------------------------

  /**
   * OffsetCommit: checks each partition exists, then who may commit (Kafka's rules: members
   * of the current generation, or anyone with generation -1 while the group is empty, which
   * also creates it), then writes all accepted offsets as one entry and answers once the
   * store has them.
   */
  async commitOffsets(request: OffsetCommitRequest): Promise<OffsetCommitResponseTopicInput[]> {
    const now = this.now();
    const verdict = this.offsetCommitVerdict(request);
    const records: GroupRecord[] = [];
    const accepted: { errorCode: number }[] = [];
    const expireTimestamp = request.retentionTimeMs === -1 ? -1 : now + request.retentionTimeMs;
    const topics = request.topics.map((topic) => {
      const partitionCount = this.topics.partitionCount(topic.name);
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

    let group = verdict.group;
    if (!group) {
      // A consumer that manages its own partitions and uses Kafka only to store offsets.
      group = new Group(request.groupId, now);
      this.groups.set(request.groupId, group);
    }
    if (verdict.member) this.armSession(group, verdict.member);
    try {
      await this.save(records);
    } catch (error) {
      this.logger.error({ err: error, group: request.groupId }, "could not store committed offsets");
      for (const result of accepted) result.errorCode = ErrorCode.COORDINATOR_NOT_AVAILABLE;
    }
    return topics;
  }

  /** The error for every partition of the commit, or who commits. */
  private offsetCommitVerdict(
    request: OffsetCommitRequest,
  ): number | { group: Group | undefined; member: GroupMember | undefined } {
    const unavailable = this.unavailableError();
    if (unavailable !== null) return unavailable;
    const generationId = request.generationIdOrMemberEpoch;
    const group = this.groups.get(request.groupId);
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
  fetchOffsets(
    groupId: string,
    topics: readonly { readonly name: string; readonly partitionIndexes: readonly number[] }[] | null,
  ): FetchOffsetsResult {
    const unavailable = this.unavailableError();
    if (unavailable !== null) return { errorCode: unavailable, topics: [] };
    const offsets = this.store.state.offsets(groupId);
    const entry = (partitionIndex: number, topic: string): OffsetFetchResponsePartitionsInput => {
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
        topics: topics.map((t) => ({ name: t.name, partitions: t.partitionIndexes.map((p) => entry(p, t.name)) })),
      };
    }
    const all = [...(offsets ?? new Map())].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return {
      errorCode: ErrorCode.NONE,
      topics: all.map(([name, partitions]) => ({
        name,
        partitions: [...partitions.keys()].sort((a, b) => a - b).map((p) => entry(p, name)),
      })),
    };
  }

  /**
   * OffsetDelete: an empty group may drop any offsets; a consumer group with members only
   * those of topics it is not subscribed to (GROUP_SUBSCRIBED_TO_TOPIC otherwise); any other
   * group with members none (NON_EMPTY_GROUP).
   */
  async deleteOffsets(request: OffsetDeleteRequest): Promise<DeleteOffsetsResult> {
    const unavailable = this.unavailableError();
    if (unavailable !== null) return { errorCode: unavailable, topics: [] };
    if (request.groupId === "") return { errorCode: ErrorCode.INVALID_GROUP_ID, topics: [] };
    const group = this.groups.get(request.groupId);
    if (!group || group.state === "Dead") return { errorCode: ErrorCode.GROUP_ID_NOT_FOUND, topics: [] };
    if (group.state !== "Empty" && !group.isConsumerGroup) return { errorCode: ErrorCode.NON_EMPTY_GROUP, topics: [] };

    const offsets = this.store.state.offsets(group.groupId);
    const records: GroupRecord[] = [];
    const removed: { errorCode: number }[] = [];
    const topics = request.topics.map((topic) => {
      const partitionCount = this.topics.partitionCount(topic.name);
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
        await this.removeOffsets(records, [group]);
      } catch (error) {
        this.logger.error({ err: error, group: group.groupId }, "could not store deleted offsets");
        for (const result of removed) result.errorCode = ErrorCode.COORDINATOR_NOT_AVAILABLE;
      }
    }
    return { errorCode: ErrorCode.NONE, topics };
  }

  /**
   * Removes expired offsets (Kafka's rules, see offset-expiry.ts), then empty groups left
   * without offsets. Runs on a timer; exposed so tests need not wait for it.
   */
  async removeExpiredOffsets(): Promise<void> {
    if (this.phase !== "active") return;
    const now = this.now();
    const records: GroupRecord[] = [];
    for (const group of this.groups.values()) {
      const offsets = this.store.state.offsets(group.groupId);
      if (!offsets) continue;
      for (const { topic, partition } of expiredOffsets(group, offsets, now, this.config.offsetsRetentionMs)) {
        records.push({ kind: "offset-removed", groupId: group.groupId, topic, partition });
      }
    }
    if (records.length > 0) this.logger.info({ offsets: records.length }, "removing expired offsets");
    await this.removeOffsets(records, [...this.groups.values()]);
  }

  /** Stores offset removals, then removes the groups among `groups` they left empty and bare. */
  private async removeOffsets(records: readonly GroupRecord[], groups: Iterable<Group>): Promise<void> {
    const writes: Promise<void>[] = [];
    if (records.length > 0) writes.push(this.save(records));
    const removals: GroupRecord[] = [];
    for (const group of groups) {
      const removal = this.removeIfEmptyWithoutOffsets(group);
      if (removal) removals.push(removal);
    }
    if (removals.length > 0) writes.push(this.save(removals));
    await Promise.all(writes);
  }

  // ---- Topic deletion ----------------------------------------------------------------------

  /**
   * A topic was deleted: its committed offsets go, and groups whose members subscribe to it
   * rebalance, so their leader computes an assignment without it.
   */
  async onTopicDeleted(topic: string): Promise<void> {
    if (this.phase !== "active") return;
    const records: GroupRecord[] = [];
    const affected: Group[] = [];
    for (const groupId of this.store.state.groupsWithOffsetsFor(topic)) {
      const partitions = this.store.state.offsets(groupId)?.get(topic);
      for (const partition of partitions?.keys() ?? []) {
        records.push({ kind: "offset-removed", groupId, topic, partition });
      }
      const group = this.groups.get(groupId);
      if (group) affected.push(group);
    }
    for (const group of this.groups.values()) {
      if (group.isSubscribedTo(topic)) this.maybePrepareRebalance(group, `subscribed topic ${topic} was deleted`);
    }
    try {
      await this.removeOffsets(records, affected);
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
    const deleted: { groupId: string; errorCode: number }[] = [];
    const results = groupIds.map((groupId) => {
      if (unavailable !== null) return { groupId, errorCode: unavailable };
      const group = this.groups.get(groupId);
      if (!group || group.state === "Dead") return { groupId, errorCode: ErrorCode.GROUP_ID_NOT_FOUND };
      if (group.state !== "Empty") return { groupId, errorCode: ErrorCode.NON_EMPTY_GROUP };
      const removal = this.removeGroup(group);
      if (removal) records.push(removal);
      const result = { groupId, errorCode: ErrorCode.NONE as number };
      deleted.push(result);
      return result;
    });
    if (records.length > 0) {
      try {
        await this.save(records);
      } catch (error) {
        this.logger.error({ err: error }, "could not store deleted groups");
        for (const result of deleted) result.errorCode = ErrorCode.COORDINATOR_NOT_AVAILABLE;
      }
    }
    return results;
  }

  // ---- Helpers -----------------------------------------------------------------------------

  private unavailableError(): number | null {
    if (this.phase === "loading") return ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
    if (this.phase === "closed") return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    return null;
  }

  /** Kafka's cleanup: an empty group with no offsets left is removed (and its snapshot). */
  private removeIfEmptyWithoutOffsets(group: Group): GroupRecord | null {
    if (group.state !== "Empty" || group.pendingMembers.size > 0) return null;
    if (this.groups.get(group.groupId) !== group || this.store.state.offsets(group.groupId)) return null;
    return this.removeGroup(group);
  }

  /**
   * Marks the group Dead and forgets it; returns the record that removes it from the store,
   * or null if the store holds nothing of it.
   */
  private removeGroup(group: Group): GroupRecord | null {
    for (const timer of group.pendingMembers.values()) clearTimeout(timer);
    group.pendingMembers.clear();
    this.clearJoinTimer(group);
    group.transitionTo("Dead", this.now());
    this.groups.delete(group.groupId);
    const stored = this.store.state.snapshot(group.groupId) || this.store.state.offsets(group.groupId);
    return stored ? { kind: "group-removed", groupId: group.groupId } : null;
  }

  /** A group created for a request that then failed leaves no trace. */
  private dropIfUnused(group: Group): void {
    if (group.state !== "Empty" || group.size > 0 || group.pendingMembers.size > 0) return;
    if (this.store.state.offsets(group.groupId) || this.store.state.snapshot(group.groupId)) return;
    if (this.groups.get(group.groupId) === group) this.groups.delete(group.groupId);
  }

  /** Stores the group's snapshot without waiting; a failure is logged. */
  private persist(group: Group): void {
    this.save([{ kind: "group", groupId: group.groupId, group: group.snapshot() }]).catch((error: unknown) => {
      this.logger.error({ err: error, group: group.groupId }, "could not store the group");
    });
  }

  private save(records: readonly GroupRecord[]): Promise<void> {
    try {
      return this.store.write(records);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  private clearJoinTimer(group: Group): void {
    if (group.joinTimer) clearTimeout(group.joinTimer);
    group.joinTimer = null;
    group.inInitialDelay = false;
  }

  private clearSyncTimer(group: Group): void {
    if (group.syncTimer) clearTimeout(group.syncTimer);
    group.syncTimer = null;
  }

  /**
   * A timer whose failure is logged, not fatal. It keeps the process alive like the parked
   * requests it will answer; close() clears them all.
   */
  private schedule(delayMs: number, action: () => void): NodeJS.Timeout {
    return setTimeout(() => this.guard(action), delayMs);
  }

  /** A throw from a timer would end the process: log it instead. */
  private guard(action: () => void | Promise<void>): void {
    try {
      const result = action();
      if (result instanceof Promise) {
        result.catch((error: unknown) => this.logger.error({ err: error }, "group coordinator task failed"));
      }
    } catch (error) {
      this.logger.error({ err: error }, "group coordinator task failed");
    }
  }
}

/** The request's protocols, with metadata copied out of the connection's read buffer. */
function protocolsOf(request: JoinGroupRequest): MemberProtocol[] {
  return request.protocols.map((p) => ({ name: p.name, metadata: Buffer.from(p.metadata) }));
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
