import { ErrorCode } from "../../protocol/errors.js";
import type { JoinGroupResponseMemberInput } from "../../protocol/generated/index.js";
import { CONSUMER_PROTOCOL_TYPE, subscribedTopics } from "./consumer-subscription.js";
import type { StoredGroup } from "./group-records.js";
import { GroupMember, type MemberProtocol } from "./member.js";
import { type JoinResult, joinError, NO_BYTES, type SyncResult, syncError } from "./results.js";

/** The states of a classic group, spelled as DescribeGroups and ListGroups report them. */
export type GroupState = "Empty" | "PreparingRebalance" | "CompletingRebalance" | "Stable" | "Dead";

const PREVIOUS_STATES: Record<GroupState, readonly GroupState[]> = {
  Empty: ["PreparingRebalance"],
  PreparingRebalance: ["Empty", "Stable", "CompletingRebalance"],
  CompletingRebalance: ["PreparingRebalance"],
  Stable: ["CompletingRebalance"],
  Dead: ["Empty", "PreparingRebalance", "CompletingRebalance", "Stable", "Dead"],
};

/**
 * One classic group: its state, generation and members, with the bookkeeping Kafka's
 * GroupMetadata keeps so every question the coordinator asks is answered without a scan of
 * other groups (votes per protocol, members parked in JoinGroup, static ids). The timers
 * live here too, but the coordinator arms them and decides what they do.
 */
export class Group {
  state: GroupState = "Empty";
  stateTimestamp: number;
  generationId = 0;
  protocolType: string | null = null;
  protocolName: string | null = null;
  leaderId: string | null = null;
  /** Topics the members subscribe to (consumer groups), null when they cannot be known. */
  subscribedTopics: ReadonlySet<string> | null = null;
  /** In join order: the first is the leader unless it fails to rejoin. */
  readonly members = new Map<string, GroupMember>();
  /** Member ids handed out with MEMBER_ID_REQUIRED, each expiring unless the client rejoins. */
  readonly pendingMembers = new Map<string, NodeJS.Timeout>();
  /** Members of this generation that have not sent SyncGroup yet. */
  readonly pendingSyncMembers = new Set<string>();
  /** Set when a member joins during the initial rebalance delay, which then waits once more. */
  newMemberAdded = false;
  /** True while the initial rebalance delay runs: the round waits even if all have joined. */
  inInitialDelay = false;
  /** The initial delay or the rebalance timeout of the current PreparingRebalance. */
  joinTimer: NodeJS.Timeout | null = null;
  /** Ends the wait for SyncGroups of the current generation. */
  syncTimer: NodeJS.Timeout | null = null;

  private readonly staticMembers = new Map<string, string>();
  /** How many members support each protocol name. */
  private readonly protocolSupport = new Map<string, number>();
  private awaitingJoinCount = 0;

  constructor(
    readonly groupId: string,
    now: number,
  ) {
    this.stateTimestamp = now;
  }

  /** A group as its snapshot left it: Stable with its members, or Empty. */
  static restore(groupId: string, stored: StoredGroup, now: number): Group {
    const group = new Group(groupId, stored.stateTimestamp);
    group.generationId = stored.generationId;
    group.protocolType = stored.protocolType;
    const protocolName = stored.protocolName;
    if (protocolName === null || stored.members.length === 0) return group;
    group.protocolName = protocolName;
    for (const m of stored.members) {
      const protocols = [{ name: protocolName, metadata: m.subscription }];
      const member = new GroupMember(
        m.memberId,
        m.groupInstanceId,
        m.clientId,
        m.clientHost,
        m.rebalanceTimeoutMs,
        m.sessionTimeoutMs,
        protocols,
      );
      member.assignment = m.assignment;
      group.add(member, stored.protocolType);
    }
    if (stored.leaderId !== null && group.members.has(stored.leaderId)) group.leaderId = stored.leaderId;
    group.state = "Stable";
    group.stateTimestamp = now;
    group.subscribedTopics = group.computeSubscribedTopics();
    return group;
  }

  get size(): number {
    return this.members.size;
  }

  get awaitingJoin(): number {
    return this.awaitingJoinCount;
  }

  cancelJoinTimer(): void {
    if (this.joinTimer) clearTimeout(this.joinTimer);
    this.joinTimer = null;
    this.inInitialDelay = false;
  }

  cancelSyncTimer(): void {
    if (this.syncTimer) clearTimeout(this.syncTimer);
    this.syncTimer = null;
  }

  /** Stops every timer of the group and its members. */
  cancelTimers(): void {
    this.cancelJoinTimer();
    this.cancelSyncTimer();
    for (const timer of this.pendingMembers.values()) clearTimeout(timer);
    for (const member of this.members.values()) member.cancelSession();
  }

  transitionTo(state: GroupState, now: number): void {
    if (!PREVIOUS_STATES[state].includes(this.state)) {
      throw new Error(`group ${this.groupId} cannot go from ${this.state} to ${state}`);
    }
    this.state = state;
    this.stateTimestamp = now;
  }

  has(memberId: string): boolean {
    return this.members.has(memberId);
  }

  get(memberId: string): GroupMember | undefined {
    return this.members.get(memberId);
  }

  isLeader(memberId: string): boolean {
    return this.leaderId === memberId;
  }

  /** Adds a member; the first member of an empty group sets the group's protocol type. */
  add(member: GroupMember, protocolType: string | null): void {
    if (this.members.size === 0) this.protocolType = protocolType;
    this.members.set(member.memberId, member);
    this.leaderId ??= member.memberId;
    this.countProtocols(member.protocols, 1);
    if (member.groupInstanceId !== null) this.staticMembers.set(member.groupInstanceId, member.memberId);
    this.pendingMembers.delete(member.memberId);
  }

  /** Takes the member out of every structure; the caller has answered its parked requests. */
  remove(memberId: string): GroupMember | undefined {
    const member = this.members.get(memberId);
    if (!member) return undefined;
    this.members.delete(memberId);
    this.countProtocols(member.protocols, -1);
    if (member.awaitingJoin) this.awaitingJoinCount--;
    if (member.groupInstanceId !== null) this.staticMembers.delete(member.groupInstanceId);
    if (this.leaderId === memberId) this.leaderId = this.members.keys().next().value ?? null;
    this.pendingSyncMembers.delete(memberId);
    return member;
  }

  updateMember(
    member: GroupMember,
    protocols: readonly MemberProtocol[],
    rebalanceTimeoutMs: number,
    sessionTimeoutMs: number,
  ): void {
    this.countProtocols(member.protocols, -1);
    member.protocols = protocols;
    this.countProtocols(protocols, 1);
    member.rebalanceTimeoutMs = rebalanceTimeoutMs;
    member.sessionTimeoutMs = sessionTimeoutMs;
  }

  /**
   * Parks the member's JoinGroup until the round completes. A JoinGroup it parked before (a
   * retry on another connection) is answered at once, so no request is left hanging.
   */
  parkJoin(member: GroupMember): Promise<JoinResult> {
    const previous = member.awaitingJoin;
    if (previous) previous(joinError(member.memberId, ErrorCode.REBALANCE_IN_PROGRESS));
    else this.awaitingJoinCount++;
    return new Promise((resolve) => {
      member.awaitingJoin = resolve;
    });
  }

  /** Answers the member's parked JoinGroup, if any; true if there was one. */
  resolveJoin(member: GroupMember, result: JoinResult): boolean {
    const resolve = member.awaitingJoin;
    if (!resolve) return false;
    member.awaitingJoin = null;
    this.awaitingJoinCount--;
    resolve(result);
    return true;
  }

  parkSync(member: GroupMember): Promise<SyncResult> {
    member.awaitingSync?.(syncError(ErrorCode.REBALANCE_IN_PROGRESS));
    return new Promise((resolve) => {
      member.awaitingSync = resolve;
    });
  }

  resolveSync(member: GroupMember, result: SyncResult): boolean {
    const resolve = member.awaitingSync;
    if (!resolve) return false;
    member.awaitingSync = null;
    resolve(result);
    return true;
  }

  staticMemberId(groupInstanceId: string | null): string | undefined {
    return groupInstanceId === null ? undefined : this.staticMembers.get(groupInstanceId);
  }

  /** A request naming an instance id that now belongs to another member id: a zombie. */
  isStaticMemberFenced(groupInstanceId: string | null, memberId: string): boolean {
    const current = this.staticMemberId(groupInstanceId);
    return current !== undefined && current !== memberId;
  }

  /**
   * Gives a static member its new member id. The requests the old incarnation still has
   * parked are fenced: that process has been replaced.
   */
  replaceStaticMember(groupInstanceId: string, oldMemberId: string, newMemberId: string): GroupMember {
    const member = this.members.get(oldMemberId) as GroupMember;
    this.resolveJoin(member, joinError(oldMemberId, ErrorCode.FENCED_INSTANCE_ID));
    this.resolveSync(member, syncError(ErrorCode.FENCED_INSTANCE_ID));
    this.members.delete(oldMemberId);
    member.memberId = newMemberId;
    this.members.set(newMemberId, member);
    if (this.leaderId === oldMemberId) this.leaderId = newMemberId;
    if (this.pendingSyncMembers.delete(oldMemberId)) this.pendingSyncMembers.add(newMemberId);
    this.staticMembers.set(groupInstanceId, newMemberId);
    return member;
  }

  /**
   * Whether a member with this protocol type and these protocols may be in the group: the
   * first member sets the type; later ones must share it and a protocol every member supports.
   */
  supportsProtocols(protocolType: string, protocols: readonly MemberProtocol[]): boolean {
    if (this.state === "Empty") return protocolType !== "" && protocols.length > 0;
    return (
      this.protocolType === protocolType &&
      protocols.some((p) => this.protocolSupport.get(p.name) === this.members.size)
    );
  }

  /** The protocol most members prefer among those all members support. */
  selectProtocol(): string | null {
    const candidates = new Set<string>();
    for (const [name, count] of this.protocolSupport) if (count === this.members.size) candidates.add(name);
    const votes = new Map<string, number>();
    for (const member of this.members.values()) {
      const vote = member.vote(candidates);
      if (vote !== undefined) votes.set(vote, (votes.get(vote) ?? 0) + 1);
    }
    let chosen: string | null = null;
    let most = 0;
    // Ties go to the protocol that got its first vote earliest, i.e. from the earliest member.
    for (const [name, count] of votes) {
      if (count > most) {
        chosen = name;
        most = count;
      }
    }
    return chosen;
  }

  /** The longest rebalance timeout of the members: how long a round may wait for rejoins. */
  rebalanceTimeoutMs(): number {
    let longest = 0;
    for (const member of this.members.values()) longest = Math.max(longest, member.rebalanceTimeoutMs);
    return longest;
  }

  hasAllMembersJoined(): boolean {
    return this.awaitingJoinCount === this.members.size && this.pendingMembers.size === 0;
  }

  notYetRejoinedMembers(): GroupMember[] {
    return [...this.members.values()].filter((m) => m.awaitingJoin === null);
  }

  /**
   * Makes sure the leader is a member that rejoined, electing another if it did not. False if
   * no member rejoined at all.
   */
  electJoinedLeader(): boolean {
    const leader = this.leaderId === null ? undefined : this.members.get(this.leaderId);
    if (!leader) return false;
    if (leader.awaitingJoin) return true;
    for (const member of this.members.values()) {
      if (member.awaitingJoin) {
        this.leaderId = member.memberId;
        return true;
      }
    }
    return false;
  }

  /** Ends a PreparingRebalance: the next generation, its protocol, CompletingRebalance or Empty. */
  initNextGeneration(now: number): void {
    this.generationId++;
    if (this.members.size > 0) {
      this.protocolName = this.selectProtocol();
      this.transitionTo("CompletingRebalance", now);
    } else {
      this.protocolName = null;
      this.transitionTo("Empty", now);
    }
    this.subscribedTopics = this.computeSubscribedTopics();
    this.pendingSyncMembers.clear();
  }

  canRebalance(): boolean {
    return this.state === "Stable" || this.state === "CompletingRebalance" || this.state === "Empty";
  }

  /** What the leader's JoinGroup response lists: every member's metadata for the protocol. */
  currentMemberMetadata(): JoinGroupResponseMemberInput[] {
    const protocolName = this.protocolName ?? "";
    return [...this.members.values()].map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      metadata: m.metadataFor(protocolName),
    }));
  }

  get isConsumerGroup(): boolean {
    return this.protocolType === CONSUMER_PROTOCOL_TYPE;
  }

  /** Kafka's rule for OffsetDelete: when the subscriptions are unknown, assume the topic is used. */
  mayBeSubscribedTo(topic: string): boolean {
    return this.subscribedTopics === null || this.subscribedTopics.has(topic);
  }

  /** Whether the members are known to subscribe to the topic. */
  isSubscribedTo(topic: string): boolean {
    return this.subscribedTopics?.has(topic) ?? false;
  }

  /**
   * Kafka's validateOffsetCommit: who may commit offsets for this group. Null when the
   * commit is allowed; the caller still checks the state.
   */
  offsetCommitError(generationId: number, memberId: string, groupInstanceId: string | null): number | null {
    if (this.state === "Dead") return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (generationId >= 0 || memberId !== "" || groupInstanceId !== null) {
      if (this.isStaticMemberFenced(groupInstanceId, memberId)) return ErrorCode.FENCED_INSTANCE_ID;
      if (!this.members.has(memberId)) return ErrorCode.UNKNOWN_MEMBER_ID;
      if (generationId !== this.generationId) return ErrorCode.ILLEGAL_GENERATION;
      return null;
    }
    // A commit from outside the group (generation -1, no member id) only while nobody is in it.
    return this.state === "Empty" ? null : ErrorCode.UNKNOWN_MEMBER_ID;
  }

  /** The group's membership for the store; assignments as given, or as they stand. */
  snapshot(assignmentOf: (member: GroupMember) => Buffer = (m) => m.assignment): StoredGroup {
    const protocolName = this.protocolName ?? "";
    return {
      protocolType: this.protocolType,
      generationId: this.generationId,
      protocolName: this.protocolName,
      leaderId: this.leaderId,
      stateTimestamp: this.stateTimestamp,
      members: [...this.members.values()].map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        rebalanceTimeoutMs: m.rebalanceTimeoutMs,
        sessionTimeoutMs: m.sessionTimeoutMs,
        subscription: this.protocolName === null ? NO_BYTES : m.metadataFor(protocolName),
        assignment: assignmentOf(m),
      })),
    };
  }

  private countProtocols(protocols: readonly MemberProtocol[], delta: number): void {
    for (const { name } of protocols) {
      const count = (this.protocolSupport.get(name) ?? 0) + delta;
      if (count === 0) this.protocolSupport.delete(name);
      else this.protocolSupport.set(name, count);
    }
  }

  /**
   * Kafka reads the subscriptions of a consumer group at each generation, so OffsetDelete and
   * offset expiry know which topics are in use without parsing metadata on every request.
   */
  private computeSubscribedTopics(): ReadonlySet<string> | null {
    if (this.protocolType !== CONSUMER_PROTOCOL_TYPE) return null;
    if (this.members.size === 0) return new Set();
    if (this.protocolName === null) return null;
    const topics = new Set<string>();
    for (const member of this.members.values()) {
      const subscribed = subscribedTopics(member.metadataFor(this.protocolName));
      if (subscribed === null) return null;
      for (const topic of subscribed) topics.add(topic);
    }
    return topics;
  }
}
