import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Consumer } from "../../src/client/consumer.js";
import { Producer } from "../../src/client/producer.js";
import { type BrokerProcess, startBrokerProcess } from "../helpers/broker-process.js";
import { assertOneSentence, runCli, tableRows } from "./helpers/run-cli.js";

/** A failure as scripts and people should see it: exit 1 and one sentence, no stack trace. */
interface DescribedGroup {
  state: string;
  members: { memberId: string; clientId: string; assignment: { topic: string; partitions: number[] }[] }[];
  offsets: {
    topic: string;
    partition: number;
    committedOffset: number | null;
    logEndOffset: number;
    lag: number | null;
    memberId: string | null;
  }[];
  totalLag: number;
}

const TOPIC = "events";
const GROUP = "readers";

describe("brook group", () => {
  let broker: BrokerProcess;
  let consumer: Consumer | undefined;
  const brook = (...args: string[]) => runCli([...args, "--brokers", broker.bootstrap]);

  async function describeJson(groupId = GROUP): Promise<DescribedGroup> {
    const result = await brook("group", "describe", groupId, "--json");
    assert.equal(result.code, 0, result.stderr);
    return JSON.parse(result.stdout);
  }

  /** Committed offsets by partition, as `group describe --json` reports them. */
  async function committed(): Promise<(number | null)[]> {
    return (await describeJson()).offsets.map((o) => o.committedOffset);
  }

  before(async () => {
    broker = await startBrokerProcess({ args: ["--no-auto-create-topics"] });
    const created = await brook("topic", "create", TOPIC, "-p", "2");
    assert.equal(created.code, 0, created.stderr);
    const producer = new Producer({ brokers: [broker.bootstrap], lingerMs: 0 });
    try {
      await producer.send({
        topic: TOPIC,
        messages: [
          ...Array.from({ length: 6 }, (_, i) => ({ value: `zero-${i}`, partition: 0 })),
          ...Array.from({ length: 4 }, (_, i) => ({ value: `one-${i}`, partition: 1 })),
        ],
      });
    } finally {
      await producer.close();
    }
  });
  after(async () => {
    await consumer?.close();
    await broker.destroy();
  });

  it("describe shows the consuming member, its partitions, the committed offsets and the lag", async () => {
    consumer = new Consumer({
      brokers: [broker.bootstrap],
      groupId: GROUP,
      clientId: "lag-reader",
      autoOffsetReset: "earliest",
      autoCommit: false,
    });
    await consumer.subscribe({ topics: [TOPIC] });
    let received = 0;
    const deadline = Date.now() + 20_000;
    while (received < 10 && Date.now() < deadline) {
      received += (await consumer.poll({ maxMessages: 10 - received, timeoutMs: 1_000 })).length;
    }
    assert.equal(received, 10, "the member received every message");
    await consumer.commit({
      offsets: [
        { topic: TOPIC, partition: 0, offset: 4 },
        { topic: TOPIC, partition: 1, offset: 1 },
      ],
    });

    // Wait for the group to settle (a rebalance in progress shows no assignments).
    let described = await describeJson();
    while (described.state !== "Stable" && Date.now() < deadline) {
      await sleep(100);
      described = await describeJson();
    }
    assert.equal(described.state, "Stable");
    assert.equal(described.members.length, 1);
    const [member] = described.members;
    assert.equal(member?.clientId, "lag-reader");
    assert.deepEqual(member?.assignment, [{ topic: TOPIC, partitions: [0, 1] }]);
    assert.deepEqual(described.offsets, [
      { topic: TOPIC, partition: 0, committedOffset: 4, logEndOffset: 6, lag: 2, memberId: member?.memberId },
      { topic: TOPIC, partition: 1, committedOffset: 1, logEndOffset: 4, lag: 3, memberId: member?.memberId },
    ]);
    assert.equal(described.totalLag, 5);

    const table = await brook("group", "describe", GROUP);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^STATE\s+Stable$/m);
    assert.match(table.stdout, /^MEMBERS\s+1$/m);
    assert.match(table.stdout, /^TOTAL LAG\s+5$/m);
    const [, membersTable, offsetsTable] = table.stdout.split("\n\n");
    assert.match(membersTable as string, /^MEMBER-ID\s+CLIENT-ID\s+HOST\s+PARTITIONS\n/);
    assert.deepEqual(
      tableRows(membersTable as string).map((r) => [r[0], r[1], r[3]]),
      [[member?.memberId, "lag-reader", `${TOPIC}: 0,1`]],
    );
    assert.match(offsetsTable as string, /^TOPIC\s+PARTITION\s+CURRENT-OFFSET\s+LOG-END-OFFSET\s+LAG\s+MEMBER-ID\n/);
    assert.deepEqual(tableRows(offsetsTable as string), [
      [TOPIC, "0", "4", "6", "2", member?.memberId],
      [TOPIC, "1", "1", "4", "3", member?.memberId],
    ]);

    const listed = await brook("group", "list");
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual(tableRows(listed.stdout), [[GROUP, "Stable", "consumer"]]);
  });

  it("reset-offsets refuses a group with active members, dry run included", async () => {
    for (const dryRun of [[], ["--dry-run"]]) {
      assertOneSentence(
        await brook("group", "reset-offsets", GROUP, "--topic", TOPIC, "--to", "earliest", ...dryRun),
        `group '${GROUP}' has active members; stop them before resetting its offsets.`,
      );
    }
    assert.deepEqual(await committed(), [4, 1]);
  });

  it("reset-offsets of the emptied group: --dry-run changes nothing, then earliest, an offset, latest, a time", async () => {
    await consumer?.close();
    consumer = undefined;
    const empty = await brook("group", "list", "--state", "empty", "--json");
    assert.deepEqual(JSON.parse(empty.stdout).groups, [
      { groupId: GROUP, protocolType: "consumer", state: "Empty", coordinator: 1 },
    ]);
    const stable = await brook("group", "list", "--state", "stable");
    assert.deepEqual(tableRows(stable.stdout), []);

    const dryRun = await brook("group", "reset-offsets", GROUP, "--topic", TOPIC, "--to", "earliest", "--dry-run");
    assert.equal(dryRun.code, 0, dryRun.stderr);
    assert.match(dryRun.stdout, /^TOPIC\s+PARTITION\s+OLD\s+NEW\n/);
    assert.deepEqual(tableRows(dryRun.stdout).slice(0, 2), [
      [TOPIC, "0", "4", "0"],
      [TOPIC, "1", "1", "0"],
    ]);
    assert.match(dryRun.stdout, /dry run: no offset was committed/);
    assert.deepEqual(await committed(), [4, 1], "a dry run commits nothing");

    const earliest = await brook("group", "reset-offsets", GROUP, "--topic", TOPIC, "--to", "earliest", "--json");
    assert.equal(earliest.code, 0, earliest.stderr);
    assert.deepEqual(JSON.parse(earliest.stdout), {
      groupId: GROUP,
      topic: TOPIC,
      dryRun: false,
      offsets: [
        { topic: TOPIC, partition: 0, oldOffset: 4, newOffset: 0 },
        { topic: TOPIC, partition: 1, oldOffset: 1, newOffset: 0 },
      ],
    });
    assert.deepEqual(await committed(), [0, 0]);

    const two = await brook("group", "reset-offsets", GROUP, "--topic", TOPIC, "--to", "2");
    assert.equal(two.code, 0, two.stderr);
    assert.deepEqual(tableRows(two.stdout), [
      [TOPIC, "0", "0", "2"],
      [TOPIC, "1", "0", "2"],
    ]);
    assert.deepEqual(await committed(), [2, 2]);

    const latestOfOne = await brook(
      "group",
      "reset-offsets",
      GROUP,
      "--topic",
      TOPIC,
      "--partitions",
      "1",
      "--to",
      "latest",
    );
    assert.equal(latestOfOne.code, 0, latestOfOne.stderr);
    assert.deepEqual(tableRows(latestOfOne.stdout), [[TOPIC, "1", "2", "4"]]);
    const described = await describeJson();
    assert.deepEqual(
      described.offsets.map((o) => [o.partition, o.committedOffset, o.lag]),
      [
        [0, 2, 4],
        [1, 4, 0],
      ],
    );

    // By time: the first record at or after it, the end where there is none that recent.
    const future = await brook("group", "reset-offsets", GROUP, "--topic", TOPIC, "--to", "2099-01-01T00:00:00Z");
    assert.equal(future.code, 0, future.stderr);
    assert.deepEqual(await committed(), [6, 4]);
    const epoch = await brook("group", "reset-offsets", GROUP, "--topic", TOPIC, "--to", "@0");
    assert.equal(epoch.code, 0, epoch.stderr);
    assert.deepEqual(await committed(), [0, 0]);

    assertOneSentence(
      await brook("group", "reset-offsets", GROUP, "--topic", "nowhere", "--to", "earliest"),
      "topic 'nowhere' does not exist.",
    );
    assertOneSentence(
      await brook("group", "reset-offsets", GROUP, "--topic", TOPIC, "--partitions", "5", "--to", "earliest"),
      `topic '${TOPIC}' has no partition 5 (it has 2).`,
    );
  });

  it("delete removes the group; describing or deleting it again fails with one sentence", async () => {
    const deleted = await brook("group", "delete", GROUP);
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.deepEqual(tableRows(deleted.stdout), [[GROUP, "OK"]]);
    const listed = await brook("group", "list", "--json");
    assert.deepEqual(JSON.parse(listed.stdout), { groups: [] });
    assertOneSentence(await brook("group", "describe", GROUP), `group '${GROUP}' does not exist.`);
    assertOneSentence(await brook("group", "delete", GROUP), `group '${GROUP}' does not exist.`);
  });

  it("an unreachable cluster is one sentence and exit 1", async () => {
    const result = await runCli(["group", "list", "--brokers", "127.0.0.1:1", "--timeout", "2000"]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^brook: cannot reach the cluster: [^\n]*\n$/);
  });
});
