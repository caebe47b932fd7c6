import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import type { BrokerConfig, BrokerContext } from "../../../src/broker/broker-context.js";
import type { GroupCoordinator } from "../../../src/broker/group/coordinator.js";
import offsetCommit from "../../../src/broker/handlers/08-offset-commit.js";
import offsetFetch from "../../../src/broker/handlers/09-offset-fetch.js";
import findCoordinator from "../../../src/broker/handlers/10-find-coordinator.js";
import joinGroup from "../../../src/broker/handlers/11-join-group.js";
import heartbeat from "../../../src/broker/handlers/12-heartbeat.js";
import leaveGroup from "../../../src/broker/handlers/13-leave-group.js";
import syncGroup from "../../../src/broker/handlers/14-sync-group.js";
import describeGroups from "../../../src/broker/handlers/15-describe-groups.js";
import listGroups from "../../../src/broker/handlers/16-list-groups.js";
import deleteGroups from "../../../src/broker/handlers/42-delete-groups.js";
import offsetDelete from "../../../src/broker/handlers/47-offset-delete.js";
import type { AnyHandler, RequestContext } from "../../../src/broker/handlers/handler.js";
import { ErrorCode } from "../../../src/protocol/errors.js";
import type {
  DeleteGroupsResponse,
  DescribeGroupsResponse,
  FindCoordinatorResponse,
  HeartbeatResponse,
  JoinGroupResponse,
  LeaveGroupResponse,
  ListGroupsResponse,
  OffsetCommitResponse,
  OffsetDeleteResponse,
  OffsetFetchResponse,
  RequestHeader,
  SyncGroupResponse,
} from "../../../src/protocol/generated/index.js";
import { Reader } from "../../../src/protocol/reader.js";
import { Writer } from "../../../src/protocol/writer.js";
import { assignment, startCoordinator, subscription, TEST_CONFIG } from "./helpers.js";

const config = {
  ...TEST_CONFIG,
  nodeId: 7,
  advertisedHost: "broker.example",
  advertisedPort: 19092,
} as unknown as BrokerConfig;

const coordinators: GroupCoordinator[] = [];
after(async () => {
  for (const coordinator of coordinators) await coordinator.close();
});

async function brokerWithGroups(): Promise<BrokerContext> {
  const groups = await startCoordinator();
  coordinators.push(groups);
  return { config, groups } as unknown as BrokerContext;
}

/**
 * Sends a request the way a client would: encoded at `version`, decoded by the broker's
 * codec, handled, and the response encoded at `version` and decoded again.
 */
async function call<Response>(
  broker: BrokerContext,
  handler: AnyHandler,
  version: number,
  request: unknown,
): Promise<Response> {
  const requestBytes = new Writer();
  handler.codec.encodeRequest(requestBytes, version, request);
  const decoded = handler.codec.decodeRequest(new Reader(requestBytes.toBuffer()), version);
  const context: RequestContext = {
    broker,
    header: {} as RequestHeader,
    apiVersion: version,
    clientId: "test-client",
    clientHost: "/127.0.0.1",
    connectionId: 1,
  };
  const response = await handler.handle(decoded, context);
  const responseBytes = new Writer();
  handler.codec.encodeResponse(responseBytes, version, response);
  return handler.codec.decodeResponse(new Reader(responseBytes.toBuffer()), version) as Response;
}

const versions = (handler: AnyHandler) =>
  Array.from({ length: handler.maxVersion - handler.minVersion + 1 }, (_, i) => handler.minVersion + i);

describe("group handlers through the codecs", () => {
  it("serve the versions the protocol notes recommend", () => {
    const ranges = [
      offsetCommit,
      offsetFetch,
      findCoordinator,
      joinGroup,
      heartbeat,
      leaveGroup,
      syncGroup,
      describeGroups,
      listGroups,
      deleteGroups,
      offsetDelete,
    ].map((h) => [h.codec.name, h.minVersion, h.maxVersion]);
    assert.deepEqual(ranges, [
      ["OffsetCommit", 0, 8],
      ["OffsetFetch", 0, 8],
      ["FindCoordinator", 0, 4],
      ["JoinGroup", 0, 9],
      ["Heartbeat", 0, 4],
      ["LeaveGroup", 0, 5],
      ["SyncGroup", 0, 5],
      ["DescribeGroups", 0, 5],
      ["ListGroups", 0, 5],
      ["DeleteGroups", 0, 2],
      ["OffsetDelete", 0, 0],
    ]);
  });

  for (const version of versions(joinGroup)) {
    it(`a member's life with JoinGroup v${version} and the other APIs at matching versions`, async () => {
      const broker = await brokerWithGroups();
      const groupId = `group-v${version}`;
      const join = (memberId: string) =>
        call<JoinGroupResponse>(broker, joinGroup, version, {
          groupId,
          sessionTimeoutMs: 10_000,
          rebalanceTimeoutMs: 10_000,
          memberId,
          protocolType: "consumer",
          protocols: [{ name: "range", metadata: subscription(["t"]) }],
        });
      let joined = await join("");
      if (version >= 4) {
        assert.equal(joined.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
        assert.match(joined.memberId, /^test-client-/);
        assert.equal(joined.protocolName, version >= 7 ? null : "");
        joined = await join(joined.memberId);
      }
      const memberId = joined.memberId;
      assert.equal(joined.errorCode, ErrorCode.NONE);
      assert.equal(joined.generationId, 1);
      assert.equal(joined.leader, memberId);
      assert.equal(joined.protocolName, "range");
      assert.equal(joined.protocolType, version >= 7 ? "consumer" : null);
      assert.deepEqual(
        joined.members.map((m) => [m.memberId, m.metadata]),
        [[memberId, subscription(["t"])]],
      );

      const syncVersion = Math.min(version, syncGroup.maxVersion);
      const synced = await call<SyncGroupResponse>(broker, syncGroup, syncVersion, {
        groupId,
        generationId: 1,
        memberId,
        protocolType: "consumer",
        protocolName: "range",
        assignments: [{ memberId, assignment: assignment("t", [0, 1, 2]) }],
      });
      assert.equal(synced.errorCode, ErrorCode.NONE);
      assert.deepEqual(synced.assignment, assignment("t", [0, 1, 2]));
      if (syncVersion >= 5) assert.equal(synced.protocolName, "range");

      const beat = await call<HeartbeatResponse>(broker, heartbeat, Math.min(version, heartbeat.maxVersion), {
        groupId,
        generationId: 1,
        memberId,
      });
      assert.equal(beat.errorCode, ErrorCode.NONE);

      // OffsetCommit v0 carries no member: that is a commit from outside the group.
      const commitVersion = Math.min(Math.max(version, 1), offsetCommit.maxVersion);
      const committed = await call<OffsetCommitResponse>(broker, offsetCommit, commitVersion, {
        groupId,
        generationIdOrMemberEpoch: 1,
        memberId,
        topics: [
          {
            name: "t",
            partitions: [
              { partitionIndex: 0, committedOffset: 100 + version, committedLeaderEpoch: 4, committedMetadata: "m" },
            ],
          },
        ],
      });
      assert.equal(committed.topics[0]?.partitions[0]?.errorCode, ErrorCode.NONE);

      const left = await call<LeaveGroupResponse>(
        broker,
        leaveGroup,
        Math.min(version, leaveGroup.maxVersion),
        version >= 3
          ? { groupId, members: [{ memberId, groupInstanceId: null, reason: "bye" }] }
          : { groupId, memberId },
      );
      assert.equal(left.errorCode, ErrorCode.NONE);
      if (version >= 3)
        assert.deepEqual(
          left.members.map((m) => [m.memberId, m.errorCode]),
          [[memberId, 0]],
        );
    });
  }

  for (const version of versions(offsetCommit)) {
    it(`OffsetCommit v${version} then OffsetFetch at every version`, async () => {
      const broker = await brokerWithGroups();
      const groupId = `commit-v${version}`;
      const committed = await call<OffsetCommitResponse>(broker, offsetCommit, version, {
        groupId,
        generationIdOrMemberEpoch: -1,
        memberId: "",
        retentionTimeMs: -1,
        topics: [
          {
            name: "t",
            partitions: [
              { partitionIndex: 1, committedOffset: 41, committedLeaderEpoch: 2, committedMetadata: "meta" },
              { partitionIndex: 9, committedOffset: 1, committedMetadata: null },
            ],
          },
        ],
      });
      assert.deepEqual(
        committed.topics[0]?.partitions.map((p) => [p.partitionIndex, p.errorCode]),
        [
          [1, ErrorCode.NONE],
          [9, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
        ],
      );
      for (const fetchVersion of versions(offsetFetch)) {
        const topics = [{ name: "t", partitionIndexes: [1, 2] }];
        const fetched = await call<OffsetFetchResponse>(
          broker,
          offsetFetch,
          fetchVersion,
          fetchVersion >= 8 ? { groups: [{ groupId, topics }] } : { groupId, topics },
        );
        const partitions = (fetchVersion >= 8 ? fetched.groups[0]?.topics : fetched.topics)?.[0]?.partitions;
        const epoch = version >= 6 && fetchVersion >= 5 ? 2 : -1;
        assert.deepEqual(
          partitions?.map((p) => [
            p.partitionIndex,
            p.committedOffset,
            p.committedLeaderEpoch,
            p.metadata,
            p.errorCode,
          ]),
          [
            [1, 41, epoch, "meta", 0],
            [2, -1, -1, "", 0],
          ],
          `OffsetFetch v${fetchVersion}`,
        );
      }
    });
  }

  it("OffsetFetch with null topics (v2+) and for several groups at once (v8)", async () => {
    const broker = await brokerWithGroups();
    for (const groupId of ["a", "b"]) {
      await call(broker, offsetCommit, 8, {
        groupId,
        topics: [{ name: "t", partitions: [{ partitionIndex: 0, committedOffset: 5, committedMetadata: null }] }],
      });
    }
    const all = await call<OffsetFetchResponse>(broker, offsetFetch, 2, { groupId: "a", topics: null });
    assert.deepEqual(
      all.topics.map((t) => [t.name, t.partitions.map((p) => p.committedOffset)]),
      [["t", [5]]],
    );
    const batch = await call<OffsetFetchResponse>(broker, offsetFetch, 8, {
      groups: [
        { groupId: "a", topics: null },
        { groupId: "b", topics: [{ name: "t", partitionIndexes: [0] }] },
        { groupId: "nobody", topics: null },
      ],
    });
    assert.deepEqual(
      batch.groups.map((g) => [
        g.groupId,
        g.errorCode,
        g.topics.flatMap((t) => t.partitions.map((p) => p.committedOffset)),
      ]),
      [
        ["a", 0, [5]],
        ["b", 0, [5]],
        ["nobody", 0, []],
      ],
    );
  });

  it("OffsetFetch below v2 puts a group error on every partition", async () => {
    const broker = await brokerWithGroups();
    await broker.groups.close();
    for (const version of [0, 1]) {
      const fetched = await call<OffsetFetchResponse>(broker, offsetFetch, version, {
        groupId: "g",
        topics: [{ name: "t", partitionIndexes: [0, 1] }],
      });
      assert.deepEqual(
        fetched.topics[0]?.partitions.map((p) => p.errorCode),
        [ErrorCode.COORDINATOR_NOT_AVAILABLE, ErrorCode.COORDINATOR_NOT_AVAILABLE],
      );
    }
    const fetched = await call<OffsetFetchResponse>(broker, offsetFetch, 2, { groupId: "g", topics: null });
    assert.equal(fetched.errorCode, ErrorCode.COORDINATOR_NOT_AVAILABLE);
  });

  for (const version of versions(findCoordinator)) {
    it(`FindCoordinator v${version} names this broker for groups and transactions`, async () => {
      const broker = await brokerWithGroups();
      const expected = { nodeId: 7, host: "broker.example", port: 19092, errorCode: ErrorCode.NONE };
      if (version >= 4) {
        const found = await call<FindCoordinatorResponse>(broker, findCoordinator, version, {
          keyType: 0,
          coordinatorKeys: ["a", "b", ""],
        });
        assert.deepEqual(
          found.coordinators.map(({ key, nodeId, host, port, errorCode }) => ({ key, nodeId, host, port, errorCode })),
          ["a", "b", ""].map((key) => ({ key, ...expected })),
        );
        const bad = await call<FindCoordinatorResponse>(broker, findCoordinator, version, {
          keyType: 5,
          coordinatorKeys: ["a"],
        });
        assert.equal(bad.coordinators[0]?.errorCode, ErrorCode.INVALID_REQUEST);
        return;
      }
      for (const keyType of version >= 1 ? [0, 1] : [0]) {
        const found = await call<FindCoordinatorResponse>(broker, findCoordinator, version, { key: "g", keyType });
        assert.deepEqual(
          { nodeId: found.nodeId, host: found.host, port: found.port, errorCode: found.errorCode },
          expected,
        );
      }
      if (version >= 1) {
        const bad = await call<FindCoordinatorResponse>(broker, findCoordinator, version, { key: "g", keyType: 5 });
        assert.equal(bad.errorCode, ErrorCode.INVALID_REQUEST);
        assert.equal(bad.nodeId, -1);
      }
    });
  }

  it("SyncGroup v5 without the protocol type and name: INCONSISTENT_GROUP_PROTOCOL", async () => {
    const broker = await brokerWithGroups();
    const synced = await call<SyncGroupResponse>(broker, syncGroup, 5, {
      groupId: "g",
      generationId: 1,
      memberId: "m",
      assignments: [],
    });
    assert.equal(synced.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  });

  it("LeaveGroup v0–2 answers a member's error as the request's error", async () => {
    const broker = await brokerWithGroups();
    await call(broker, offsetCommit, 2, {
      groupId: "g",
      topics: [{ name: "t", partitions: [{ partitionIndex: 0, committedOffset: 1, committedMetadata: null }] }],
    });
    for (const version of [0, 1, 2]) {
      const left = await call<LeaveGroupResponse>(broker, leaveGroup, version, { groupId: "g", memberId: "ghost" });
      assert.equal(left.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    }
  });

  for (const version of versions(describeGroups)) {
    it(`DescribeGroups v${version} and ListGroups v${version}`, async () => {
      const broker = await brokerWithGroups();
      await call(broker, joinGroup, 3, {
        groupId: "g",
        sessionTimeoutMs: 10_000,
        memberId: "",
        protocolType: "consumer",
        protocols: [{ name: "range", metadata: subscription(["t"]) }],
      });
      const described = await call<DescribeGroupsResponse>(broker, describeGroups, version, {
        groups: ["g", "nobody"],
        includeAuthorizedOperations: true,
      });
      assert.deepEqual(
        described.groups.map((g) => [g.groupId, g.errorCode, g.groupState, g.protocolType, g.members.length]),
        [
          ["g", 0, "CompletingRebalance", "consumer", 1],
          ["nobody", 0, "Dead", "", 0],
        ],
      );
      assert.equal(described.groups[0]?.members[0]?.clientId, "test-client");
      assert.equal(described.groups[0]?.members[0]?.clientHost, "/127.0.0.1");
      if (version >= 3) assert.equal(described.groups[0]?.authorizedOperations, (1 << 3) | (1 << 6) | (1 << 8));

      const listVersion = Math.min(version, listGroups.maxVersion);
      const listed = await call<ListGroupsResponse>(broker, listGroups, listVersion, {
        statesFilter: ["completingrebalance"],
        typesFilter: ["classic"],
      });
      assert.equal(listed.errorCode, ErrorCode.NONE);
      assert.deepEqual(
        listed.groups.map((g) => [g.groupId, g.protocolType]),
        [["g", "consumer"]],
      );
      if (listVersion >= 4) assert.equal(listed.groups[0]?.groupState, "CompletingRebalance");
      if (listVersion >= 5) assert.equal(listed.groups[0]?.groupType, "classic");
      const none = await call<ListGroupsResponse>(broker, listGroups, listVersion, { statesFilter: ["Empty"] });
      assert.equal(none.groups.length, listVersion >= 4 ? 0 : 1, "the state filter exists from v4");
    });
  }

  for (const version of versions(deleteGroups)) {
    it(`DeleteGroups v${version} and OffsetDelete`, async () => {
      const broker = await brokerWithGroups();
      for (const groupId of ["a", "b"]) {
        await call(broker, offsetCommit, 3, {
          groupId,
          topics: [
            {
              name: "t",
              partitions: [
                { partitionIndex: 0, committedOffset: 1, committedMetadata: null },
                { partitionIndex: 1, committedOffset: 1, committedMetadata: null },
              ],
            },
          ],
        });
      }
      const offsetsDeleted = await call<OffsetDeleteResponse>(broker, offsetDelete, 0, {
        groupId: "b",
        topics: [{ name: "t", partitions: [{ partitionIndex: 0 }] }],
      });
      assert.equal(offsetsDeleted.errorCode, ErrorCode.NONE);
      assert.equal(offsetsDeleted.topics[0]?.partitions[0]?.errorCode, ErrorCode.NONE);
      const deleted = await call<DeleteGroupsResponse>(broker, deleteGroups, version, { groupsNames: ["a", "zzz"] });
      assert.deepEqual(
        deleted.results.map((r) => [r.groupId, r.errorCode]),
        [
          ["a", ErrorCode.NONE],
          ["zzz", ErrorCode.GROUP_ID_NOT_FOUND],
        ],
      );
      const fetched = await call<OffsetFetchResponse>(broker, offsetFetch, 3, { groupId: "b", topics: null });
      assert.deepEqual(
        fetched.topics[0]?.partitions.map((p) => p.partitionIndex),
        [1],
      );
    });
  }
});
