import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import type { GroupCoordinator } from "../../../src/broker/group/coordinator.js";
import type { JoinResult } from "../../../src/broker/group/results.js";
import { ErrorCode } from "../../../src/protocol/errors.js";
import type { JoinGroupRequest } from "../../../src/protocol/generated/index.js";
import {
  assignment,
  client,
  heartbeatRequest,
  heartbeatUntilError,
  joinRequest,
  startCoordinator,
  subscription,
  syncRequest,
} from "./helpers.js";

const running: GroupCoordinator[] = [];
after(async () => {
  for (const coordinator of running) await coordinator.close();
});

interface StaticGroup {
  coordinator: GroupCoordinator;
  ids: Record<string, string>;
  generationId: number;
  leaderId: string;
}

/** Static members join (no MEMBER_ID_REQUIRED for them) and sync one assignment each. */
async function staticGroup(instances: string[], join: Partial<JoinGroupRequest> = {}): Promise<StaticGroup> {
  const coordinator = await startCoordinator();
  running.push(coordinator);
  const joins = await Promise.all(
    instances.map((instance) =>
      coordinator.joinGroup(joinRequest({ ...join, groupInstanceId: instance }), client(instance)),
    ),
  );
  const ids = Object.fromEntries(instances.map((instance, i) => [instance, (joins[i] as JoinResult).memberId]));
  for (const [instance, memberId] of Object.entries(ids)) assert.match(memberId, new RegExp(`^${instance}-`));
  const { generationId, leader: leaderId } = joins[0] as JoinResult;
  await Promise.all(
    instances.map((instance, i) =>
      coordinator
        .syncGroup(
          syncRequest({
            memberId: ids[instance],
            groupInstanceId: instance,
            generationId,
            assignments:
              ids[instance] === leaderId
                ? instances.map((other, j) => ({ memberId: ids[other] as string, assignment: assignment("t", [j]) }))
                : [],
          }),
        )
        .then((sync) => assert.deepEqual(sync.assignment, assignment("t", [i]))),
    ),
  );
  return { coordinator, ids, generationId, leaderId };
}

describe("static membership (group.instance.id)", () => {
  it("a restarted static member gets a new id and its old assignment back, without a rebalance", async () => {
    const { coordinator, ids, generationId, leaderId } = await staticGroup(["a", "b"]);
    const oldB = ids.b as string;
    const rejoin = await coordinator.joinGroup(joinRequest({ groupInstanceId: "b" }), client("b"));
    assert.equal(rejoin.errorCode, ErrorCode.NONE);
    assert.notEqual(rejoin.memberId, oldB);
    assert.equal(rejoin.generationId, generationId);
    assert.equal(rejoin.leader, leaderId);
    assert.deepEqual(rejoin.members, []);

    const sync = await coordinator.syncGroup(
      syncRequest({ memberId: rejoin.memberId, groupInstanceId: "b", generationId }),
    );
    assert.deepEqual(sync.assignment, assignment("t", [1]));
    assert.equal(coordinator.describeGroups(["g"])[0]?.groupState, "Stable");
    // The other member never noticed; the old incarnation is fenced.
    assert.equal(
      coordinator.heartbeat(heartbeatRequest({ memberId: ids.a, groupInstanceId: "a", generationId })),
      ErrorCode.NONE,
    );
    assert.equal(
      coordinator.heartbeat(heartbeatRequest({ memberId: oldB, groupInstanceId: "b", generationId })),
      ErrorCode.FENCED_INSTANCE_ID,
    );
    assert.equal(
      (await coordinator.joinGroup(joinRequest({ memberId: oldB, groupInstanceId: "b" }), client("b"))).errorCode,
      ErrorCode.FENCED_INSTANCE_ID,
    );
    assert.equal(
      (await coordinator.syncGroup(syncRequest({ memberId: oldB, groupInstanceId: "b", generationId }))).errorCode,
      ErrorCode.FENCED_INSTANCE_ID,
    );
    assert.equal(
      coordinator.leaveGroup("g", [{ memberId: oldB, groupInstanceId: "b", reason: null }]).members[0]?.errorCode,
      ErrorCode.FENCED_INSTANCE_ID,
    );
  });

  it("a restarted static leader is told the old leader id (before v9) so it does not reassign", async () => {
    const { coordinator, ids, leaderId } = await staticGroup(["a", "b"]);
    assert.equal(leaderId, ids.a);
    const rejoin = await coordinator.joinGroup(joinRequest({ groupInstanceId: "a" }), client("a"));
    assert.equal(rejoin.leader, ids.a);
    assert.notEqual(rejoin.memberId, ids.a);
    assert.equal(rejoin.skipAssignment, false);
  });

  it("a restarted static leader on JoinGroup v9 is named leader and told to skip the assignment", async () => {
    const { coordinator, ids } = await staticGroup(["a", "b"]);
    const rejoin = await coordinator.joinGroup(
      joinRequest({ groupInstanceId: "a" }),
      client("a", { supportsSkippingAssignment: true }),
    );
    assert.equal(rejoin.leader, rejoin.memberId);
    assert.equal(rejoin.skipAssignment, true);
    assert.deepEqual(rejoin.members.map((m) => m.groupInstanceId).sort(), ["a", "b"]);
    assert.ok(
      rejoin.members.some((m) => m.memberId === rejoin.memberId) && !rejoin.members.some((m) => m.memberId === ids.a),
    );
  });

  it("a restarted static member whose protocols change the group's choice causes a rebalance", async () => {
    const coordinator = await startCoordinator();
    running.push(coordinator);
    const meta = subscription(["t"]);
    const first = await coordinator.joinGroup(
      joinRequest({
        groupInstanceId: "a",
        protocols: [
          { name: "range", metadata: meta },
          { name: "roundrobin", metadata: meta },
        ],
      }),
      client("a"),
    );
    assert.equal(first.protocolName, "range");
    await coordinator.syncGroup(syncRequest({ memberId: first.memberId, groupInstanceId: "a", generationId: 1 }));
    const rejoin = await coordinator.joinGroup(
      joinRequest({
        groupInstanceId: "a",
        protocols: [
          { name: "roundrobin", metadata: meta },
          { name: "range", metadata: meta },
        ],
      }),
      client("a"),
    );
    assert.equal(rejoin.generationId, 2);
    assert.equal(rejoin.protocolName, "roundrobin");
  });

  it("a static member that misses a rebalance stays in the round, and goes when it does not sync", async () => {
    const { coordinator, ids, generationId } = await staticGroup(["a", "b"], { rebalanceTimeoutMs: 30 });
    // a rejoins (the leader: a rebalance); b is silent. A dynamic member would be dropped when
    // the round ends; b is static, so it is in the new generation...
    const join = await coordinator.joinGroup(
      joinRequest({ memberId: ids.a, groupInstanceId: "a", rebalanceTimeoutMs: 30 }),
      client("a"),
    );
    assert.equal(join.generationId, generationId + 1);
    assert.deepEqual(join.members.map((m) => m.groupInstanceId).sort(), ["a", "b"]);
    // ...but like any member it must send SyncGroup within the rebalance timeout.
    const sync = await coordinator.syncGroup(
      syncRequest({ memberId: ids.a, groupInstanceId: "a", generationId: join.generationId }),
    );
    assert.equal(sync.errorCode, ErrorCode.NONE);
    const error = await heartbeatUntilError(
      coordinator,
      heartbeatRequest({ memberId: ids.a, groupInstanceId: "a", generationId: join.generationId }),
    );
    assert.equal(error, ErrorCode.REBALANCE_IN_PROGRESS);
  });

  it("a silent static member is removed when its session expires", async () => {
    const { coordinator, ids, generationId } = await staticGroup(["x", "y"], { sessionTimeoutMs: 40 });
    // Only x heartbeats; y's session ends, which starts a rebalance.
    const error = await heartbeatUntilError(
      coordinator,
      heartbeatRequest({ memberId: ids.x, groupInstanceId: "x", generationId }),
    );
    assert.equal(error, ErrorCode.REBALANCE_IN_PROGRESS);
    const rejoin = await coordinator.joinGroup(
      joinRequest({ memberId: ids.x, groupInstanceId: "x", sessionTimeoutMs: 40 }),
      client("x"),
    );
    assert.deepEqual(
      rejoin.members.map((m) => m.groupInstanceId),
      ["x"],
    );
  });

  it("LeaveGroup by instance id alone removes a static member (administrative removal)", async () => {
    const { coordinator, ids } = await staticGroup(["a", "b"]);
    const leave = coordinator.leaveGroup("g", [
      { memberId: "", groupInstanceId: "b", reason: "removed by admin" },
      { memberId: "", groupInstanceId: "nobody", reason: null },
    ]);
    assert.deepEqual(
      leave.members.map((m) => m.errorCode),
      [ErrorCode.NONE, ErrorCode.UNKNOWN_MEMBER_ID],
    );
    const rejoin = await coordinator.joinGroup(joinRequest({ memberId: ids.a, groupInstanceId: "a" }), client("a"));
    assert.deepEqual(
      rejoin.members.map((m) => m.memberId),
      [ids.a],
    );
  });

  it("UNKNOWN_MEMBER_ID for a member id with an instance id the group does not know", async () => {
    const { coordinator, ids } = await staticGroup(["a"]);
    const join = await coordinator.joinGroup(joinRequest({ memberId: ids.a, groupInstanceId: "z" }), client("a"));
    assert.equal(join.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  });
});
