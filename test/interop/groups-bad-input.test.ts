// Bad group requests against a real brook process, sent raw over the wire: each gets the error a
// Kafka coordinator returns, and the well-behaved members of the group carry on — their
// heartbeats keep succeeding, or, where the bad member forced a round, they finish it and
// hold every partition between them.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { errorName } from "../../src/protocol/errors.js";
import { API_CODECS } from "../../src/protocol/generated/index.js";
import { type BrokerProcess, startBrokerProcess } from "../helpers/broker-process.js";
import { waitForLogLine } from "../helpers/interop-groups.js";
import {
  assignedPartitions,
  assignmentBytes,
  dealPartitions,
  formGroup,
  GroupAdmin,
  RawGroupMember,
  type RawMemberOptions,
  subscriptionBytes,
} from "../helpers/interop-groups-raw.js";

const TOPIC = "bad-group-input";
const PARTITIONS = 3;
/** Short, so members that never sync or rejoin are dropped within the test. */
const REBALANCE_TIMEOUT_MS = 1500;

describe("bad group requests against a brook process", { timeout: 60_000 }, () => {
  let broker: BrokerProcess;
  let admin: GroupAdmin;
  const opened: RawGroupMember[] = [];

  before(async () => {
    broker = await startBrokerProcess({ args: ["--log-level", "info"] });
    admin = await GroupAdmin.connect(broker);
    await admin.createTopic(TOPIC, PARTITIONS);
  });

  after(async () => {
    await Promise.all(opened.map((m) => m.close()));
    await admin?.close();
    await broker?.destroy();
  });

  async function member(groupId: string, name: string, options: Partial<RawMemberOptions> = {}) {
    const raw = await RawGroupMember.connect(broker, {
      groupId,
      clientId: `${groupId}-${name}`,
      topics: [TOPIC],
      rebalanceTimeoutMs: REBALANCE_TIMEOUT_MS,
      ...options,
    });
    opened.push(raw);
    return raw;
  }

  const deal = { assign: (members: readonly { memberId: string }[]) => dealPartitions(members, TOPIC, PARTITIONS) };

  /** A Stable group of well-behaved members, each holding part of the topic. */
  async function stableGroup(groupId: string, names: string[]): Promise<RawGroupMember[]> {
    const members = await Promise.all(names.map((name) => member(groupId, name)));
    await formGroup(members, { ...deal, heartbeatMs: 20 });
    return members;
  }

  /** The members heartbeat successfully in the generation they had, and the group is Stable with just them. */
  async function assertCarriesOn(members: readonly RawGroupMember[], generationId: number): Promise<void> {
    for (const m of members) {
      assert.equal(m.generationId, generationId, `${m.options.clientId} is still in generation ${generationId}`);
      assert.equal(errorName(await m.heartbeat()), "NONE", `${m.options.clientId} heartbeat`);
    }
    const view = await admin.describe(members[0]!.options.groupId);
    assert.equal(view.state, "Stable");
    assert.deepEqual(view.members.map((m) => m.memberId).sort(), members.map((m) => m.memberId).sort());
    assert.deepEqual(
      view.members.flatMap((m) => m.partitions).sort(),
      Array.from({ length: PARTITIONS }, (_, p) => p),
      "every partition is assigned",
    );
  }

  test("requests for an unknown group: UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, GROUP_ID_NOT_FOUND, or described as Dead", async () => {
    const members = await stableGroup("known-group", ["a", "b"]);
    const generation = members[0]!.generationId;
    const stranger = await member("no-such-group", "stranger");
    stranger.memberId = "made-up-member";
    stranger.generationId = 1;

    assert.equal(errorName((await stranger.join()).errorCode), "UNKNOWN_MEMBER_ID", "JoinGroup with a member id");
    assert.equal(errorName((await stranger.sync()).errorCode), "UNKNOWN_MEMBER_ID", "SyncGroup");
    assert.equal(errorName(await stranger.heartbeat()), "UNKNOWN_MEMBER_ID", "Heartbeat");
    assert.equal(errorName(await stranger.leave()), "UNKNOWN_MEMBER_ID", "LeaveGroup");
    // A generation from a group the coordinator does not know: a commit from a lost member.
    const [commit] = await stranger.commit(TOPIC, { 0: 5 });
    assert.equal(errorName(commit!.errorCode), "ILLEGAL_GENERATION", "OffsetCommit with a generation");

    const described = await admin.describe("no-such-group");
    assert.deepEqual(described, { state: "Dead", protocol: "", members: [] });
    assert.deepEqual(await admin.committedOffsets("no-such-group", TOPIC, PARTITIONS), [-1, -1, -1]);
    const deleted = await stranger.connection.send(API_CODECS.DeleteGroups, 2, { groupsNames: ["no-such-group"] });
    assert.equal(errorName(deleted.results[0]!.errorCode), "GROUP_ID_NOT_FOUND", "DeleteGroups");
    assert.equal((await admin.describe("no-such-group")).state, "Dead", "none of this created the group");

    await assertCarriesOn(members, generation);
  });

  test("a different protocol type or no common assignor: INCONSISTENT_GROUP_PROTOCOL, and no rebalance", async () => {
    const members = await stableGroup("protocol-group", ["a", "b"]);
    const generation = members[0]!.generationId;
    const intruder = await member("protocol-group", "intruder");

    const connect = await intruder.join({ protocolType: "connect" });
    assert.equal(errorName(connect.errorCode), "INCONSISTENT_GROUP_PROTOCOL", "protocol type connect");
    const roundRobin = await intruder.join({
      protocols: [{ name: "roundrobin", metadata: subscriptionBytes([TOPIC]) }],
    });
    assert.equal(
      errorName(roundRobin.errorCode),
      "INCONSISTENT_GROUP_PROTOCOL",
      "only roundrobin, the group uses range",
    );
    assert.equal(intruder.memberId, "", "the intruder was given no member id");

    // SyncGroup v5 names the protocol; a member whose idea of it differs is refused.
    const [a] = members as [RawGroupMember];
    const sync = await a.connection.send(API_CODECS.SyncGroup, 5, {
      groupId: "protocol-group",
      generationId: a.generationId,
      memberId: a.memberId,
      protocolType: "consumer",
      protocolName: "roundrobin",
      assignments: [],
    });
    assert.equal(errorName(sync.errorCode), "INCONSISTENT_GROUP_PROTOCOL", "SyncGroup v5 with another protocol name");

    await assertCarriesOn(members, generation);
  });

  test("a session timeout outside [6000, 1800000] ms: INVALID_SESSION_TIMEOUT", async () => {
    const members = await stableGroup("session-group", ["a", "b"]);
    const generation = members[0]!.generationId;
    for (const sessionTimeoutMs of [5999, 1_800_001, 0, -1]) {
      const impatient = await member("session-group", `session-${sessionTimeoutMs}`, { sessionTimeoutMs });
      assert.equal(errorName((await impatient.join()).errorCode), "INVALID_SESSION_TIMEOUT", `${sessionTimeoutMs} ms`);
    }
    // The minimum itself is allowed: every member in these tests has a 6000 ms session.
    await assertCarriesOn(members, generation);
  });

  test("an empty group id: INVALID_GROUP_ID from JoinGroup, SyncGroup, Heartbeat and LeaveGroup", async () => {
    const members = await stableGroup("named-group", ["a", "b"]);
    const generation = members[0]!.generationId;
    const nameless = await member("", "nameless");
    nameless.memberId = members[0]!.memberId;
    nameless.generationId = generation;

    assert.equal(errorName((await nameless.join()).errorCode), "INVALID_GROUP_ID", "JoinGroup");
    assert.equal(errorName((await nameless.sync()).errorCode), "INVALID_GROUP_ID", "SyncGroup");
    assert.equal(errorName(await nameless.heartbeat()), "INVALID_GROUP_ID", "Heartbeat");
    const leave = await nameless.connection.send(API_CODECS.LeaveGroup, 3, {
      groupId: "",
      members: [{ memberId: nameless.memberId, groupInstanceId: null }],
    });
    assert.equal(errorName(leave.errorCode), "INVALID_GROUP_ID", "LeaveGroup");
    // FindCoordinator answers any key with this broker, as Kafka does; the group APIs refuse it.
    const coordinator = await nameless.connection.send(API_CODECS.FindCoordinator, 2, { key: "", keyType: 0 });
    assert.deepEqual(
      { error: errorName(coordinator.errorCode), port: coordinator.port },
      { error: "NONE", port: broker.port },
    );

    await assertCarriesOn(members, generation);
  });

  test("a member that never sends SyncGroup is removed after the rebalance timeout; the others go on without it", async () => {
    const members = await stableGroup("silent-group", ["a", "b"]);
    const generation = members[0]!.generationId;
    const silent = await member("silent-group", "silent");
    assert.equal(errorName((await silent.join()).errorCode), "MEMBER_ID_REQUIRED");
    const silentJoined = silent.join();

    // The others learn of the round by heartbeat and rejoin; the round has all three, the two
    // sync, and the coordinator drops the third when the rebalance timeout runs out. Only a
    // generation with just the two ends this.
    const next = await formGroup(members, { ...deal, heartbeatMs: 20, startWithHeartbeat: true });
    assert.equal(errorName((await silentJoined).errorCode), "NONE");
    assert.equal(silent.generationId, generation + 1, "the silent member was in the round");
    assert.equal(next, generation + 2, "one more round, without it");
    const expired = await waitForLogLine(
      broker,
      (l) => l.group === "silent-group" && /did not send SyncGroup/.test(String(l.reason)),
      "the silent member's removal",
    );
    assert.match(String(expired.reason), new RegExp(silent.memberId));
    await assertCarriesOn(members, next);
    assert.equal(errorName(await silent.heartbeat()), "UNKNOWN_MEMBER_ID", "the silent member is gone");
    assert.equal(errorName((await silent.sync()).errorCode), "UNKNOWN_MEMBER_ID", "its late SyncGroup");
  });

  test("a leader that assigns partitions that do not exist: relayed as sent, and commits for them get UNKNOWN_TOPIC_OR_PARTITION", async () => {
    const members = await Promise.all(["a", "b"].map((name) => member("wild-leader-group", name)));
    // With no initial rebalance delay a round may close before both members joined: the leader
    // then assigns to those it was given, and the later round assigns to both.
    const wild = (joined: readonly { memberId: string }[]) => {
      const [first, second] = joined.map((m) => m.memberId).sort();
      const assignments = [{ memberId: first as string, assignment: assignmentBytes(TOPIC, [0, 1, 2, 7]) }];
      if (second !== undefined)
        assignments.push({ memberId: second, assignment: assignmentBytes("no-such-topic", [0]) });
      return assignments;
    };
    const generation = await formGroup(members, { assign: wild, heartbeatMs: 20 });
    const [first, second] = [...members].sort((x, y) => x.memberId.localeCompare(y.memberId)) as [
      RawGroupMember,
      RawGroupMember,
    ];
    // Kafka's coordinator does not look inside assignments; the bytes reach the members unchanged.
    assert.deepEqual(assignedPartitions(first.assignment), new Map([[TOPIC, [0, 1, 2, 7]]]));
    assert.deepEqual(assignedPartitions(second.assignment), new Map([["no-such-topic", [0]]]));

    const commits = await first.commit(TOPIC, { 0: 1, 7: 1 });
    assert.deepEqual(
      commits.map((p) => [p.partitionIndex, errorName(p.errorCode)]),
      [
        [0, "NONE"],
        [7, "UNKNOWN_TOPIC_OR_PARTITION"],
      ],
    );
    const [nowhere] = await second.commit("no-such-topic", { 0: 1 });
    assert.equal(errorName(nowhere!.errorCode), "UNKNOWN_TOPIC_OR_PARTITION");
    const fetched = await first.connection.send(API_CODECS.Fetch, 11, {
      replicaId: -1,
      maxWaitMs: 0,
      minBytes: 1,
      topics: [{ topic: TOPIC, partitions: [{ partition: 7, fetchOffset: 0, partitionMaxBytes: 1024 }] }],
    });
    assert.equal(errorName(fetched.responses[0]!.partitions[0]!.errorCode), "UNKNOWN_TOPIC_OR_PARTITION");

    for (const m of members) assert.equal(errorName(await m.heartbeat()), "NONE");
    assert.equal((await admin.describe("wild-leader-group")).state, "Stable");
    assert.equal(members[0]!.generationId, generation);
    assert.deepEqual(await admin.committedOffsets("wild-leader-group", TOPIC, PARTITIONS), [1, -1, -1]);
  });

  test("a leader that disconnects while its JoinGroup waits for the round: the others finish without it", async () => {
    const members = await stableGroup("disconnect-group", ["a", "b", "c"]);
    const generation = members[0]!.generationId;
    const leader = members.find((m) => m.isLeader)!;
    const others = members.filter((m) => m !== leader);
    // A leader's JoinGroup in a Stable group starts a round (as when its client sees new
    // partitions); the coordinator's log line shows it arrived. Then the leader's client dies.
    const parked = leader.join().catch((error: Error) => error);
    await waitForLogLine(
      broker,
      (l) => l.group === "disconnect-group" && String(l.reason) === `member ${leader.memberId} rejoined`,
      "the round the leader's JoinGroup starts",
    );
    await leader.close();
    assert.match(String(await parked), /closed/);

    // Its JoinGroup still counts, as in Kafka: the round completes with it as leader when the
    // others rejoin, and they wait in SyncGroup for an assignment that never comes, until the
    // rebalance timeout drops the leader and a round without it hands out the partitions.
    const next = await formGroup(others, { ...deal, heartbeatMs: 20, startWithHeartbeat: true });
    assert.equal(next, generation + 2, "the round with the dead leader, then one without it");
    const dropped = await waitForLogLine(
      broker,
      (l) => l.group === "disconnect-group" && /did not send SyncGroup/.test(String(l.reason)),
      "the dead leader's removal",
    );
    assert.match(String(dropped.reason), new RegExp(leader.memberId));
    await assertCarriesOn(others, next);
  });

  test("a member that disconnects before a round is dropped when the rebalance timeout ends it", async () => {
    const members = await stableGroup("vanish-group", ["a", "b"]);
    const generation = members[0]!.generationId;
    const [stays, vanishes] = members as [RawGroupMember, RawGroupMember];
    await vanishes.close();
    const newcomer = await member("vanish-group", "newcomer");
    const survivors = [stays, newcomer];

    const next = await formGroup(survivors, { ...deal, heartbeatMs: 20 });
    assert.equal(next, generation + 1, "one round, which waited for the vanished member and went on");
    const dropped = await waitForLogLine(
      broker,
      (l) => l.group === "vanish-group" && l.msg === "member did not rejoin in time",
      "the vanished member's removal",
    );
    assert.equal(dropped.memberId, vanishes.memberId);
    await assertCarriesOn(survivors, next);
  });
});
