import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { GroupCoordinator } from "../../../src/broker/group/coordinator.js";
import { MemoryGroupStore } from "../../../src/broker/group/group-store.js";
import { silentLogger } from "../../../src/logger.js";
import { ErrorCode } from "../../../src/protocol/errors.js";
import {
  assignment,
  client,
  commitRequest,
  FakeTopics,
  formGroup,
  heartbeatRequest,
  heartbeatUntilError,
  joinRequest,
  memberIdFor,
  startCoordinator,
  subscription,
  syncRequest,
  TEST_CONFIG,
} from "./helpers.js";

const running: GroupCoordinator[] = [];
async function coordinatorFor(setup: Parameters<typeof startCoordinator>[0] = {}): Promise<GroupCoordinator> {
  const coordinator = await startCoordinator(setup);
  running.push(coordinator);
  return coordinator;
}
after(async () => {
  for (const coordinator of running) await coordinator.close();
});

function stateOf(coordinator: GroupCoordinator, groupId = "g"): string {
  return coordinator.describeGroups([groupId])[0]?.groupState ?? "";
}

describe("group coordinator: forming a group", () => {
  it("forms a group of three: one leader sees every member, everyone gets its assignment", async () => {
    const coordinator = await coordinatorFor();
    const group = await formGroup(coordinator, 3);
    assert.equal(group.generationId, 1);
    assert.equal(group.leaderId, group.memberIds[0]);
    for (const join of group.joins) {
      assert.equal(join.protocolType, "consumer");
      assert.equal(join.protocolName, "range");
      assert.equal(join.leader, group.leaderId);
      assert.equal(join.members.length, join.memberId === group.leaderId ? 3 : 0);
    }
    const leaderJoin = group.joins[0];
    assert.deepEqual(
      leaderJoin?.members.map((m) => m.metadata),
      [1, 2, 3].map(() => subscription(["t"])),
    );
    assert.equal(stateOf(coordinator), "Stable");
    for (const memberId of group.memberIds) {
      assert.equal(coordinator.heartbeat(heartbeatRequest({ memberId, generationId: 1 })), ErrorCode.NONE);
    }
  });

  it("adds members below JoinGroup v4 at once, without MEMBER_ID_REQUIRED", async () => {
    const coordinator = await coordinatorFor();
    const join = await coordinator.joinGroup(joinRequest(), client("old", { requireKnownMemberId: false }));
    assert.equal(join.errorCode, ErrorCode.NONE);
    assert.match(join.memberId, /^old-/);
    assert.equal(join.leader, join.memberId);
    assert.equal(join.generationId, 1);
  });

  it("chooses the protocol most members prefer among those all support", async () => {
    const coordinator = await coordinatorFor();
    const meta = subscription(["t"]);
    const a = await memberIdFor(coordinator);
    const b = await memberIdFor(coordinator);
    const c = await memberIdFor(coordinator);
    const joins = await Promise.all([
      coordinator.joinGroup(
        joinRequest({
          memberId: a,
          protocols: [
            { name: "sticky", metadata: meta },
            { name: "range", metadata: meta },
            { name: "roundrobin", metadata: meta },
          ],
        }),
        client(),
      ),
      coordinator.joinGroup(
        joinRequest({
          memberId: b,
          protocols: [
            { name: "roundrobin", metadata: meta },
            { name: "range", metadata: meta },
          ],
        }),
        client(),
      ),
      coordinator.joinGroup(
        joinRequest({
          memberId: c,
          protocols: [
            { name: "roundrobin", metadata: meta },
            { name: "range", metadata: meta },
          ],
        }),
        client(),
      ),
    ]);
    // "sticky" is not supported by all; of the rest, roundrobin has two first choices.
    for (const join of joins) assert.equal(join.protocolName, "roundrobin");
  });

  it("waits group.initial.rebalance.delay.ms for more members, then forms one generation", async () => {
    const coordinator = await coordinatorFor({ config: { groupInitialRebalanceDelayMs: 30 } });
    const first = coordinator.joinGroup(joinRequest(), client("a", { requireKnownMemberId: false }));
    await new Promise((resolve) => setTimeout(resolve, 10));
    const second = coordinator.joinGroup(joinRequest(), client("b", { requireKnownMemberId: false }));
    const [a, b] = await Promise.all([first, second]);
    assert.equal(a.generationId, 1);
    assert.equal(b.generationId, 1);
    assert.equal(a.members.length + b.members.length, 2);
  });
});

describe("group coordinator: errors a Kafka coordinator returns", () => {
  it("INVALID_GROUP_ID for an empty group id in JoinGroup, SyncGroup, Heartbeat and LeaveGroup", async () => {
    const coordinator = await coordinatorFor();
    const join = await coordinator.joinGroup(joinRequest({ groupId: "" }), client());
    assert.equal(join.errorCode, ErrorCode.INVALID_GROUP_ID);
    assert.equal((await coordinator.syncGroup(syncRequest({ groupId: "" }))).errorCode, ErrorCode.INVALID_GROUP_ID);
    assert.equal(coordinator.heartbeat(heartbeatRequest({ groupId: "" })), ErrorCode.INVALID_GROUP_ID);
    assert.equal(
      coordinator.leaveGroup("", [{ memberId: "m", groupInstanceId: null, reason: null }]).errorCode,
      ErrorCode.INVALID_GROUP_ID,
    );
    assert.deepEqual(coordinator.listGroups([], []).groups, []);
  });

  it("INVALID_SESSION_TIMEOUT outside the configured bounds", async () => {
    const coordinator = await coordinatorFor({
      config: { groupMinSessionTimeoutMs: 100, groupMaxSessionTimeoutMs: 1000 },
    });
    for (const sessionTimeoutMs of [99, 1001]) {
      const join = await coordinator.joinGroup(joinRequest({ sessionTimeoutMs }), client());
      assert.equal(join.errorCode, ErrorCode.INVALID_SESSION_TIMEOUT);
    }
    assert.deepEqual(coordinator.listGroups([], []).groups, [], "a refused join leaves no group behind");
  });

  it("INCONSISTENT_GROUP_PROTOCOL: empty protocol type, other protocol type, no common protocol", async () => {
    const coordinator = await coordinatorFor();
    const noType = await coordinator.joinGroup(joinRequest({ protocolType: "" }), client());
    assert.equal(noType.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    const noProtocols = await coordinator.joinGroup(joinRequest({ protocols: [] }), client());
    assert.equal(noProtocols.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);

    await formGroup(coordinator, 1);
    const otherType = await coordinator.joinGroup(joinRequest({ protocolType: "connect" }), client());
    assert.equal(otherType.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    const otherProtocol = await coordinator.joinGroup(
      joinRequest({ protocols: [{ name: "roundrobin", metadata: subscription(["t"]) }] }),
      client(),
    );
    assert.equal(otherProtocol.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    assert.equal(stateOf(coordinator), "Stable", "refused members do not disturb the group");
  });

  it("UNKNOWN_MEMBER_ID for ids the coordinator does not know", async () => {
    const coordinator = await coordinatorFor();
    assert.equal(
      (await coordinator.joinGroup(joinRequest({ memberId: "ghost" }), client())).errorCode,
      ErrorCode.UNKNOWN_MEMBER_ID,
      "a member id for a group that does not exist",
    );
    await formGroup(coordinator, 1);
    assert.equal(
      (await coordinator.joinGroup(joinRequest({ memberId: "ghost" }), client())).errorCode,
      ErrorCode.UNKNOWN_MEMBER_ID,
    );
    assert.equal(
      (await coordinator.syncGroup(syncRequest({ memberId: "ghost", generationId: 1 }))).errorCode,
      ErrorCode.UNKNOWN_MEMBER_ID,
    );
    assert.equal(
      coordinator.heartbeat(heartbeatRequest({ memberId: "ghost", generationId: 1 })),
      ErrorCode.UNKNOWN_MEMBER_ID,
    );
    assert.equal(
      coordinator.heartbeat(heartbeatRequest({ groupId: "nope", memberId: "ghost", generationId: 1 })),
      ErrorCode.UNKNOWN_MEMBER_ID,
    );
    const leave = coordinator.leaveGroup("g", [{ memberId: "ghost", groupInstanceId: null, reason: null }]);
    assert.equal(leave.errorCode, ErrorCode.NONE);
    assert.equal(leave.members[0]?.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it("ILLEGAL_GENERATION for a stale generation in Heartbeat and SyncGroup", async () => {
    const coordinator = await coordinatorFor();
    const { memberIds } = await formGroup(coordinator, 1);
    const memberId = memberIds[0] as string;
    assert.equal(coordinator.heartbeat(heartbeatRequest({ memberId, generationId: 0 })), ErrorCode.ILLEGAL_GENERATION);
    assert.equal(
      (await coordinator.syncGroup(syncRequest({ memberId, generationId: 7 }))).errorCode,
      ErrorCode.ILLEGAL_GENERATION,
    );
  });

  it("INCONSISTENT_GROUP_PROTOCOL when SyncGroup names another protocol type or name", async () => {
    const coordinator = await coordinatorFor();
    const { memberIds } = await formGroup(coordinator, 1);
    const memberId = memberIds[0] as string;
    const wrongType = await coordinator.syncGroup(syncRequest({ memberId, generationId: 1, protocolType: "connect" }));
    assert.equal(wrongType.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    const wrongName = await coordinator.syncGroup(syncRequest({ memberId, generationId: 1, protocolName: "sticky" }));
    assert.equal(wrongName.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    const right = await coordinator.syncGroup(
      syncRequest({ memberId, generationId: 1, protocolType: "consumer", protocolName: "range" }),
    );
    assert.equal(right.errorCode, ErrorCode.NONE);
    assert.equal(right.protocolName, "range");
  });

  it("GROUP_MAX_SIZE_REACHED for a member beyond group.max.size", async () => {
    const coordinator = await coordinatorFor({ config: { groupMaxSize: 2 } });
    await formGroup(coordinator, 2);
    const third = await coordinator.joinGroup(joinRequest(), client());
    assert.equal(third.errorCode, ErrorCode.GROUP_MAX_SIZE_REACHED);
    assert.equal(third.memberId, "");
    assert.equal(stateOf(coordinator), "Stable");
  });

  it("turns away the last members to rejoin when a rebalance finds more than group.max.size", async () => {
    const coordinator = await coordinatorFor({ config: { groupMaxSize: 2 } });
    const { memberIds } = await formGroup(coordinator, 2);
    const [a, b] = memberIds as [string, string];
    const newcomer = await coordinator.joinGroup(joinRequest(), client("new", { requireKnownMemberId: false }));
    assert.equal(newcomer.errorCode, ErrorCode.GROUP_MAX_SIZE_REACHED);
    // A rebalance in which a stranger gets in before the members rejoin: it is accepted while
    // fewer than two have rejoined, and the member rejoining third is turned away.
    const rejoinA = coordinator.joinGroup(joinRequest({ memberId: a }), client());
    const stranger = coordinator.joinGroup(joinRequest(), client("s", { requireKnownMemberId: false }));
    const rejoinB = await coordinator.joinGroup(joinRequest({ memberId: b }), client());
    assert.equal(rejoinB.errorCode, ErrorCode.GROUP_MAX_SIZE_REACHED);
    const [joinedA, joinedStranger] = await Promise.all([rejoinA, stranger]);
    assert.equal(joinedA.errorCode, ErrorCode.NONE);
    assert.equal(joinedStranger.errorCode, ErrorCode.NONE);
    assert.equal(joinedA.generationId, 2);
  });

  it("REBALANCE_IN_PROGRESS to Heartbeat and SyncGroup while the group prepares a rebalance", async () => {
    const coordinator = await coordinatorFor();
    const { memberIds } = await formGroup(coordinator, 2);
    const [leader, follower] = memberIds as [string, string];
    // The leader rejoining makes the group rebalance; its JoinGroup parks until the follower rejoins.
    const leaderRejoin = coordinator.joinGroup(joinRequest({ memberId: leader }), client());
    assert.equal(stateOf(coordinator), "PreparingRebalance");
    assert.equal(
      coordinator.heartbeat(heartbeatRequest({ memberId: follower, generationId: 1 })),
      ErrorCode.REBALANCE_IN_PROGRESS,
    );
    assert.equal(
      (await coordinator.syncGroup(syncRequest({ memberId: follower, generationId: 1 }))).errorCode,
      ErrorCode.REBALANCE_IN_PROGRESS,
    );
    const followerRejoin = await coordinator.joinGroup(joinRequest({ memberId: follower }), client());
    assert.equal(followerRejoin.generationId, 2);
    assert.equal((await leaderRejoin).generationId, 2);
    assert.equal(stateOf(coordinator), "CompletingRebalance");
  });

  it("a follower rejoining a Stable group with the same metadata gets the current generation at once", async () => {
    const coordinator = await coordinatorFor();
    const { memberIds } = await formGroup(coordinator, 2);
    const again = await coordinator.joinGroup(joinRequest({ memberId: memberIds[1] }), client());
    assert.equal(again.errorCode, ErrorCode.NONE);
    assert.equal(again.generationId, 1);
    assert.deepEqual(again.members, []);
    assert.equal(stateOf(coordinator), "Stable");
  });

  it("a follower rejoining with new metadata starts a rebalance", async () => {
    const coordinator = await coordinatorFor();
    const { memberIds } = await formGroup(coordinator, 2);
    const [leader, follower] = memberIds as [string, string];
    const changed = coordinator.joinGroup(
      joinRequest({ memberId: follower, protocols: [{ name: "range", metadata: subscription(["t", "other"]) }] }),
      client(),
    );
    assert.equal(stateOf(coordinator), "PreparingRebalance");
    const leaderJoin = await coordinator.joinGroup(joinRequest({ memberId: leader }), client());
    assert.equal((await changed).generationId, 2);
    assert.deepEqual(
      leaderJoin.members.map((m) => m.metadata),
      [subscription(["t"]), subscription(["t", "other"])],
    );
  });
});

describe("group coordinator: members leaving and failing", () => {
  it("a member leaving causes exactly one rebalance round among the others", async () => {
    const coordinator = await coordinatorFor();
    const { memberIds } = await formGroup(coordinator, 3);
    const [a, b, c] = memberIds as [string, string, string];
    const leave = coordinator.leaveGroup("g", [{ memberId: c, groupInstanceId: null, reason: "shutting down" }]);
    assert.equal(leave.members[0]?.errorCode, ErrorCode.NONE);
    assert.equal(
      coordinator.heartbeat(heartbeatRequest({ memberId: a, generationId: 1 })),
      ErrorCode.REBALANCE_IN_PROGRESS,
    );
    const [joinA, joinB] = await Promise.all([
      coordinator.joinGroup(joinRequest({ memberId: a }), client()),
      coordinator.joinGroup(joinRequest({ memberId: b }), client()),
    ]);
    assert.equal(joinA.generationId, 2);
    assert.equal(joinB.generationId, 2);
    assert.equal(joinA.members.length, 2);
    const syncs = await Promise.all([
      coordinator.syncGroup(
        syncRequest({
          memberId: a,
          generationId: 2,
          assignments: [
            { memberId: a, assignment: assignment("t", [0, 2]) },
            { memberId: b, assignment: assignment("t", [1]) },
          ],
        }),
      ),
      coordinator.syncGroup(syncRequest({ memberId: b, generationId: 2 })),
    ]);
    assert.deepEqual(
      syncs.map((s) => s.assignment),
      [assignment("t", [0, 2]), assignment("t", [1])],
    );
    assert.equal(stateOf(coordinator), "Stable");
    assert.equal(
      coordinator.heartbeat(heartbeatRequest({ memberId: c, generationId: 1 })),
      ErrorCode.UNKNOWN_MEMBER_ID,
    );
  });

  it("LeaveGroup v3 form: several members at once, each with its own error", async () => {
    const coordinator = await coordinatorFor();
    const { memberIds } = await formGroup(coordinator, 3);
    const leave = coordinator.leaveGroup("g", [
      { memberId: memberIds[1] as string, groupInstanceId: null, reason: null },
      { memberId: "ghost", groupInstanceId: null, reason: null },
      { memberId: memberIds[2] as string, groupInstanceId: null, reason: null },
    ]);
    assert.deepEqual(
      leave.members.map((m) => m.errorCode),
      [ErrorCode.NONE, ErrorCode.UNKNOWN_MEMBER_ID, ErrorCode.NONE],
    );
    const rejoin = await coordinator.joinGroup(joinRequest({ memberId: memberIds[0] }), client());
    assert.equal(rejoin.generationId, 2);
    assert.equal(rejoin.members.length, 1);
  });

  it("a pending member (MEMBER_ID_REQUIRED) can leave, and the last member leaving empties the group", async () => {
    const coordinator = await coordinatorFor();
    const { memberIds } = await formGroup(coordinator, 1);
    const pending = await memberIdFor(coordinator);
    assert.equal(
      coordinator.leaveGroup("g", [{ memberId: pending, groupInstanceId: null, reason: null }]).members[0]?.errorCode,
      ErrorCode.NONE,
    );
    coordinator.leaveGroup("g", [{ memberId: memberIds[0] as string, groupInstanceId: null, reason: null }]);
    assert.equal(stateOf(coordinator), "Empty");
    assert.equal(coordinator.describeGroups(["g"])[0]?.members.length, 0);
  });

  it("a member whose session expires is removed and the others rebalance without it", async () => {
    const coordinator = await coordinatorFor();
    const a = await memberIdFor(coordinator);
    const b = await memberIdFor(coordinator);
    const [joinA] = await Promise.all([
      coordinator.joinGroup(joinRequest({ memberId: a, sessionTimeoutMs: 5000 }), client()),
      coordinator.joinGroup(joinRequest({ memberId: b, sessionTimeoutMs: 40 }), client()),
    ]);
    assert.equal(joinA.members.length, 2);
    await Promise.all([
      coordinator.syncGroup(syncRequest({ memberId: a, generationId: 1 })),
      coordinator.syncGroup(syncRequest({ memberId: b, generationId: 1 })),
    ]);
    // b never heartbeats again; a does, and learns of the rebalance.
    const error = await heartbeatUntilError(coordinator, heartbeatRequest({ memberId: a, generationId: 1 }));
    assert.equal(error, ErrorCode.REBALANCE_IN_PROGRESS);
    const rejoin = await coordinator.joinGroup(joinRequest({ memberId: a, sessionTimeoutMs: 5000 }), client());
    assert.equal(rejoin.generationId, 2);
    assert.deepEqual(
      rejoin.members.map((m) => m.memberId),
      [a],
    );
  });

  it("a pending member that never rejoins expires, and the round does not wait for it", async () => {
    const coordinator = await coordinatorFor();
    const { memberIds } = await formGroup(coordinator, 1);
    await memberIdFor(coordinator, { sessionTimeoutMs: 30 });
    // The leader's rejoin starts a round that waits for the pending member until it expires.
    const rejoin = await coordinator.joinGroup(joinRequest({ memberId: memberIds[0] }), client());
    assert.equal(rejoin.generationId, 2);
    assert.equal(rejoin.members.length, 1);
  });

  it("a member that disconnects mid-rebalance is dropped after the rebalance timeout", async () => {
    const coordinator = await coordinatorFor();
    const { memberIds } = await formGroup(coordinator, 2, { join: { rebalanceTimeoutMs: 50 } });
    const [leader] = memberIds as [string, string];
    // The follower is gone: it never rejoins nor heartbeats. The leader's round ends anyway.
    const started = Date.now();
    const rejoin = await coordinator.joinGroup(joinRequest({ memberId: leader, rebalanceTimeoutMs: 50 }), client());
    assert.ok(Date.now() - started >= 40);
    assert.equal(rejoin.generationId, 2);
    assert.deepEqual(
      rejoin.members.map((m) => m.memberId),
      [leader],
    );
  });

  it("a follower that never sends SyncGroup is removed after the rebalance timeout", async () => {
    const coordinator = await coordinatorFor();
    const { memberIds } = await formGroup(coordinator, 2, { sync: false, join: { rebalanceTimeoutMs: 50 } });
    const [leader] = memberIds as [string, string];
    const sync = await coordinator.syncGroup(syncRequest({ memberId: leader, generationId: 1 }));
    assert.equal(sync.errorCode, ErrorCode.NONE);
    const error = await heartbeatUntilError(coordinator, heartbeatRequest({ memberId: leader, generationId: 1 }));
    assert.equal(error, ErrorCode.REBALANCE_IN_PROGRESS);
    const rejoin = await coordinator.joinGroup(joinRequest({ memberId: leader, rebalanceTimeoutMs: 50 }), client());
    assert.equal(rejoin.members.length, 1);
  });

  it("when the leader never sends SyncGroup, the parked followers are told to rejoin", async () => {
    const coordinator = await coordinatorFor();
    const { memberIds } = await formGroup(coordinator, 2, { sync: false, join: { rebalanceTimeoutMs: 50 } });
    const [, follower] = memberIds as [string, string];
    const sync = await coordinator.syncGroup(syncRequest({ memberId: follower, generationId: 1 }));
    assert.equal(sync.errorCode, ErrorCode.REBALANCE_IN_PROGRESS);
    const rejoin = await coordinator.joinGroup(joinRequest({ memberId: follower, rebalanceTimeoutMs: 50 }), client());
    assert.equal(rejoin.leader, follower);
    assert.equal(rejoin.generationId, 2);
  });

  it("relays whatever bytes the leader assigns, even for topics that do not exist", async () => {
    const coordinator = await coordinatorFor();
    const { memberIds } = await formGroup(coordinator, 2, { sync: false });
    const [leader, follower] = memberIds as [string, string];
    const bogus = assignment("no-such-topic", [42]);
    const garbage = Buffer.from([0xff, 0x00, 0x13]);
    const [leaderSync, followerSync] = await Promise.all([
      coordinator.syncGroup(
        syncRequest({
          memberId: leader,
          generationId: 1,
          assignments: [
            { memberId: leader, assignment: garbage },
            { memberId: follower, assignment: bogus },
            { memberId: "not-a-member", assignment: bogus },
          ],
        }),
      ),
      coordinator.syncGroup(syncRequest({ memberId: follower, generationId: 1 })),
    ]);
    assert.deepEqual(leaderSync.assignment, garbage);
    assert.deepEqual(followerSync.assignment, bogus);
    const described = coordinator.describeGroups(["g"])[0];
    assert.deepEqual(
      described?.members.map((m) => m.memberAssignment),
      [garbage, bogus],
    );
  });

  it("members the leader leaves out of its assignment get empty bytes", async () => {
    const coordinator = await coordinatorFor();
    const { memberIds } = await formGroup(coordinator, 2, { sync: false });
    const [leader, follower] = memberIds as [string, string];
    const [, followerSync] = await Promise.all([
      coordinator.syncGroup(
        syncRequest({
          memberId: leader,
          generationId: 1,
          assignments: [{ memberId: leader, assignment: assignment("t", [0]) }],
        }),
      ),
      coordinator.syncGroup(syncRequest({ memberId: follower, generationId: 1 })),
    ]);
    assert.equal(followerSync.errorCode, ErrorCode.NONE);
    assert.equal(followerSync.assignment.length, 0);
  });

  it("a second JoinGroup from a parked member answers the first one", async () => {
    const coordinator = await coordinatorFor();
    const { memberIds } = await formGroup(coordinator, 2);
    const [leader, follower] = memberIds as [string, string];
    const first = coordinator.joinGroup(joinRequest({ memberId: leader }), client());
    const retry = coordinator.joinGroup(joinRequest({ memberId: leader }), client());
    assert.equal((await first).errorCode, ErrorCode.REBALANCE_IN_PROGRESS);
    await coordinator.joinGroup(joinRequest({ memberId: follower }), client());
    assert.equal((await retry).generationId, 2);
  });

  it("close answers parked requests instead of leaving them hanging", async () => {
    const coordinator = await startCoordinator();
    const { memberIds } = await formGroup(coordinator, 2);
    const parked = coordinator.joinGroup(joinRequest({ memberId: memberIds[0] }), client());
    await coordinator.close();
    assert.equal((await parked).errorCode, ErrorCode.COORDINATOR_NOT_AVAILABLE);
    assert.equal(
      coordinator.heartbeat(heartbeatRequest({ memberId: memberIds[1] })),
      ErrorCode.COORDINATOR_NOT_AVAILABLE,
    );
  });

  it("answers COORDINATOR_LOAD_IN_PROGRESS until the store is loaded", async () => {
    let loaded!: () => void;
    const store = new MemoryGroupStore();
    store.open = () => new Promise<void>((resolve) => (loaded = resolve));
    const coordinator = new GroupCoordinator({
      config: TEST_CONFIG,
      logger: silentLogger,
      topics: new FakeTopics(),
      store,
    });
    running.push(coordinator);
    const starting = coordinator.start();
    assert.equal(
      (await coordinator.joinGroup(joinRequest(), client())).errorCode,
      ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
    );
    assert.equal(
      (await coordinator.commitOffsets(commitRequest({ 0: 1 })))[0]?.partitions[0]?.errorCode,
      ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
    );
    assert.equal(coordinator.fetchOffsets("g", null).errorCode, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
    loaded();
    await starting;
    assert.equal((await coordinator.joinGroup(joinRequest(), client())).errorCode, ErrorCode.MEMBER_ID_REQUIRED);
  });
});
