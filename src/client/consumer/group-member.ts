import { setTimeout as sleep } from "node:timers/promises";
import { ErrorCode } from "../../protocol/errors.js";
import type { JoinGroupResponse, JoinGroupResponseMember } from "../../protocol/generated/join-group.js";
import type { Assignor, AssignorMember, TopicPartitions } from "../assignors/assignor.js";
import type { Cluster } from "../cluster.js";
import { BrookError } from "../errors.js";
import type { CommitOptions } from "../group-offsets.js";
import type { ClusterMetadata } from "../metadata.js";
import { backoffDelay } from "../retry.js";
import { MAX_INT32 } from "./options.js";
import { partitionKey, type TopicPartition } from "./partition-state.js";
import {
  CONSUMER_PROTOCOL_TYPE,
  decodeAssignment,
  decodeSubscription,
  encodeAssignment,
  encodeSubscription,
} from "./protocol.js";

export interface GroupMemberOptions {
  groupId: string;
  groupInstanceId: string | null;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  heartbeatIntervalMs: number;
  maxPollIntervalMs: number;
  assignors: readonly Assignor[];
}

/** What the member needs from the consumer. */
export interface GroupMemberHost {
  /** The topics the consumer subscribes to now. */
  subscribedTopics(): readonly string[];
  /** Runs `work` once the application holds no messages; deliveries wait until it is done. */
  atSafePoint(work: () => Promise<void>): Promise<void>;
  /** Stops consuming `partitions`: commits first (unless `lost`), then tells the application. */
  revokePartitions(partitions: TopicPartition[], lost: boolean): Promise<void>;
  /** Starts consuming `partitions` (tells the application, even when there are none). */
  assignPartitions(partitions: TopicPartition[]): Promise<void>;
  /** How long the application has held what it was given without coming back; 0 when it does not. */
  heldForMs(): number;
  /** A failure worth telling the application about; membership goes on. */
  report(error: BrookError): void;
  /** A failure that ends membership for good (a fenced static member, protocols no member shares). */
  fail(error: BrookError): void;
}

/** Extra time for a JoinGroup or SyncGroup beyond the rebalance timeout the coordinator may hold it, as Java's client allows. */
const JOIN_REQUEST_MARGIN_MS = 5_000;

/** Answers that say a member's generation is over: a commit with it must not be retried, its partitions may be another's. */
const MEMBERSHIP_ERRORS = new Set<number>([
  ErrorCode.ILLEGAL_GENERATION,
  ErrorCode.UNKNOWN_MEMBER_ID,
  ErrorCode.REBALANCE_IN_PROGRESS,
  ErrorCode.FENCED_INSTANCE_ID,
]);

export function isMembershipError(error: unknown): error is BrookError {
  return error instanceof BrookError && error.kafkaCode !== undefined && MEMBERSHIP_ERRORS.has(error.kafkaCode);
}

/**
 * One consumer's membership of its group, with Kafka's classic protocol:
 *
 * - joining: FindCoordinator, JoinGroup (with the KIP-394 MEMBER_ID_REQUIRED handshake), the
 *   leader's assignment, SyncGroup;
 * - staying: a heartbeat every heartbeatIntervalMs on its own connection, whatever the
 *   application is doing; a heartbeat answered REBALANCE_IN_PROGRESS makes the member rejoin;
 * - liveness: when the application holds messages longer than maxPollIntervalMs, the member
 *   leaves (a static member just goes quiet) and rejoins once the application comes back;
 * - rebalancing eagerly (range, roundrobin: every partition is given up before rejoining) or
 *   cooperatively (when every configured assignor is cooperative): partitions keep being
 *   consumed through the rebalance, only those that move are revoked, after which the member
 *   rejoins at once so the next round can hand them over.
 *
 * Revocations and assignments run at a safe point (see `GroupMemberHost.atSafePoint`), so the
 * application never loses partitions in the middle of processing their messages.
 */
export class GroupMember {
  memberId = "";
  generationId = -1;
  /** The partitions this member consumes, as of the last assignment it applied. */
  private owned: TopicPartition[] = [];
  private readonly cooperative: boolean;
  private rejoinNeeded = true;
  /** A JoinGroup or SyncGroup is under way: heartbeats wait. */
  private joining = false;
  /** Bumped whenever membership is given up, so that a rebalance under way sees it is stale. */
  private incarnation = 0;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private heartbeating = false;
  private lastHeartbeatAt = 0;
  /** As leader: the partition counts the last assignment was computed with. */
  private assignedPartitionCounts: Map<string, number> | undefined;
  private closed = false;

  constructor(
    private readonly cluster: Cluster,
    private readonly options: GroupMemberOptions,
    private readonly host: GroupMemberHost,
  ) {
    this.cooperative = options.assignors.every((assignor) => assignor.rebalanceProtocol === "cooperative");
  }

  /** Between JoinGroup and the end of SyncGroup: commits would meet a generation the member does not know yet. */
  get isJoining(): boolean {
    return this.joining;
  }

  /** Starts joining, and keeps the membership up until close(). */
  start(): void {
    if (this.loop || this.closed) return;
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), this.options.heartbeatIntervalMs);
    this.loop = this.run().catch((error) => this.fail(asBrookError(error)));
  }

  /** Makes the member join again, e.g. after its subscription changed. */
  requestRejoin(): void {
    this.rejoinNeeded = true;
    this.wake?.();
  }

  /** Who commits for this member; rejects while it is not in a generation of the group. */
  commitIdentity(): Required<CommitOptions> {
    if (this.generationId < 0) {
      throw new BrookError(
        "BROOK_NOT_IN_GROUP",
        `the consumer is not a member of group '${this.options.groupId}' right now (it is joining, or lost its membership), so it cannot commit: its partitions may belong to another member`,
      );
    }
    return { generationId: this.generationId, memberId: this.memberId, groupInstanceId: this.options.groupInstanceId };
  }

  /**
   * A commit sent for `generationId` answered that the member's generation is over. An
   * answer about a generation already left behind (a commit that crossed a rebalance) says
   * nothing about the current one.
   */
  onMembershipError(error: BrookError, generationId: number): void {
    // While JoinGroup or SyncGroup is under way the coordinator may already be a generation
    // ahead: the round under way tells what became of this member.
    if (generationId !== this.generationId || this.joining || this.closed) return;
    switch (error.kafkaCode) {
      case ErrorCode.UNKNOWN_MEMBER_ID:
        this.loseMembership(true);
        break;
      case ErrorCode.ILLEGAL_GENERATION:
        this.loseMembership(false);
        break;
      case ErrorCode.FENCED_INSTANCE_ID:
        this.fenced(error);
        break;
      case ErrorCode.REBALANCE_IN_PROGRESS:
        this.requestRejoin();
        break;
    }
  }

  /** As leader: rejoins when a subscribed topic gained or lost partitions since the last assignment. */
  onMetadata(metadata: ClusterMetadata): void {
    if (!this.assignedPartitionCounts || this.joining) return;
    for (const [topic, count] of this.assignedPartitionCounts) {
      const now = metadata.topics.get(topic)?.partitions.length ?? 0;
      if (now !== count) {
        this.assignedPartitionCounts = undefined;
        this.requestRejoin();
        return;
      }
    }
  }

  /**
   * Leaves the group: revokes the owned partitions (committing first, unless membership was
   * lost) and sends LeaveGroup — except for a static member, whose place the coordinator keeps
   * until its session times out, so that a restart takes it back without a rebalance.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.stop();
    // Queued behind any revocation already waiting, so nothing is revoked twice.
    await this.host.atSafePoint(async () => {
      const owned = this.owned;
      this.owned = [];
      if (owned.length > 0) await this.host.revokePartitions(owned, this.generationId < 0);
    });
    if (this.options.groupInstanceId === null && this.memberId !== "") {
      await this.leaveGroup("the consumer is closing").catch(() => undefined);
    }
  }

  /** No more heartbeats or rounds; a round under way gives up at its next step. */
  private stop(): void {
    this.closed = true;
    clearInterval(this.heartbeatTimer);
    this.wake?.();
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.closed) {
      if (!this.rejoinNeeded) {
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
        this.wake = undefined;
        continue;
      }
      try {
        await this.rebalance();
        failures = 0;
      } catch (error) {
        this.joining = false;
        if (this.closed) return;
        const failure = asBrookError(error);
        if (!failure.retriable) {
          this.fail(failure);
          return;
        }
        this.host.report(failure);
        this.rejoinNeeded = true;
        await sleep(backoffDelay(failures++, this.cluster.options.retry));
      }
    }
  }

  private fail(error: BrookError): void {
    this.stop();
    this.host.fail(error);
  }

  private fenced(error: BrookError): void {
    this.fail(
      new BrookError(
        "FENCED_INSTANCE_ID",
        `another consumer joined group '${this.options.groupId}' with groupInstanceId '${this.options.groupInstanceId}': this one is fenced (${error.message})`,
        { kafkaCode: ErrorCode.FENCED_INSTANCE_ID, retriable: false, cause: error },
      ),
    );
  }

  /**
   * The generation is over for this member: its partitions are lost (possibly already someone
   * else's), and it rejoins — with a new member id when the coordinator no longer knows it.
   */
  private loseMembership(forgetMemberId: boolean): void {
    this.incarnation++;
    this.generationId = -1;
    this.assignedPartitionCounts = undefined;
    if (forgetMemberId) this.memberId = "";
    this.requestRejoin();
  }

  /** One round: give up what must go, JoinGroup, assign (as leader), SyncGroup, apply the assignment. */
  private async rebalance(): Promise<void> {
    this.rejoinNeeded = false;
    await this.prepareToJoin();
    if (this.closed || this.rejoinNeeded) return;
    const incarnation = this.incarnation;
    this.joining = true;
    const join = await this.joinGroup(incarnation);
    if (!join || this.closed) {
      this.joining = false;
      return;
    }
    this.assignedPartitionCounts = undefined;
    const assignments = join.leader === join.memberId && !join.skipAssignment ? await this.computeAssignment(join) : [];
    const sync = await this.cluster.retry(() =>
      this.cluster.coordinatorRequest(
        this.options.groupId,
        "SyncGroup",
        () => ({
          groupId: this.options.groupId,
          generationId: join.generationId,
          memberId: join.memberId,
          groupInstanceId: this.options.groupInstanceId,
          protocolType: CONSUMER_PROTOCOL_TYPE,
          protocolName: join.protocolName,
          assignments,
        }),
        this.joinRequestOptions((response) => response.errorCode),
      ),
    );
    this.joining = false;
    if (this.closed || incarnation !== this.incarnation) return this.requestRejoin();
    switch (sync.errorCode) {
      case ErrorCode.NONE:
        break;
      case ErrorCode.REBALANCE_IN_PROGRESS:
        return this.requestRejoin();
      case ErrorCode.UNKNOWN_MEMBER_ID:
        return this.loseMembership(true);
      case ErrorCode.ILLEGAL_GENERATION:
        return this.loseMembership(false);
      case ErrorCode.FENCED_INSTANCE_ID:
        return this.fenced(BrookError.fromKafkaCode(sync.errorCode, "SyncGroup"));
      default:
        // Any other error ends the round; the member reports it and joins again after a backoff,
        // as Java's and librdkafka's consumers do (librdkafka's mock cluster answers a follower
        // whose SyncGroup arrives after the leader's with INVALID_REQUEST). Only a group the
        // client may not use is final.
        throw BrookError.fromKafkaCode(sync.errorCode, `SyncGroup of group '${this.options.groupId}'`, {
          retriable: sync.errorCode !== ErrorCode.GROUP_AUTHORIZATION_FAILED,
        });
    }
    this.generationId = join.generationId;
    this.lastHeartbeatAt = Date.now();
    const assigned = flatten(decodeAssignment(sync.assignment).assignedPartitions);
    await this.applyAssignment(assigned, join.generationId, incarnation);
  }

  /**
   * Before JoinGroup: with membership lost, the owned partitions are lost; eagerly, all are
   * revoked; cooperatively, only those of topics no longer subscribed.
   */
  private async prepareToJoin(): Promise<void> {
    const subscribed = new Set(this.host.subscribedTopics());
    const lost = this.generationId < 0;
    const revoking = lost || !this.cooperative ? this.owned : this.owned.filter((p) => !subscribed.has(p.topic));
    if (revoking.length === 0) return;
    await this.host.atSafePoint(async () => {
      const going = new Set(revoking.map((p) => partitionKey(p.topic, p.partition)));
      this.owned = this.owned.filter((p) => !going.has(partitionKey(p.topic, p.partition)));
      // Membership may have been lost while the application held messages.
      await this.host.revokePartitions(revoking, this.generationId < 0);
    });
  }

  /** JoinGroup until the coordinator answers with a generation; undefined when the round must start over. */
  private async joinGroup(incarnation: number): Promise<JoinGroupResponse | undefined> {
    const { groupId, groupInstanceId, sessionTimeoutMs, rebalanceTimeoutMs, assignors } = this.options;
    for (;;) {
      const metadata = encodeSubscription({
        topics: [...this.host.subscribedTopics()].sort(),
        ownedPartitions: grouped(this.owned),
        generationId: this.generationId,
      });
      const response = await this.cluster.retry(() =>
        this.cluster.coordinatorRequest(
          groupId,
          "JoinGroup",
          () => ({
            groupId,
            sessionTimeoutMs,
            rebalanceTimeoutMs,
            memberId: this.memberId,
            groupInstanceId,
            protocolType: CONSUMER_PROTOCOL_TYPE,
            protocols: assignors.map((assignor) => ({ name: assignor.name, metadata })),
          }),
          // Static membership needs JoinGroup v5.
          { ...this.joinRequestOptions((r) => r.errorCode), minVersion: groupInstanceId === null ? 0 : 5 },
        ),
      );
      if (this.closed) return undefined;
      if (incarnation !== this.incarnation) {
        this.requestRejoin();
        return undefined;
      }
      switch (response.errorCode) {
        case ErrorCode.NONE:
          this.memberId = response.memberId;
          return response;
        case ErrorCode.MEMBER_ID_REQUIRED:
          // KIP-394: the coordinator names the member; join again with that id.
          this.memberId = response.memberId;
          continue;
        case ErrorCode.REBALANCE_IN_PROGRESS:
          continue;
        case ErrorCode.UNKNOWN_MEMBER_ID:
          this.loseMembership(true);
          return undefined;
        case ErrorCode.ILLEGAL_GENERATION:
          this.loseMembership(false);
          return undefined;
        case ErrorCode.FENCED_INSTANCE_ID:
          this.fenced(BrookError.fromKafkaCode(response.errorCode, "JoinGroup"));
          return undefined;
        case ErrorCode.INCONSISTENT_GROUP_PROTOCOL:
          throw new BrookError(
            "INCONSISTENT_GROUP_PROTOCOL",
            `group '${groupId}' has members that support none of this consumer's assignors (${assignors.map((a) => a.name).join(", ")})`,
            { kafkaCode: response.errorCode, retriable: false },
          );
        default:
          throw BrookError.fromKafkaCode(response.errorCode, `JoinGroup of group '${groupId}'`);
      }
    }
  }

  private joinRequestOptions<R>(errorCodeOf: (response: R) => number) {
    return {
      // Not the heartbeat connection: the coordinator holds JoinGroup and SyncGroup until the round completes.
      channel: "join",
      timeoutMs: Math.min(this.options.rebalanceTimeoutMs + JOIN_REQUEST_MARGIN_MS, MAX_INT32),
      errorCodeOf,
    };
  }

  /** The leader's job: every member's share under the protocol the group chose. */
  private async computeAssignment(join: JoinGroupResponse): Promise<{ memberId: string; assignment: Buffer }[]> {
    const assignor = this.options.assignors.find((candidate) => candidate.name === join.protocolName);
    if (!assignor) {
      throw new BrookError(
        "INCONSISTENT_GROUP_PROTOCOL",
        `the coordinator chose assignor '${join.protocolName}', which this consumer does not have`,
        { retriable: false },
      );
    }
    const members = join.members.map(memberSubscription);
    const topics = [...new Set(members.flatMap((member) => member.topics))];
    this.cluster.watchTopics(topics);
    const metadata = await this.cluster.refreshMetadata(topics);
    const partitionCounts = new Map<string, number>();
    for (const topic of topics) {
      const count = metadata.topics.get(topic)?.partitions.length ?? 0;
      if (count > 0) partitionCounts.set(topic, count);
    }
    let assignment: Map<string, TopicPartitions[]>;
    try {
      assignment = assignor.assign(members, partitionCounts);
    } catch (error) {
      throw new BrookError("BROOK_ASSIGNOR_FAILED", `assignor '${assignor.name}' failed: ${(error as Error).message}`, {
        cause: error,
        retriable: false,
      });
    }
    this.assignedPartitionCounts = partitionCounts;
    return members.map((member) => ({
      memberId: member.memberId,
      assignment: encodeAssignment(assignment.get(member.memberId) ?? []),
    }));
  }

  /**
   * Revokes what this member owned and was not given again, takes what is new, and —
   * cooperatively, when something was revoked — rejoins so the partitions can move.
   */
  private async applyAssignment(assigned: TopicPartition[], generationId: number, incarnation: number): Promise<void> {
    let revoked: TopicPartition[] = [];
    await this.host.atSafePoint(async () => {
      if (this.closed || this.generationId !== generationId || this.incarnation !== incarnation) return;
      const assignedKeys = new Set(assigned.map((p) => partitionKey(p.topic, p.partition)));
      const ownedKeys = new Set(this.owned.map((p) => partitionKey(p.topic, p.partition)));
      revoked = this.owned.filter((p) => !assignedKeys.has(partitionKey(p.topic, p.partition)));
      const added = assigned.filter((p) => !ownedKeys.has(partitionKey(p.topic, p.partition)));
      this.owned = assigned;
      if (revoked.length > 0) await this.host.revokePartitions(revoked, false);
      await this.host.assignPartitions(added);
    });
    if (revoked.length > 0 && this.cooperative) this.requestRejoin();
  }

  private async heartbeat(): Promise<void> {
    if (this.heartbeating || this.closed) return;
    const heldForMs = this.host.heldForMs();
    if (heldForMs > this.options.maxPollIntervalMs && this.generationId >= 0) {
      this.leaveForInactivity(heldForMs);
      return;
    }
    if (this.joining || this.generationId < 0) return;
    const generationId = this.generationId;
    const { groupId, groupInstanceId } = this.options;
    this.heartbeating = true;
    try {
      const response = await this.cluster.coordinatorRequest(
        groupId,
        "Heartbeat",
        () => ({ groupId, generationId, memberId: this.memberId, groupInstanceId }),
        {
          channel: "group",
          timeoutMs: Math.min(this.cluster.options.requestTimeoutMs, this.options.sessionTimeoutMs),
          errorCodeOf: (r) => r.errorCode,
        },
      );
      // A round that started meanwhile says what became of this member (the answer may already be about the next generation).
      if (this.closed || this.joining || generationId !== this.generationId) return;
      this.lastHeartbeatAt = Date.now();
      switch (response.errorCode) {
        case ErrorCode.NONE:
          break;
        case ErrorCode.REBALANCE_IN_PROGRESS:
          this.requestRejoin();
          break;
        case ErrorCode.UNKNOWN_MEMBER_ID:
          this.loseMembership(true);
          break;
        case ErrorCode.ILLEGAL_GENERATION:
          this.loseMembership(false);
          break;
        case ErrorCode.FENCED_INSTANCE_ID:
          this.fenced(BrookError.fromKafkaCode(response.errorCode, "Heartbeat"));
          break;
        default:
          this.host.report(BrookError.fromKafkaCode(response.errorCode, `Heartbeat in group '${groupId}'`));
      }
    } catch {
      // A coordinator that cannot be reached for a whole session has surely dropped this member.
      if (
        !this.closed &&
        generationId === this.generationId &&
        Date.now() - this.lastHeartbeatAt > this.options.sessionTimeoutMs
      ) {
        this.loseMembership(this.options.groupInstanceId === null);
      }
    } finally {
      this.heartbeating = false;
    }
  }

  /**
   * The application held messages for longer than maxPollIntervalMs: let the group move on
   * without this member (Kafka's consumers do the same). Its partitions are lost; it rejoins
   * once the application comes back, as prepareToJoin waits for a safe point.
   */
  private leaveForInactivity(heldForMs: number): void {
    const reason = `the application held messages for ${heldForMs} ms, more than maxPollIntervalMs (${this.options.maxPollIntervalMs} ms)`;
    if (this.options.groupInstanceId === null && this.memberId !== "") {
      this.leaveGroup(reason).catch(() => undefined);
    }
    this.loseMembership(this.options.groupInstanceId === null);
  }

  private async leaveGroup(reason: string): Promise<void> {
    const { groupId, groupInstanceId } = this.options;
    const memberId = this.memberId;
    await this.cluster.coordinatorRequest(
      groupId,
      "LeaveGroup",
      (version) =>
        version >= 3 ? { groupId, members: [{ memberId, groupInstanceId, reason }] } : { groupId, memberId },
      { channel: "group", timeoutMs: Math.min(this.cluster.options.requestTimeoutMs, 5_000) },
    );
  }
}

function asBrookError(error: unknown): BrookError {
  if (error instanceof BrookError) return error;
  return new BrookError("BROOK_PROTOCOL", `group membership failed: ${error}`, { cause: error, retriable: false });
}

function memberSubscription(member: JoinGroupResponseMember): AssignorMember {
  try {
    const subscription = decodeSubscription(member.metadata);
    return {
      memberId: member.memberId,
      groupInstanceId: member.groupInstanceId,
      topics: subscription.topics,
      ownedPartitions: subscription.ownedPartitions,
      generationId: subscription.generationId,
      userData: subscription.userData,
    };
  } catch {
    // Metadata this leader cannot read: the member gets nothing rather than failing the group.
    return {
      memberId: member.memberId,
      groupInstanceId: member.groupInstanceId,
      topics: [],
      ownedPartitions: [],
      generationId: -1,
      userData: null,
    };
  }
}

function flatten(assigned: readonly TopicPartitions[]): TopicPartition[] {
  return assigned.flatMap(({ topic, partitions }) => partitions.map((partition) => ({ topic, partition })));
}

function grouped(partitions: readonly TopicPartition[]): TopicPartitions[] {
  const byTopic = new Map<string, number[]>();
  for (const { topic, partition } of partitions) {
    const list = byTopic.get(topic);
    if (list) list.push(partition);
    else byTopic.set(topic, [partition]);
  }
  return [...byTopic].map(([topic, list]) => ({ topic, partitions: list.sort((a, b) => a - b) }));
}
