// Raw protocol clients for consumer-group tests and the group benchmark, over the project's own
// Connection and codecs: an admin that sees groups as the coordinator describes them, and a bare
// group member that sends exactly the JoinGroup/SyncGroup/Heartbeat/LeaveGroup a test asks for,
// with no delays or retries of its own.
import assert from "node:assert/strict";
import { Connection } from "../../src/client/connection.js";
import { ErrorCode, errorName } from "../../src/protocol/errors.js";
import {
  decodeConsumerProtocolAssignment,
  encodeConsumerProtocolAssignment,
} from "../../src/protocol/generated/consumer-protocol-assignment.js";
import { encodeConsumerProtocolSubscription } from "../../src/protocol/generated/consumer-protocol-subscription.js";
import {
  API_CODECS,
  type JoinGroupRequestInput,
  type JoinGroupResponse,
  type JoinGroupResponseMember,
  type OffsetCommitResponsePartition,
  type SyncGroupRequestAssignmentInput,
  type SyncGroupResponse,
} from "../../src/protocol/generated/index.js";
import { Reader } from "../../src/protocol/reader.js";
import { Writer } from "../../src/protocol/writer.js";

export interface BrokerAddress {
  host: string;
  port: number;
}

// The versions librdkafka 2.0.2 sends (CLIENTS.md), except LeaveGroup: v3 answers per member.
const JOIN_GROUP_VERSION = 5;
const SYNC_GROUP_VERSION = 3;
const HEARTBEAT_VERSION = 3;
const LEAVE_GROUP_VERSION = 3;
const OFFSET_COMMIT_VERSION = 7;
const OFFSET_FETCH_VERSION = 7;
const DESCRIBE_GROUPS_VERSION = 5;

async function connect(address: BrokerAddress, clientId: string): Promise<Connection> {
  const connection = new Connection({ host: address.host, port: address.port, clientId });
  await connection.ready;
  return connection;
}

/** Consumer-protocol subscription metadata (version 0), what a consumer puts in JoinGroup. */
export function subscriptionBytes(topics: readonly string[]): Buffer {
  const writer = new Writer();
  writer.writeInt16(0);
  encodeConsumerProtocolSubscription(writer, 0, { topics: [...topics], userData: null });
  return writer.toBuffer();
}

/** Consumer-protocol assignment (version 0), what a leader hands each member in SyncGroup. */
export function assignmentBytes(topic: string, partitions: readonly number[]): Buffer {
  const writer = new Writer();
  writer.writeInt16(0);
  encodeConsumerProtocolAssignment(writer, 0, {
    assignedPartitions: [{ topic, partitions: [...partitions] }],
    userData: null,
  });
  return writer.toBuffer();
}

/** The partitions an assignment gives, topic by topic; empty bytes (no assignment) give none. */
export function assignedPartitions(bytes: Buffer): Map<string, number[]> {
  const assigned = new Map<string, number[]>();
  if (bytes.length === 0) return assigned;
  const reader = new Reader(bytes);
  const version = reader.readInt16();
  for (const { topic, partitions } of decodeConsumerProtocolAssignment(reader, version).assignedPartitions) {
    assigned.set(
      topic,
      [...(assigned.get(topic) ?? []), ...partitions].sort((a, b) => a - b),
    );
  }
  return assigned;
}

/** Deals the partitions out to the members in member-id order, as a leader would. */
export function dealPartitions(
  members: readonly Pick<JoinGroupResponseMember, "memberId">[],
  topic: string,
  partitions: number,
): SyncGroupRequestAssignmentInput[] {
  const ids = members.map((m) => m.memberId).sort();
  return ids.map((memberId, i) => ({
    memberId,
    assignment: assignmentBytes(
      topic,
      Array.from({ length: partitions }, (_, p) => p).filter((p) => p % ids.length === i),
    ),
  }));
}

// ---- the coordinator's view ----------------------------------------------------------------

export interface GroupView {
  state: string;
  protocol: string;
  members: { memberId: string; clientId: string; instanceId: string | null; partitions: number[] }[];
}

/** Admin requests a test makes to see what the coordinator holds. */
export class GroupAdmin {
  private constructor(private readonly connection: Connection) {}

  static async connect(broker: BrokerAddress): Promise<GroupAdmin> {
    return new GroupAdmin(await connect(broker, "interop-groups-admin"));
  }

  async createTopic(name: string, partitions: number): Promise<void> {
    const response = await this.connection.send(API_CODECS.CreateTopics, 7, {
      topics: [{ name, numPartitions: partitions, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 5000,
    });
    assert.equal(errorName(response.topics[0]!.errorCode), "NONE", `creating ${name}`);
  }

  /** DescribeGroups for one group, assignments decoded (the members' partitions of any topic). */
  async describe(groupId: string): Promise<GroupView> {
    const response = await this.connection.send(API_CODECS.DescribeGroups, DESCRIBE_GROUPS_VERSION, {
      groups: [groupId],
    });
    const group = response.groups[0]!;
    assert.equal(errorName(group.errorCode), "NONE", `describing ${groupId}`);
    return {
      state: group.groupState,
      protocol: group.protocolData,
      members: group.members.map((m) => ({
        memberId: m.memberId,
        clientId: m.clientId,
        instanceId: m.groupInstanceId,
        partitions: [...assignedPartitions(m.memberAssignment).values()].flat().sort((a, b) => a - b),
      })),
    };
  }

  /**
   * Describes the group until it satisfies `condition` (polling: the coordinator announces
   * nothing), then returns that view.
   */
  async waitForGroup(
    groupId: string,
    condition: (group: GroupView) => boolean,
    what: string,
    timeoutMs = 30_000,
  ): Promise<GroupView> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const group = await this.describe(groupId);
      if (condition(group)) return group;
      if (Date.now() > deadline) {
        throw new Error(`timed out waiting for ${what}; group ${groupId} is ${JSON.stringify(group)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** The group's committed offset of each partition, -1 where it has none. */
  async committedOffsets(groupId: string, topic: string, partitions: number): Promise<number[]> {
    const partitionIndexes = Array.from({ length: partitions }, (_, p) => p);
    const response = await this.connection.send(API_CODECS.OffsetFetch, OFFSET_FETCH_VERSION, {
      groupId,
      topics: [{ name: topic, partitionIndexes }],
    });
    assert.equal(errorName(response.errorCode), "NONE", `fetching the offsets of ${groupId}`);
    const offsets = new Array<number>(partitions).fill(-1);
    for (const partition of response.topics[0]?.partitions ?? []) {
      assert.equal(errorName(partition.errorCode), "NONE", `offset of ${topic}-${partition.partitionIndex}`);
      offsets[partition.partitionIndex] = partition.committedOffset;
    }
    return offsets;
  }

  close(): Promise<void> {
    return this.connection.close();
  }
}

// ---- a bare member ---------------------------------------------------------------------------

export interface RawMemberOptions {
  groupId: string;
  clientId: string;
  topics: readonly string[];
  sessionTimeoutMs?: number;
  rebalanceTimeoutMs?: number;
  instanceId?: string;
}

/**
 * One member on a connection of its own: a JoinGroup or SyncGroup that waits for the others
 * holds up every later response on its connection, as with any Kafka client. It remembers the
 * id, generation and leader the coordinator gave it; requests take overrides so a test can send
 * what a broken client would.
 */
export class RawGroupMember {
  memberId = "";
  generationId = -1;
  leader = "";
  /** The members of the generation, as the coordinator tells only the leader. */
  members: JoinGroupResponseMember[] = [];
  assignment: Buffer = Buffer.alloc(0);

  private constructor(
    readonly connection: Connection,
    readonly options: RawMemberOptions,
  ) {}

  static async connect(broker: BrokerAddress, options: RawMemberOptions): Promise<RawGroupMember> {
    return new RawGroupMember(await connect(broker, options.clientId), options);
  }

  get isLeader(): boolean {
    return this.memberId !== "" && this.memberId === this.leader;
  }

  /** One JoinGroup; the answer's member id, generation and leader are kept when it succeeds or asks for an id. */
  async join(overrides: Partial<JoinGroupRequestInput> = {}): Promise<JoinGroupResponse> {
    const response = await this.connection.send(API_CODECS.JoinGroup, JOIN_GROUP_VERSION, {
      groupId: this.options.groupId,
      sessionTimeoutMs: this.options.sessionTimeoutMs ?? 6000,
      rebalanceTimeoutMs: this.options.rebalanceTimeoutMs ?? 10_000,
      memberId: this.memberId,
      groupInstanceId: this.options.instanceId ?? null,
      protocolType: "consumer",
      protocols: [{ name: "range", metadata: subscriptionBytes(this.options.topics) }],
      ...overrides,
    });
    if (response.errorCode === ErrorCode.MEMBER_ID_REQUIRED) this.memberId = response.memberId;
    if (response.errorCode === ErrorCode.NONE) {
      this.memberId = response.memberId;
      this.generationId = response.generationId;
      this.leader = response.leader;
      this.members = response.members;
    }
    return response;
  }

  /** JoinGroup until in a generation: a new member first gets its id (KIP-394), then joins with it. */
  async joinGroup(): Promise<JoinGroupResponse> {
    let response = await this.join();
    if (response.errorCode === ErrorCode.MEMBER_ID_REQUIRED) response = await this.join();
    assert.equal(errorName(response.errorCode), "NONE", `${this.options.clientId} joining ${this.options.groupId}`);
    return response;
  }

  /** SyncGroup for the current generation; the leader passes everyone's assignment. */
  async sync(assignments: SyncGroupRequestAssignmentInput[] = []): Promise<SyncGroupResponse> {
    const response = await this.connection.send(API_CODECS.SyncGroup, SYNC_GROUP_VERSION, {
      groupId: this.options.groupId,
      generationId: this.generationId,
      memberId: this.memberId,
      groupInstanceId: this.options.instanceId ?? null,
      assignments,
    });
    if (response.errorCode === ErrorCode.NONE) this.assignment = response.assignment;
    return response;
  }

  /** The error code of one heartbeat for the current generation. */
  async heartbeat(): Promise<number> {
    const response = await this.connection.send(API_CODECS.Heartbeat, HEARTBEAT_VERSION, {
      groupId: this.options.groupId,
      generationId: this.generationId,
      memberId: this.memberId,
      groupInstanceId: this.options.instanceId ?? null,
    });
    return response.errorCode;
  }

  /** LeaveGroup; the error code given to this member. */
  async leave(): Promise<number> {
    const response = await this.connection.send(API_CODECS.LeaveGroup, LEAVE_GROUP_VERSION, {
      groupId: this.options.groupId,
      members: [{ memberId: this.memberId, groupInstanceId: this.options.instanceId ?? null }],
    });
    assert.equal(errorName(response.errorCode), "NONE");
    return response.members[0]!.errorCode;
  }

  /** OffsetCommit as this member of its generation; the per-partition answers. */
  async commit(topic: string, offsets: Record<number, number>): Promise<OffsetCommitResponsePartition[]> {
    const response = await this.connection.send(API_CODECS.OffsetCommit, OFFSET_COMMIT_VERSION, {
      groupId: this.options.groupId,
      generationIdOrMemberEpoch: this.generationId,
      memberId: this.memberId,
      groupInstanceId: this.options.instanceId ?? null,
      topics: [
        {
          name: topic,
          partitions: Object.entries(offsets).map(([partition, offset]) => ({
            partitionIndex: Number(partition),
            committedOffset: offset,
            committedMetadata: null,
          })),
        },
      ],
    });
    return response.topics[0]!.partitions;
  }

  close(): Promise<void> {
    return this.connection.close();
  }
}

export interface FormOptions {
  /** Computes the assignment when a member leads: from the members the coordinator lists. */
  assign: (members: readonly JoinGroupResponseMember[]) => SyncGroupRequestAssignmentInput[];
  /** The members' heartbeat interval while waiting for the others: their own delay. */
  heartbeatMs: number;
  /** Members already in the group learn of the round by heartbeat, as clients do; default they join at once. */
  startWithHeartbeat?: boolean;
  /** The generation the group is in now: done means a later one. */
  afterGeneration?: number;
  /** Default 30 s. */
  timeoutMs?: number;
}

/**
 * Runs the members as a client runs its group loop — join, sync (the leader assigning), then
 * heartbeat, and rejoin whenever the coordinator says a rebalance is in progress — until all
 * of them hold assignments of one generation that has exactly them. Resolves with that
 * generation. However the coordinator splits their joins into rounds, this ends where a group
 * of real clients would.
 */
export async function formGroup(members: readonly RawGroupMember[], options: FormOptions): Promise<number> {
  const syncedGeneration = new Map<RawGroupMember, number>();
  const sizeOfGeneration = new Map<number, number>();
  const finished = () => {
    const generation = syncedGeneration.get(members[0]!);
    return (
      generation !== undefined &&
      generation > (options.afterGeneration ?? 0) &&
      sizeOfGeneration.get(generation) === members.length &&
      members.every((m) => syncedGeneration.get(m) === generation)
    );
  };
  const pause = () => new Promise((resolve) => setTimeout(resolve, options.heartbeatMs));
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);

  async function run(member: RawGroupMember, startWithHeartbeat: boolean): Promise<void> {
    let heartbeating = startWithHeartbeat;
    while (!finished()) {
      if (Date.now() > deadline) {
        const state = members.map((m) => `${m.options.clientId}: generation ${syncedGeneration.get(m)}`).join(", ");
        throw new Error(`the group did not settle: ${state}, sizes ${JSON.stringify([...sizeOfGeneration])}`);
      }
      if (heartbeating) {
        const errorCode = await member.heartbeat();
        if (errorCode === ErrorCode.NONE) {
          await pause();
          continue;
        }
        assert.equal(errorName(errorCode), "REBALANCE_IN_PROGRESS", `${member.options.clientId} heartbeat`);
      }
      const join = await member.join();
      if (join.errorCode === ErrorCode.MEMBER_ID_REQUIRED) continue;
      assert.equal(errorName(join.errorCode), "NONE", `${member.options.clientId} JoinGroup`);
      if (member.isLeader) sizeOfGeneration.set(member.generationId, member.members.length);
      const sync = await member.sync(member.isLeader ? options.assign(member.members) : []);
      heartbeating = sync.errorCode === ErrorCode.NONE;
      if (heartbeating) syncedGeneration.set(member, member.generationId);
      else assert.equal(errorName(sync.errorCode), "REBALANCE_IN_PROGRESS", `${member.options.clientId} SyncGroup`);
    }
  }

  await Promise.all(members.map((m) => run(m, options.startWithHeartbeat ?? false)));
  return syncedGeneration.get(members[0]!)!;
}
