// The consumer-group scenarios of the interop tests, written once and run with each real client
// (kcat, kafkajs, confluent-kafka, kafka-python) against a real brook process. Each checks what
// the members read message by message against what was produced, and what the coordinator
// holds (DescribeGroups, OffsetFetch, its log lines).
import assert from "node:assert/strict";
import { type BrokerProcess, startBrokerProcess } from "./broker-process.js";
import { type LogLine, logLines } from "./interop-broker-log.js";
import {
  type GroupMemberProcess,
  type MemberOptions,
  messagesOf,
  SESSION_TIMEOUT_MS,
  waitForLogLine,
  waitForMembers,
} from "./interop-groups.js";
import { GroupAdmin, type GroupView } from "./interop-groups-raw.js";
import { assertConsumed, type Message, makeMessages, partitionByKey } from "./interop-messages.js";

export const PARTITIONS = 6;

/** A real client: how it starts a group member and how the test produces with it. */
export interface GroupClient {
  /** Prefix of topics, groups and client ids. */
  name: string;
  startMember(options: MemberOptions): GroupMemberProcess;
  produce(bootstrap: string, topic: string, messages: readonly Message[]): Promise<void>;
}

/**
 * A brook process (logging at info level, where the coordinator reports rebalances and
 * removals), an admin connection to it, and the member processes a test started, which are
 * killed after each test so that a failing one leaves nothing running.
 */
export class GroupTestBed {
  private readonly started: GroupMemberProcess[] = [];

  private constructor(
    public broker: BrokerProcess,
    public admin: GroupAdmin,
  ) {}

  static async start(): Promise<GroupTestBed> {
    const broker = await startBrokerProcess({ args: ["--log-level", "info"] });
    return new GroupTestBed(broker, await GroupAdmin.connect(broker));
  }

  member(client: GroupClient, options: Omit<MemberOptions, "bootstrap">): GroupMemberProcess {
    const member = client.startMember({ bootstrap: this.broker.bootstrap, ...options });
    this.started.push(member);
    return member;
  }

  /** Stops the broker (SIGTERM, or SIGKILL) and starts it again on the same data directory and port. */
  async restartBroker(how: "stop" | "kill"): Promise<void> {
    await this.admin.close();
    if (how === "stop") assert.equal(await this.broker.stop(), 0, "the broker stopped cleanly");
    else await this.broker.kill();
    this.broker = await startBrokerProcess({
      dataDir: this.broker.dataDir,
      port: this.broker.port,
      args: ["--log-level", "info"],
    });
    this.admin = await GroupAdmin.connect(this.broker);
  }

  async killMembers(): Promise<void> {
    await Promise.all(this.started.splice(0).map((m) => (m.exitStatus ? m.exitStatus : m.kill())));
  }

  async close(): Promise<void> {
    await this.killMembers();
    await this.admin?.close();
    await this.broker?.destroy();
  }

  /** The coordinator's log lines about one group. */
  groupLog(group: string): LogLine[] {
    return logLines(this.broker).filter((line) => line.group === group);
  }

  /** Resolves when the coordinator has removed the member, with the reason it logged. */
  async removal(group: string, memberId: string): Promise<string> {
    const line = await waitForLogLine(
      this.broker,
      (l) => l.msg === "removing member from group" && l.group === group && l.memberId === memberId,
      `the removal of ${memberId}`,
    );
    return String(line.reason);
  }

  async waitForCommits(group: string, topic: string, expected: readonly number[]): Promise<void> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const committed = await this.admin.committedOffsets(group, topic, expected.length);
      if (committed.every((offset, p) => offset === expected[p])) return;
      if (Date.now() > deadline) assert.deepEqual(committed, expected, `${group} committed everything it read`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/**
 * Waits until the members hold disjoint assignments that together cover every partition, as
 * evenly as possible, and checks that the coordinator agrees: the group is Stable, with these
 * members and these assignments. Returns the coordinator's view.
 */
export async function waitForSharing(
  bed: GroupTestBed,
  group: string,
  members: readonly GroupMemberProcess[],
): Promise<GroupView> {
  const fewest = Math.floor(PARTITIONS / members.length);
  const most = Math.ceil(PARTITIONS / members.length);
  await waitForMembers(
    members,
    () => {
      const all = members.flatMap((m) => m.assignment).sort((a, b) => a - b);
      return (
        members.every((m) => m.assignment.length >= fewest && m.assignment.length <= most) &&
        all.length === PARTITIONS &&
        all.every((p, i) => p === i)
      );
    },
    `${members.length} members sharing ${PARTITIONS} partitions`,
  );
  const view = await bed.admin.waitForGroup(
    group,
    (g) => g.state === "Stable" && g.members.length === members.length,
    `${group} Stable with ${members.length} members`,
  );
  assert.deepEqual(
    Object.fromEntries(view.members.map((m) => [m.clientId, m.partitions])),
    Object.fromEntries(members.map((m) => [m.name, m.assignment])),
    "the coordinator holds the assignment the members report",
  );
  return view;
}

/**
 * Waits until the members have read `count` messages after the first `from[i]` of member i, and
 * returns them by partition in offset order. A rebalance may move a partition from one member to
 * another (the new owner starts at the old one's last commit), so the readers of a partition are
 * merged by offset, after checking that each member read its own share in order; a message read
 * twice stays twice, and a gap stays a gap, for assertConsumed to find.
 */
async function readSince(members: readonly GroupMemberProcess[], from: readonly number[], count: number) {
  const since = () => members.map((m, i) => m.messages.slice(from[i]));
  await waitForMembers(members, () => since().flat().length >= count, `${count} messages read`);
  const read = since();
  read.forEach((messages, i) => {
    const last = new Map<number, number>();
    for (const { partition, offset } of messages) {
      assert.ok(offset > (last.get(partition) ?? -1), `${members[i]!.name} read partition ${partition} out of order`);
      last.set(partition, offset);
    }
  });
  return read.flat().sort((a, b) => a.partition - b.partition || a.offset - b.offset);
}

const memberIdOf = (view: GroupView, member: GroupMemberProcess) =>
  view.members.find((m) => m.clientId === member.name)!.memberId;

/**
 * Three members on a 6-partition topic share it 2/2/2 and read every message once; then one
 * of them goes — SIGTERM (it commits and leaves) or SIGKILL (only the session timeout tells
 * the coordinator) — while more messages arrive, including on its partitions. The other two
 * take those over at the committed offsets: every new message is read once, nothing is lost
 * and nothing read before is read again.
 */
export async function shareThenLoseAMember(
  bed: GroupTestBed,
  client: GroupClient,
  options: { messages: number; how: "stop" | "kill" },
): Promise<void> {
  const topic = `${client.name}-share-${options.how}`;
  const group = `${topic}-group`;
  await bed.admin.createTopic(topic, PARTITIONS);
  const members = ["a", "b", "c"].map((n) => bed.member(client, { topic, group, clientId: `${topic}-${n}` }));
  const view = await waitForSharing(bed, group, members);

  // Produced once the group is settled, so that each partition has one reader throughout.
  const before = partitionByKey(makeMessages(options.messages, { prefix: `${topic}-1` }), PARTITIONS);
  await client.produce(bed.broker.bootstrap, topic, before.flat());
  await waitForMembers(members, () => messagesOf(members).length >= options.messages, "every message read");
  assertConsumed(messagesOf(members), before);
  for (const member of members) {
    const foreign = member.messages.filter((m) => !member.assignment.includes(m.partition));
    assert.deepEqual(foreign, [], `${member.name} read only its own partitions`);
  }
  const ends = before.map((log) => log.length);
  // The commits of what was read are in before anyone goes: a killed member cannot commit
  // later, so otherwise its successor would rightly read some messages again.
  await bed.waitForCommits(group, topic, ends);

  const [a, b, leaving] = members as [GroupMemberProcess, GroupMemberProcess, GroupMemberProcess];
  const orphaned = leaving.assignment;
  const survivors = [a, b];
  const readBefore = survivors.map((m) => m.messages.length);
  const exit = options.how === "stop" ? await leaving.stop() : await leaving.kill();
  if (options.how === "stop") assert.equal(exit.code, 0, `${leaving.name} closed cleanly\n${leaving.stderr()}`);

  const after = partitionByKey(makeMessages(options.messages / 10, { prefix: `${topic}-2` }), PARTITIONS);
  await client.produce(bed.broker.bootstrap, topic, after.flat());
  const reason = await bed.removal(group, memberIdOf(view, leaving));
  assert.match(
    reason,
    options.how === "stop" ? /left the group/ : new RegExp(`session timeout of ${SESSION_TIMEOUT_MS}`),
  );

  await waitForSharing(bed, group, survivors);
  for (const partition of orphaned) {
    assert.ok(
      survivors.some((m) => m.assignment.includes(partition)),
      `partition ${partition} was taken over`,
    );
  }
  const readAfter = await readSince(survivors, readBefore, options.messages / 10);
  assertConsumed(readAfter, after, ends);
}

/** Two groups on one topic: each reads every message, once, independently of the other. */
export async function twoGroupsOnOneTopic(bed: GroupTestBed, client: GroupClient, messages: number): Promise<void> {
  const topic = `${client.name}-two-groups`;
  await bed.admin.createTopic(topic, PARTITIONS);
  const groups = [
    { group: `${topic}-analytics`, size: 2 },
    { group: `${topic}-notifications`, size: 1 },
  ].map(({ group, size }) => ({
    group,
    members: Array.from({ length: size }, (_, i) => bed.member(client, { topic, group, clientId: `${group}-${i}` })),
  }));
  for (const { group, members } of groups) await waitForSharing(bed, group, members);

  const expected = partitionByKey(makeMessages(messages, { prefix: topic }), PARTITIONS);
  await client.produce(bed.broker.bootstrap, topic, expected.flat());
  for (const { members } of groups) {
    await waitForMembers(members, () => messagesOf(members).length >= messages, "every message read");
  }
  for (const { group, members } of groups) {
    assertConsumed(messagesOf(members), expected);
    await bed.waitForCommits(
      group,
      topic,
      expected.map((log) => log.length),
    );
  }
}

/**
 * A member reads half of the messages, commits exactly what it read and closes. A new member
 * of the group — after a broker restart, if asked — starts at exactly those offsets and reads
 * the rest: the two together read every message once.
 */
export async function resumeAtCommits(
  bed: GroupTestBed,
  client: GroupClient,
  options: { messages: number; restart?: "stop" | "kill" },
): Promise<void> {
  const topic = `${client.name}-resume${options.restart ? `-after-${options.restart}` : ""}`;
  const group = `${topic}-group`;
  await bed.admin.createTopic(topic, PARTITIONS);
  const expected = partitionByKey(makeMessages(options.messages, { prefix: topic }), PARTITIONS);
  await client.produce(bed.broker.bootstrap, topic, expected.flat());

  const half = options.messages / 2;
  const first = bed.member(client, { topic, group, clientId: `${topic}-first`, commitAfter: half });
  first.expectExit();
  await waitForMembers([first], () => first.exitStatus !== undefined, "the first member to commit and close");
  assert.equal(first.exitStatus?.code, 0, first.stderr());
  assert.ok(first.committed, "the first member reported its commit");
  const committed = Array.from({ length: PARTITIONS }, (_, p) => first.committed!.get(p) ?? -1);
  const readUpTo = committed.map((offset) => Math.max(offset, 0));
  assert.equal(
    readUpTo.reduce((sum, n) => sum + n, 0),
    half,
    "the commit covers exactly the messages read",
  );
  assertConsumed(
    first.messages,
    expected.map((log, p) => log.slice(0, readUpTo[p])),
  );
  assert.deepEqual(await bed.admin.committedOffsets(group, topic, PARTITIONS), committed, "the coordinator's offsets");

  if (options.restart) {
    await bed.restartBroker(options.restart);
    assert.deepEqual(
      await bed.admin.committedOffsets(group, topic, PARTITIONS),
      committed,
      `the offsets after a broker ${options.restart === "stop" ? "restart" : "SIGKILL and restart"}`,
    );
  }

  const second = bed.member(client, { topic, group, clientId: `${topic}-second` });
  await waitForMembers([second], () => second.messages.length >= options.messages - half, "the rest read");
  assertConsumed(
    second.messages,
    expected.map((log, p) => log.slice(readUpTo[p])),
    readUpTo,
  );
  assert.equal((await second.stop()).code, 0, second.stderr());
}

/**
 * Static membership (KIP-345): two members with group.instance.id share the topic. One is
 * restarted — SIGTERM, which for a static member sends no LeaveGroup — and comes back within
 * its session timeout: it gets its old partitions back under a new member id, resumes at its
 * commits, and the coordinator never rebalances — no new generation, the other member keeps
 * its assignment and is never asked to rejoin, even after the old session would have expired.
 */
export async function staticMemberRestarts(bed: GroupTestBed, client: GroupClient, messages: number): Promise<void> {
  const topic = `${client.name}-static`;
  const group = `${topic}-group`;
  await bed.admin.createTopic(topic, PARTITIONS);
  const start = (n: number) =>
    bed.member(client, { topic, group, clientId: `${topic}-${n}`, instanceId: `${topic}-instance-${n}` });
  const [restarting, staying] = [start(1), start(2)];
  const view = await waitForSharing(bed, group, [restarting, staying]);
  const expected = partitionByKey(makeMessages(messages, { prefix: `${topic}-1` }), PARTITIONS);
  await client.produce(bed.broker.bootstrap, topic, expected.flat());
  await waitForMembers([restarting, staying], () => messagesOf([restarting, staying]).length >= messages, "all read");
  const ends = expected.map((log) => log.length);
  await bed.waitForCommits(group, topic, ends);

  // Every round the coordinator starts or completes is logged at info level.
  const rounds = () =>
    bed.groupLog(group).filter((l) => l.msg === "preparing to rebalance group" || l.msg === "group rebalanced");
  const roundsBefore = rounds();
  const generation = roundsBefore.at(-1)?.generation;
  const stayingAssignments = staying.assignmentCount;
  const partitions = restarting.assignment;
  const stoppedAt = Date.now();
  assert.equal((await restarting.stop()).code, 0, restarting.stderr());

  const restarted = start(1);
  const rejoined = await waitForLogLine(
    bed.broker,
    (l) => l.msg === "static member rejoined" && l.group === group && l.instanceId === `${topic}-instance-1`,
    "the static member's rejoin",
  );
  assert.equal(rejoined.oldMemberId, memberIdOf(view, restarting));
  await waitForMembers([restarted], () => restarted.assignmentCount > 0, "the restarted member's assignment");
  assert.deepEqual(restarted.assignment, partitions, "the restarted member got its partitions back");

  const more = partitionByKey(makeMessages(messages, { prefix: `${topic}-2` }), PARTITIONS);
  const stayingRead = staying.messages.length;
  await client.produce(bed.broker.bootstrap, topic, more.flat());
  const readAfter = await readSince([restarted, staying], [0, stayingRead], messages);
  assertConsumed(readAfter, more, ends);

  // Nothing happening is the point: wait until the old member's session would have expired.
  const sessionEnd = stoppedAt + SESSION_TIMEOUT_MS + 1000;
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, sessionEnd - Date.now())));
  const now = await bed.admin.describe(group);
  assert.equal(now.state, "Stable");
  assert.deepEqual(
    now.members.map((m) => [m.instanceId, m.partitions]).sort(),
    view.members.map((m) => [m.instanceId, m.partitions]).sort(),
    "same instances, same partitions",
  );
  assert.notEqual(memberIdOf(now, restarted), memberIdOf(view, restarting), "the restarted member has a new id");
  assert.deepEqual(rounds(), roundsBefore, `no rebalance: the group stays at generation ${generation}`);
  assert.equal(staying.assignmentCount, stayingAssignments, "the other member was never reassigned");
}
