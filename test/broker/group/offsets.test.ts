import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import type { GroupCoordinator } from "../../../src/broker/group/coordinator.js";
import { MemoryGroupStore } from "../../../src/broker/group/group-store.js";
import { ErrorCode } from "../../../src/protocol/errors.js";
import {
  type CoordinatorSetup,
  client,
  commitRequest,
  FakeTopics,
  formGroup,
  heartbeatRequest,
  joinRequest,
  startCoordinator,
  subscription,
} from "./helpers.js";

const running: GroupCoordinator[] = [];
async function coordinatorFor(setup: CoordinatorSetup = {}): Promise<GroupCoordinator> {
  const coordinator = await startCoordinator(setup);
  running.push(coordinator);
  return coordinator;
}
after(async () => {
  for (const coordinator of running) await coordinator.close();
});

async function commitErrors(coordinator: GroupCoordinator, ...args: Parameters<typeof commitRequest>) {
  const topics = await coordinator.commitOffsets(commitRequest(...args));
  return topics.flatMap((t) => t.partitions.map((p) => p.errorCode));
}

function committedOffset(coordinator: GroupCoordinator, partition: number, groupId = "g", topic = "t"): number {
  const fetched = coordinator.fetchOffsets(groupId, [{ name: topic, partitionIndexes: [partition] }]);
  return fetched.topics[0]?.partitions[0]?.committedOffset ?? Number.NaN;
}

const DAY = 24 * 60 * 60 * 1000;

describe("OffsetCommit and OffsetFetch", () => {
  it("a commit from outside any group (generation -1) creates the group and is fetched back", async () => {
    const coordinator = await coordinatorFor();
    assert.deepEqual(await commitErrors(coordinator, { 0: 5, 1: 6 }), [ErrorCode.NONE, ErrorCode.NONE]);
    assert.equal(committedOffset(coordinator, 0), 5);
    assert.equal(committedOffset(coordinator, 1), 6);
    assert.deepEqual(coordinator.listGroups([], []).groups, [
      { groupId: "g", protocolType: "", groupState: "Empty", groupType: "classic" },
    ]);
  });

  it("fetch: unknown partitions and groups answer offset -1, empty metadata and no error", async () => {
    const coordinator = await coordinatorFor();
    assert.deepEqual(coordinator.fetchOffsets("nobody", [{ name: "t", partitionIndexes: [0] }]), {
      errorCode: ErrorCode.NONE,
      topics: [
        {
          name: "t",
          partitions: [
            { partitionIndex: 0, committedOffset: -1, committedLeaderEpoch: -1, metadata: "", errorCode: 0 },
          ],
        },
      ],
    });
    assert.deepEqual(coordinator.fetchOffsets("nobody", null), { errorCode: ErrorCode.NONE, topics: [] });
  });

  it("fetch with null topics returns every partition the group committed, in order", async () => {
    const coordinator = await coordinatorFor();
    await coordinator.commitOffsets(commitRequest({ 1: 10 }, {}, "other"));
    await coordinator.commitOffsets(commitRequest({ 2: 20, 0: 0 }));
    const all = coordinator.fetchOffsets("g", null);
    assert.deepEqual(
      all.topics.map((t) => [t.name, t.partitions.map((p) => [p.partitionIndex, p.committedOffset])]),
      [
        ["other", [[1, 10]]],
        [
          "t",
          [
            [0, 0],
            [2, 20],
          ],
        ],
      ],
    );
  });

  it("round-trips commit metadata and the leader epoch; null metadata reads back as empty", async () => {
    const coordinator = await coordinatorFor();
    const request = commitRequest({ 0: 1, 1: 2 });
    const [first, second] = request.topics[0]?.partitions ?? [];
    if (!first || !second) throw new Error("no partitions");
    first.committedMetadata = "where I was";
    first.committedLeaderEpoch = 9;
    await coordinator.commitOffsets(request);
    const fetched = coordinator.fetchOffsets("g", [{ name: "t", partitionIndexes: [0, 1] }]).topics[0]?.partitions;
    assert.deepEqual(
      fetched?.map((p) => [p.metadata, p.committedLeaderEpoch]),
      [
        ["where I was", 9],
        ["", -1],
      ],
    );
  });

  it("UNKNOWN_TOPIC_OR_PARTITION for topics and partitions that do not exist, the rest is committed", async () => {
    const coordinator = await coordinatorFor();
    // Partitions 0, 3 and -1, in that order: "t" has three.
    assert.deepEqual(await commitErrors(coordinator, { 0: 1, 3: 1, [-1]: 1 }), [
      ErrorCode.NONE,
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    ]);
    assert.deepEqual(await commitErrors(coordinator, { 0: 1 }, {}, "missing"), [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
    assert.equal(committedOffset(coordinator, 0), 1);
  });

  it("OFFSET_METADATA_TOO_LARGE above 4096 characters, per partition", async () => {
    const coordinator = await coordinatorFor();
    const request = commitRequest({ 0: 1, 1: 1 });
    const [big, fits] = request.topics[0]?.partitions ?? [];
    if (!big || !fits) throw new Error("no partitions");
    big.committedMetadata = "x".repeat(4097);
    fits.committedMetadata = "x".repeat(4096);
    const [topic] = await coordinator.commitOffsets(request);
    assert.deepEqual(
      topic?.partitions.map((p) => p.errorCode),
      [ErrorCode.OFFSET_METADATA_TOO_LARGE, ErrorCode.NONE],
    );
    assert.equal(committedOffset(coordinator, 0), -1);
  });

  it("checks the member and generation of commits from a group with members", async () => {
    const coordinator = await coordinatorFor();
    const { memberIds, generationId } = await formGroup(coordinator, 1);
    const memberId = memberIds[0] as string;
    assert.deepEqual(await commitErrors(coordinator, { 0: 1 }, { memberId, generationIdOrMemberEpoch: generationId }), [
      ErrorCode.NONE,
    ]);
    assert.deepEqual(await commitErrors(coordinator, { 0: 2 }, { memberId, generationIdOrMemberEpoch: 0 }), [
      ErrorCode.ILLEGAL_GENERATION,
    ]);
    assert.deepEqual(await commitErrors(coordinator, { 0: 2 }, { memberId: "ghost", generationIdOrMemberEpoch: 1 }), [
      ErrorCode.UNKNOWN_MEMBER_ID,
    ]);
    assert.deepEqual(
      await commitErrors(coordinator, { 0: 2 }),
      [ErrorCode.UNKNOWN_MEMBER_ID],
      "only members commit while the group has any",
    );
    assert.deepEqual(
      await commitErrors(coordinator, { 0: 2 }, { groupId: "lost", memberId, generationIdOrMemberEpoch: 3 }),
      [ErrorCode.ILLEGAL_GENERATION],
      "a member of a group the coordinator does not know",
    );
    assert.equal(committedOffset(coordinator, 0), 1);
  });

  it("accepts commits during PreparingRebalance but not during CompletingRebalance", async () => {
    const coordinator = await coordinatorFor();
    const { memberIds } = await formGroup(coordinator, 2);
    const [leader, follower] = memberIds as [string, string];
    const leaderRejoin = coordinator.joinGroup(joinRequest({ memberId: leader }), client());
    assert.deepEqual(await commitErrors(coordinator, { 0: 7 }, { memberId: follower, generationIdOrMemberEpoch: 1 }), [
      ErrorCode.NONE,
    ]);
    await coordinator.joinGroup(joinRequest({ memberId: follower }), client());
    await leaderRejoin;
    assert.deepEqual(await commitErrors(coordinator, { 0: 8 }, { memberId: follower, generationIdOrMemberEpoch: 2 }), [
      ErrorCode.REBALANCE_IN_PROGRESS,
    ]);
    assert.equal(committedOffset(coordinator, 0), 7);
  });

  it("a static member's zombie commit is fenced", async () => {
    const coordinator = await coordinatorFor();
    const first = await coordinator.joinGroup(joinRequest({ groupInstanceId: "i" }), client());
    const second = await coordinator.joinGroup(joinRequest({ groupInstanceId: "i" }), client());
    assert.notEqual(first.memberId, second.memberId);
    assert.deepEqual(
      await commitErrors(
        coordinator,
        { 0: 1 },
        { memberId: first.memberId, groupInstanceId: "i", generationIdOrMemberEpoch: 1 },
      ),
      [ErrorCode.FENCED_INSTANCE_ID],
    );
  });
});

describe("OffsetDelete and DeleteGroups", () => {
  it("an empty group's offsets can be deleted; the group goes when none are left", async () => {
    const coordinator = await coordinatorFor();
    await coordinator.commitOffsets(commitRequest({ 0: 1, 1: 1 }));
    const result = await coordinator.deleteOffsets({
      groupId: "g",
      topics: [{ name: "t", partitions: [{ partitionIndex: 0 }, { partitionIndex: 1 }, { partitionIndex: 9 }] }],
    });
    assert.equal(result.errorCode, ErrorCode.NONE);
    assert.deepEqual(
      result.topics[0]?.partitions.map((p) => p.errorCode),
      [ErrorCode.NONE, ErrorCode.NONE, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
    );
    assert.equal(committedOffset(coordinator, 0), -1);
    assert.deepEqual(coordinator.listGroups([], []).groups, []);
  });

  it("GROUP_SUBSCRIBED_TO_TOPIC for topics a consumer group with members is subscribed to", async () => {
    const coordinator = await coordinatorFor();
    const { memberIds } = await formGroup(coordinator, 1);
    const member = { memberId: memberIds[0] as string, generationIdOrMemberEpoch: 1 };
    await coordinator.commitOffsets(commitRequest({ 0: 1 }, member));
    await coordinator.commitOffsets(commitRequest({ 0: 1 }, member, "other"));
    const result = await coordinator.deleteOffsets({
      groupId: "g",
      topics: [
        { name: "t", partitions: [{ partitionIndex: 0 }] },
        { name: "other", partitions: [{ partitionIndex: 0 }] },
      ],
    });
    assert.deepEqual(
      result.topics.map((t) => t.partitions[0]?.errorCode),
      [ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC, ErrorCode.NONE],
    );
    assert.equal(committedOffset(coordinator, 0), 1);
    assert.equal(committedOffset(coordinator, 0, "g", "other"), -1);
  });

  it("when the members' metadata cannot be read, every topic counts as subscribed", async () => {
    const coordinator = await coordinatorFor();
    await formGroup(coordinator, 1, { join: { protocols: [{ name: "range", metadata: Buffer.from([1, 2, 3]) }] } });
    const result = await coordinator.deleteOffsets({
      groupId: "g",
      topics: [{ name: "other", partitions: [{ partitionIndex: 0 }] }],
    });
    assert.equal(result.topics[0]?.partitions[0]?.errorCode, ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC);
  });

  it("NON_EMPTY_GROUP for a non-consumer group with members; GROUP_ID_NOT_FOUND; INVALID_GROUP_ID", async () => {
    const coordinator = await coordinatorFor();
    await formGroup(coordinator, 1, { join: { protocolType: "connect" } });
    const request = (groupId: string) => ({ groupId, topics: [{ name: "t", partitions: [{ partitionIndex: 0 }] }] });
    assert.equal((await coordinator.deleteOffsets(request("g"))).errorCode, ErrorCode.NON_EMPTY_GROUP);
    assert.equal((await coordinator.deleteOffsets(request("nobody"))).errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
    assert.equal((await coordinator.deleteOffsets(request(""))).errorCode, ErrorCode.INVALID_GROUP_ID);
  });

  it("DeleteGroups: empty groups go with their offsets; NON_EMPTY_GROUP; GROUP_ID_NOT_FOUND", async () => {
    const coordinator = await coordinatorFor();
    await coordinator.commitOffsets(commitRequest({ 0: 3 }, { groupId: "idle" }));
    await formGroup(coordinator, 1, { groupId: "busy" });
    const results = await coordinator.deleteGroups(["idle", "busy", "nobody", "idle"]);
    assert.deepEqual(results, [
      { groupId: "idle", errorCode: ErrorCode.NONE },
      { groupId: "busy", errorCode: ErrorCode.NON_EMPTY_GROUP },
      { groupId: "nobody", errorCode: ErrorCode.GROUP_ID_NOT_FOUND },
      { groupId: "idle", errorCode: ErrorCode.GROUP_ID_NOT_FOUND },
    ]);
    assert.equal(committedOffset(coordinator, 0, "idle"), -1);
    assert.deepEqual(
      coordinator.listGroups([], []).groups.map((g) => g.groupId),
      ["busy"],
    );
  });
});

describe("DescribeGroups and ListGroups", () => {
  it("describes a Stable group's members with their metadata and assignments", async () => {
    const coordinator = await coordinatorFor();
    const { memberIds } = await formGroup(coordinator, 2);
    const [group] = coordinator.describeGroups(["g"]);
    assert.equal(group?.errorCode, ErrorCode.NONE);
    assert.equal(group?.groupState, "Stable");
    assert.equal(group?.protocolType, "consumer");
    assert.equal(group?.protocolData, "range");
    assert.deepEqual(
      group?.members.map((m) => [m.memberId, m.clientId, m.clientHost, m.groupInstanceId]),
      memberIds.map((id, i) => [id, `client${i}`, "/127.0.0.1", null]),
    );
    assert.deepEqual(group?.members[0]?.memberMetadata, subscription(["t"]));
    assert.ok((group?.members[1]?.memberAssignment.length ?? 0) > 0);
  });

  it("describes an unknown group as Dead without an error, and hides metadata mid-rebalance", async () => {
    const coordinator = await coordinatorFor();
    assert.deepEqual(coordinator.describeGroups(["nobody"]), [
      { errorCode: 0, groupId: "nobody", groupState: "Dead", protocolType: "", protocolData: "", members: [] },
    ]);
    const { memberIds } = await formGroup(coordinator, 2);
    void coordinator.joinGroup(joinRequest({ memberId: memberIds[0] }), client());
    const [group] = coordinator.describeGroups(["g"]);
    assert.equal(group?.groupState, "PreparingRebalance");
    assert.equal(group?.protocolData, "");
    assert.deepEqual(
      group?.members.map((m) => m.memberMetadata.length + m.memberAssignment.length),
      [0, 0],
    );
  });

  it("lists groups, filtered by state (v4) and type (v5), case-insensitively", async () => {
    const coordinator = await coordinatorFor();
    await coordinator.commitOffsets(commitRequest({ 0: 1 }, { groupId: "simple" }));
    await formGroup(coordinator, 1, { groupId: "stable" });
    const ids = (states: string[], types: string[] = []) =>
      coordinator
        .listGroups(states, types)
        .groups.map((g) => g.groupId)
        .sort();
    assert.deepEqual(ids([]), ["simple", "stable"]);
    assert.deepEqual(ids(["stable"]), ["stable"]);
    assert.deepEqual(ids(["Empty", "Dead"]), ["simple"]);
    assert.deepEqual(ids([], ["Classic"]), ["simple", "stable"]);
    assert.deepEqual(ids([], ["consumer"]), []);
  });
});

describe("offset retention", () => {
  it("expires the offsets of a group that only stores offsets, counted from each commit", async () => {
    let now = 1_000_000;
    const coordinator = await coordinatorFor({ now: () => now, config: { offsetsRetentionMs: DAY } });
    await coordinator.commitOffsets(commitRequest({ 0: 1 }));
    now += DAY / 2;
    await coordinator.commitOffsets(commitRequest({ 1: 1 }));
    now += DAY / 2;
    await coordinator.removeExpiredOffsets();
    assert.equal(committedOffset(coordinator, 0), -1);
    assert.equal(committedOffset(coordinator, 1), 1);
    now += DAY / 2;
    await coordinator.removeExpiredOffsets();
    assert.equal(committedOffset(coordinator, 1), -1);
    assert.deepEqual(coordinator.listGroups([], []).groups, [], "the group went with its last offset");
  });

  it("an empty consumer group keeps its offsets for the retention time after it became empty", async () => {
    let now = 1_000_000;
    const coordinator = await coordinatorFor({ now: () => now, config: { offsetsRetentionMs: DAY } });
    const { memberIds } = await formGroup(coordinator, 1);
    const memberId = memberIds[0] as string;
    await coordinator.commitOffsets(commitRequest({ 0: 1 }, { memberId, generationIdOrMemberEpoch: 1 }));
    now += 2 * DAY;
    assert.equal(coordinator.heartbeat(heartbeatRequest({ memberId, generationId: 1 })), ErrorCode.NONE);
    await coordinator.removeExpiredOffsets();
    assert.equal(committedOffset(coordinator, 0), 1, "a Stable group subscribed to the topic keeps it");
    coordinator.leaveGroup("g", [{ memberId, groupInstanceId: null, reason: null }]);
    now += DAY - 1;
    await coordinator.removeExpiredOffsets();
    assert.equal(committedOffset(coordinator, 0), 1);
    now += 1;
    await coordinator.removeExpiredOffsets();
    assert.equal(committedOffset(coordinator, 0), -1);
  });

  it("a Stable consumer group loses old offsets of topics it no longer subscribes to", async () => {
    let now = 1_000_000;
    const coordinator = await coordinatorFor({ now: () => now, config: { offsetsRetentionMs: DAY } });
    const { memberIds } = await formGroup(coordinator, 1);
    const member = { memberId: memberIds[0] as string, generationIdOrMemberEpoch: 1 };
    await coordinator.commitOffsets(commitRequest({ 0: 1 }, member, "other"));
    await coordinator.commitOffsets(commitRequest({ 0: 1 }, member));
    now += DAY;
    await coordinator.removeExpiredOffsets();
    assert.equal(committedOffset(coordinator, 0, "g", "other"), -1);
    assert.equal(committedOffset(coordinator, 0), 1);
  });

  it("honours an explicit retention time (OffsetCommit v2–4)", async () => {
    let now = 1_000_000;
    const coordinator = await coordinatorFor({ now: () => now, config: { offsetsRetentionMs: DAY } });
    await coordinator.commitOffsets(commitRequest({ 0: 1 }, { retentionTimeMs: 1000 }));
    now += 999;
    await coordinator.removeExpiredOffsets();
    assert.equal(committedOffset(coordinator, 0), 1);
    now += 1;
    await coordinator.removeExpiredOffsets();
    assert.equal(committedOffset(coordinator, 0), -1);
  });
});

describe("topic deletion", () => {
  it("removes the topic's offsets and rebalances groups subscribed to it", async () => {
    const topics = new FakeTopics();
    const store = new MemoryGroupStore();
    const coordinator = await coordinatorFor({ topics, store });
    const { memberIds } = await formGroup(coordinator, 1, { groupId: "reader" });
    const memberId = memberIds[0] as string;
    await coordinator.commitOffsets(
      commitRequest({ 0: 4, 1: 5 }, { groupId: "reader", memberId, generationIdOrMemberEpoch: 1 }),
    );
    await coordinator.commitOffsets(commitRequest({ 0: 4 }, { groupId: "archive" }));
    await coordinator.commitOffsets(commitRequest({ 0: 1 }, { groupId: "archive" }, "other"));
    await formGroup(coordinator, 1, {
      groupId: "elsewhere",
      join: { protocols: [{ name: "range", metadata: subscription(["other"]) }] },
    });

    await formGroup(coordinator, 1, {
      groupId: "garbled",
      join: { protocols: [{ name: "range", metadata: Buffer.from("not a subscription") }] },
    });

    topics.partitions.delete("t");
    await coordinator.onTopicDeleted("t");
    assert.equal(coordinator.describeGroups(["garbled"])[0]?.groupState, "Stable", "unreadable metadata: left alone");
    assert.equal(committedOffset(coordinator, 0, "reader"), -1);
    assert.equal(committedOffset(coordinator, 0, "archive"), -1);
    assert.equal(committedOffset(coordinator, 0, "archive", "other"), 1);
    assert.equal(
      coordinator.heartbeat(heartbeatRequest({ groupId: "reader", memberId, generationId: 1 })),
      ErrorCode.REBALANCE_IN_PROGRESS,
    );
    assert.equal(coordinator.describeGroups(["elsewhere"])[0]?.groupState, "Stable");
    assert.equal(store.state.offsets("reader"), undefined);
  });
});
