import { randomUUID } from "node:crypto";
import type { Logger } from "../../logger.js";
import { ErrorCode } from "../../protocol/errors.js";
import type {
  HeartbeatRequest,
  JoinGroupRequest,
  LeaveGroupRequestMemberIdentity,
  LeaveGroupResponseMemberResponseInput,
  SyncGroupRequest,
  SyncGroupRequestAssignment,
} from "../../protocol/generated/index.js";
import type { BrokerConfig } from "../broker-context.js";
import type { Group } from "./group.js";
import type { GroupRecord } from "./group-records.js";
import type { GroupRegistry } from "./group-registry.js";
import type { GroupStore } from "./group-store.js";
import { GroupMember, type MemberProtocol } from "./member.js";
import { type JoinResult, joinError, NO_BYTES, type SyncResult, syncError } from "./results.js";
import { scheduleGuarded } from "./timers.js";

export type MembershipConfig = Pick<
  BrokerConfig,
  "groupInitialRebalanceDelayMs" | "groupMinSessionTimeoutMs" | "groupMaxSessionTimeoutMs" | "groupMaxSize"
>;

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

export interface MembershipOptions {
  readonly config: MembershipConfig;
  readonly logger: Logger;
  readonly store: GroupStore;
  readonly groups: GroupRegistry;
  readonly now: () => number;
}

/**
 * The classic rebalance protocol, as Kafka's GroupCoordinator runs it: JoinGroup rounds that
 * end when every member has rejoined (or the rebalance timeout runs out), SyncGroup handing
 * out the leader's assignment, heartbeats and session timeouts, LeaveGroup, static members.
 * Requests that wait for others get promises that the completing event resolves. Each member
 * has one session timer that a heartbeat refreshes, so a heartbeat costs two map lookups and
 * a timer refresh, whatever the number of groups.
 */
export class GroupMembership {
  private readonly config: MembershipConfig;
  private readonly logger: Logger;
  private readonly store: GroupStore;
  private readonly groups: GroupRegistry;
  private readonly now: () => number;

  constructor(options: MembershipOptions) {
    this.config = options.config;
    this.logger = options.logger;
    this.store = options.store;
    this.groups = options.groups;
    this.now = options.now;
  }

  /** Takes a group restored from the store into service: its members must heartbeat again. */
  adopt(group: Group): void {
    for (const member of group.members.values()) this.keepAlive(group, member);
    if (group.size > this.config.groupMaxSize) this.prepareRebalance(group, "the group is over group.max.size");
  }

  /** Stops every timer and answers every parked request with the error. */
  abandon(errorCode: number): void {
    for (const group of this.groups.values()) {
      group.cancelTimers();
      for (const member of group.members.values()) {
        group.resolveJoin(member, joinError(member.memberId, errorCode));
        group.resolveSync(member, syncError(errorCode));
      }
    }
  }

  // ---- JoinGroup ---------------------------------------------------------------------------

  join(request: JoinGroupRequest, client: JoiningClient): JoinResult | Promise<JoinResult> {
    const { groupId, memberId } = request;
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
      group = this.groups.create(groupId, this.now());
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
    this.groups.dropIfUnused(group);
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
    this.keepAlive(group, member);
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
    this.cancelPendingTimer(group, memberId);
    // A member arriving during the initial delay makes the round wait once more for others.
    if (group.state === "PreparingRebalance" && group.generationId === 0) group.newMemberAdded = true;
    group.add(member, request.protocolType);
    const joined = group.parkJoin(member);
    this.keepAlive(group, member);
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
    this.keepAlive(group, member);
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
      this.store.write([snapshotRecord(group)]).then(
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
      if (!this.groups.isCurrent(group) || !group.pendingMembers.has(memberId)) return;
      this.logger.info({ group: group.groupId, memberId }, "pending member did not rejoin in time");
      this.removePendingMember(group, memberId);
    });
    group.pendingMembers.set(memberId, timer);
  }

  private cancelPendingTimer(group: Group, memberId: string): void {
    const timer = group.pendingMembers.get(memberId);
    if (timer) clearTimeout(timer);
  }

  private removePendingMember(group: Group, memberId: string): void {
    this.cancelPendingTimer(group, memberId);
    if (!group.pendingMembers.delete(memberId)) return;
    this.tryCompleteJoin(group);
    this.groups.dropIfUnused(group);
  }

  // ---- Rebalance rounds --------------------------------------------------------------------

  maybePrepareRebalance(group: Group, reason: string): void {
    if (group.canRebalance()) this.prepareRebalance(group, reason);
  }

  /** Rebalances the groups whose members subscribe to the topic (it was deleted, say). */
  rebalanceSubscribersOf(topic: string, reason: string): void {
    for (const group of this.groups.values()) {
      if (group.isSubscribedTo(topic)) this.maybePrepareRebalance(group, reason);
    }
  }

  private prepareRebalance(group: Group, reason: string): void {
    // Members waiting for an assignment of the generation that is ending must rejoin instead.
    if (group.state === "CompletingRebalance") this.resetAssignments(group, ErrorCode.REBALANCE_IN_PROGRESS);
    group.cancelSyncTimer();
    group.cancelJoinTimer();
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
    if (group.state !== "PreparingRebalance" || !this.groups.isCurrent(group)) return;
    group.cancelJoinTimer();
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

    group.initNextGeneration(this.now());
    if (group.size === 0) {
      this.logger.info({ group: group.groupId, generation: group.generationId }, "group is empty");
      this.store.write([snapshotRecord(group)]).catch((error: unknown) => {
        this.logger.error({ err: error, group: group.groupId }, "could not store the emptied group");
      });
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
      this.keepAlive(group, member);
      group.pendingSyncMembers.add(member.memberId);
    }
    const generationId = group.generationId;
    group.syncTimer = this.schedule(group.rebalanceTimeoutMs(), () => this.expirePendingSync(group, generationId));
  }

  /** Members that never sent SyncGroup for this generation are removed, and a round starts. */
  private expirePendingSync(group: Group, generationId: number): void {
    group.syncTimer = null;
    if (!this.groups.isCurrent(group) || group.generationId !== generationId) return;
    if (group.state !== "CompletingRebalance" && group.state !== "Stable") return;
    const missing = [...group.pendingSyncMembers];
    for (const memberId of missing) {
      const member = group.get(memberId);
      if (member) this.dropMember(group, member);
    }
    this.prepareRebalance(group, `members ${missing.join(", ")} did not send SyncGroup in time`);
  }

  // ---- SyncGroup ---------------------------------------------------------------------------

  sync(request: SyncGroupRequest): SyncResult | Promise<SyncResult> {
    const { groupId, memberId } = request;
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
        this.keepAlive(group, member);
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
    if (group.pendingSyncMembers.size === 0) group.cancelSyncTimer();
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
      this.groups.isCurrent(group) && group.state === "CompletingRebalance" && group.generationId === generationId;

    this.store.write([snapshotRecord(group, assignmentOf)]).then(
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
      if (answered) this.keepAlive(group, member);
    }
  }

  private resetAssignments(group: Group, errorCode: number): void {
    for (const member of group.members.values()) member.assignment = NO_BYTES;
    this.propagateAssignment(group, errorCode);
  }

  // ---- Heartbeat and LeaveGroup ------------------------------------------------------------

  heartbeat(request: HeartbeatRequest): number {
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
        this.keepAlive(group, member);
        return ErrorCode.NONE;
      case "PreparingRebalance":
        // How members learn that they must rejoin.
        this.keepAlive(group, member);
        return ErrorCode.REBALANCE_IN_PROGRESS;
      default:
        return ErrorCode.UNKNOWN_MEMBER_ID;
    }
  }

  /**
   * Removes members by member id, or by instance id alone (an administrator removing a
   * static member). Each gets its own error; the group's error is for the whole request.
   */
  leave(groupId: string, leaving: readonly LeaveGroupRequestMemberIdentity[]): LeaveResult {
    if (groupId === "") return { errorCode: ErrorCode.INVALID_GROUP_ID, members: [] };
    const answer = (who: LeaveGroupRequestMemberIdentity, errorCode: number) => ({
      memberId: who.memberId,
      groupInstanceId: who.groupInstanceId,
      errorCode,
    });
    const group = this.groups.get(groupId);
    if (!group) {
      return { errorCode: ErrorCode.NONE, members: leaving.map((who) => answer(who, ErrorCode.UNKNOWN_MEMBER_ID)) };
    }
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
      if (group.isStaticMemberFenced(who.groupInstanceId, who.memberId)) {
        return answer(who, ErrorCode.FENCED_INSTANCE_ID);
      }
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
    if (group.state === "Stable" || group.state === "CompletingRebalance") this.maybePrepareRebalance(group, reason);
    else if (group.state === "PreparingRebalance") this.tryCompleteJoin(group);
  }

  /** Takes a member out without moving the group on; its parked requests get UNKNOWN_MEMBER_ID. */
  private dropMember(group: Group, member: GroupMember): void {
    // A parked client that is still there retries with an empty member id.
    group.resolveJoin(member, joinError("", ErrorCode.UNKNOWN_MEMBER_ID));
    group.resolveSync(member, syncError(ErrorCode.UNKNOWN_MEMBER_ID));
    member.cancelSession();
    group.remove(member.memberId);
  }

  /** Restarts the member's session timeout; the common case is one timer refresh. */
  keepAlive(group: Group, member: GroupMember): void {
    const timer = member.sessionTimer;
    if (timer && member.sessionTimerMs === member.sessionTimeoutMs) {
      timer.refresh();
      return;
    }
    member.cancelSession();
    member.sessionTimerMs = member.sessionTimeoutMs;
    member.sessionTimer = this.schedule(member.sessionTimeoutMs, () => this.expireSession(group, member));
  }

  private expireSession(group: Group, member: GroupMember): void {
    if (!this.groups.isCurrent(group) || group.get(member.memberId) !== member) return;
    // A member parked in JoinGroup or SyncGroup is waiting on us, not silent: Kafka counts the
    // wait as heartbeats. Its timer restarts when it is answered.
    if (member.awaitingJoin || member.awaitingSync) {
      member.sessionTimer?.refresh();
      return;
    }
    this.removeMember(group, member, `session timeout of ${member.sessionTimeoutMs} ms expired`);
  }

  private schedule(delayMs: number, action: () => void): NodeJS.Timeout {
    return scheduleGuarded(this.logger, delayMs, action);
  }
}

/** The request's protocols, with metadata copied out of the connection's read buffer. */
function protocolsOf(request: JoinGroupRequest): MemberProtocol[] {
  return request.protocols.map((p) => ({ name: p.name, metadata: Buffer.from(p.metadata) }));
}

function snapshotRecord(group: Group, assignmentOf?: (member: GroupMember) => Buffer): GroupRecord {
  return { kind: "group", groupId: group.groupId, group: group.snapshot(assignmentOf) };
}
