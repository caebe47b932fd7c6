import assert from "node:assert/strict";
import type { TopicLookup } from "../../../src/broker/broker-context.js";
import {
  GroupCoordinator,
  type GroupCoordinatorConfig,
  type JoiningClient,
} from "../../../src/broker/group/coordinator.js";
import { type GroupStore, MemoryGroupStore } from "../../../src/broker/group/group-store.js";
import type { JoinResult } from "../../../src/broker/group/results.js";
import { silentLogger } from "../../../src/logger.js";
import { ErrorCode } from "../../../src/protocol/errors.js";
import { encodeConsumerProtocolAssignment } from "../../../src/protocol/generated/consumer-protocol-assignment.js";
import { encodeConsumerProtocolSubscription } from "../../../src/protocol/generated/consumer-protocol-subscription.js";
import {
  defaultHeartbeatRequest,
  defaultJoinGroupRequest,
  defaultOffsetCommitRequest,
  defaultSyncGroupRequest,
  type HeartbeatRequest,
  type JoinGroupRequest,
  type OffsetCommitRequest,
  type SyncGroupRequest,
} from "../../../src/protocol/generated/index.js";
import { Writer } from "../../../src/protocol/writer.js";

/** Short timeouts so time-based behaviour shows within milliseconds. */
export const TEST_CONFIG: GroupCoordinatorConfig = {
  groupInitialRebalanceDelayMs: 0,
  groupMinSessionTimeoutMs: 10,
  groupMaxSessionTimeoutMs: 60_000,
  groupMaxSize: 100,
  offsetsRetentionMs: 7 * 24 * 60 * 60 * 1000,
};

/** Topics by partition count; tests add and delete them. */
export class FakeTopics implements TopicLookup {
  readonly partitions = new Map<string, number>([
    ["t", 3],
    ["other", 2],
  ]);

  partitionCount(topic: string): number | undefined {
    return this.partitions.get(topic);
  }
}

export interface CoordinatorSetup {
  config?: Partial<GroupCoordinatorConfig>;
  store?: GroupStore;
  topics?: FakeTopics;
  now?: () => number;
}

export async function startCoordinator(setup: CoordinatorSetup = {}): Promise<GroupCoordinator> {
  const coordinator = new GroupCoordinator({
    config: { ...TEST_CONFIG, ...setup.config },
    logger: silentLogger,
    topics: setup.topics ?? new FakeTopics(),
    store: setup.store ?? new MemoryGroupStore(),
    now: setup.now,
  });
  await coordinator.start();
  return coordinator;
}

/** Consumer-protocol subscription metadata (version 0) for the topics. */
export function subscription(topics: string[]): Buffer {
  const w = new Writer();
  w.writeInt16(0);
  encodeConsumerProtocolSubscription(w, 0, { topics, userData: null });
  return w.toBuffer();
}

export function assignment(topic: string, partitions: number[]): Buffer {
  const w = new Writer();
  w.writeInt16(0);
  encodeConsumerProtocolAssignment(w, 0, { assignedPartitions: [{ topic, partitions }], userData: null });
  return w.toBuffer();
}

export function joinRequest(fields: Partial<JoinGroupRequest> = {}): JoinGroupRequest {
  return {
    ...defaultJoinGroupRequest(),
    groupId: "g",
    sessionTimeoutMs: 10_000,
    rebalanceTimeoutMs: 10_000,
    protocolType: "consumer",
    protocols: [{ name: "range", metadata: subscription(["t"]) }],
    ...fields,
  };
}

export function syncRequest(fields: Partial<SyncGroupRequest> = {}): SyncGroupRequest {
  return { ...defaultSyncGroupRequest(), groupId: "g", ...fields };
}

export function heartbeatRequest(fields: Partial<HeartbeatRequest> = {}): HeartbeatRequest {
  return { ...defaultHeartbeatRequest(), groupId: "g", ...fields };
}

/** A commit of offsets for partitions of one topic. */
export function commitRequest(
  offsets: Record<number, number>,
  fields: Partial<OffsetCommitRequest> = {},
  topic = "t",
): OffsetCommitRequest {
  return {
    ...defaultOffsetCommitRequest(),
    groupId: "g",
    topics: [
      {
        name: topic,
        partitions: Object.entries(offsets).map(([partition, offset]) => ({
          partitionIndex: Number(partition),
          committedOffset: offset,
          committedLeaderEpoch: -1,
          commitTimestamp: -1,
          committedMetadata: null,
        })),
      },
    ],
    ...fields,
  };
}

export function client(clientId = "client", fields: Partial<JoiningClient> = {}): JoiningClient {
  return {
    clientId,
    clientHost: "/127.0.0.1",
    requireKnownMemberId: true,
    supportsSkippingAssignment: false,
    ...fields,
  };
}

/** A new dynamic member's first JoinGroup (v4+): the id it must rejoin with. */
export async function memberIdFor(
  coordinator: GroupCoordinator,
  fields: Partial<JoinGroupRequest> = {},
  clientId = "client",
): Promise<string> {
  const first = await coordinator.joinGroup(joinRequest({ ...fields, memberId: "" }), client(clientId));
  assert.equal(first.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
  assert.match(first.memberId, new RegExp(`^${clientId}-[0-9a-f-]{36}$`));
  return first.memberId;
}

export interface FormedGroup {
  readonly generationId: number;
  readonly leaderId: string;
  readonly memberIds: string[];
  readonly joins: JoinResult[];
}

/**
 * Forms a group of `count` dynamic members in one round: each gets its id first, then all
 * join together, so the round sees them all. Optionally syncs with an assignment per member.
 */
export async function formGroup(
  coordinator: GroupCoordinator,
  count: number,
  options: { groupId?: string; sync?: boolean; join?: Partial<JoinGroupRequest> } = {},
): Promise<FormedGroup> {
  const groupId = options.groupId ?? "g";
  const ids: string[] = [];
  for (let i = 0; i < count; i++) ids.push(await memberIdFor(coordinator, { groupId, ...options.join }, `client${i}`));
  const joins = await Promise.all(
    ids.map((memberId, i) =>
      coordinator.joinGroup(joinRequest({ groupId, memberId, ...options.join }), client(`client${i}`)),
    ),
  );
  for (const join of joins) assert.equal(join.errorCode, ErrorCode.NONE);
  const generationId = (joins[0] as JoinResult).generationId;
  const leaderId = (joins[0] as JoinResult).leader;
  if (options.sync ?? true) {
    const leaderJoin = joins.find((j) => j.memberId === leaderId) as JoinResult;
    assert.equal(leaderJoin.members.length, count);
    const syncs = await Promise.all(
      ids.map((memberId) =>
        coordinator.syncGroup(
          syncRequest({
            groupId,
            memberId,
            generationId,
            assignments:
              memberId === leaderId ? ids.map((id, j) => ({ memberId: id, assignment: assignment("t", [j]) })) : [],
          }),
        ),
      ),
    );
    syncs.forEach((s, i) => {
      assert.equal(s.errorCode, ErrorCode.NONE);
      assert.deepEqual(s.assignment, assignment("t", [i]));
    });
  }
  return { generationId, leaderId, memberIds: ids, joins };
}

/** Heartbeats every few milliseconds, as a client would, until the answer is not NONE. */
export async function heartbeatUntilError(
  coordinator: GroupCoordinator,
  request: HeartbeatRequest,
  timeoutMs = 5000,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const errorCode = coordinator.heartbeat(request);
    if (errorCode !== ErrorCode.NONE) return errorCode;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error("heartbeats kept succeeding");
}
