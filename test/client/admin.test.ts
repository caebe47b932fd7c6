import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Admin } from "../../src/client/admin.js";
import type { BrookError } from "../../src/client/errors.js";
import { Producer } from "../../src/client/producer.js";
import { startBroker, type TestBroker } from "../../src/testing/index.js";
import { joinAsOnlyMember } from "./helpers/group-member.js";

const FAST_RETRY = { timeoutMs: 2000, initialDelayMs: 10, maxDelayMs: 50 };

describe("Admin", () => {
  let broker: TestBroker;
  let admin: Admin;
  let producer: Producer;

  /** Sends `count` messages to each partition, with timestamps 1000, 2000... */
  async function fill(topic: string, partitions: number, count: number) {
    for (let p = 0; p < partitions; p++) {
      await producer.send({
        topic,
        messages: Array.from({ length: count }, (_, i) => ({
          value: `${p}-${i}`,
          partition: p,
          timestamp: (i + 1) * 1000,
        })),
      });
    }
  }

  before(async () => {
    broker = await startBroker({ autoCreateTopics: false });
    admin = new Admin({ brokers: [broker.bootstrap], retry: FAST_RETRY });
    producer = new Producer({ brokers: [broker.bootstrap], allowAutoTopicCreation: false });
  });
  after(async () => {
    await producer.close();
    await admin.close();
    await broker.stop();
  });

  it("creates, lists, describes and deletes topics", async () => {
    await admin.createTopics({
      topics: [{ topic: "admin-a", numPartitions: 3, configs: { "retention.ms": "3600000" } }, { topic: "admin-b" }],
    });
    assert.deepEqual(
      (await admin.listTopics()).filter((t) => t.startsWith("admin-")),
      ["admin-a", "admin-b"],
    );
    await fill("admin-a", 3, 4);
    const [described] = await admin.describeTopics(["admin-a"]);
    assert.equal(described?.name, "admin-a");
    assert.deepEqual(
      described?.partitions.map((p) => [p.partition, p.leader, p.replicas, p.isr, p.earliestOffset, p.latestOffset]),
      [
        [0, 1, [1], [1], 0, 4],
        [1, 1, [1], [1], 0, 4],
        [2, 1, [1], [1], 0, 4],
      ],
    );
    await admin.deleteTopics({ topics: ["admin-b"] });
    assert.ok(!(await admin.listTopics()).includes("admin-b"));
  });

  it("names the topic in typed errors: existing, missing, invalid", async () => {
    await admin.createTopics({ topics: [{ topic: "admin-exists" }] });
    await assert.rejects(admin.createTopics({ topics: [{ topic: "admin-exists" }] }), {
      code: "TOPIC_ALREADY_EXISTS",
      message: "topic 'admin-exists' already exists",
    });
    await assert.rejects(admin.deleteTopics({ topics: ["admin-never"] }), {
      code: "BROOK_UNKNOWN_TOPIC",
      message: "topic 'admin-never' does not exist",
    });
    await assert.rejects(admin.describeTopics(["admin-never"]), { code: "BROOK_UNKNOWN_TOPIC" });
    await assert.rejects(admin.createTopics({ topics: [{ topic: "admin-x", numPartitions: 0 }] }), {
      code: "INVALID_PARTITIONS",
    });
    await assert.rejects(admin.createTopics({ topics: [] }), { code: "BROOK_INVALID_OPTION" });
    // validateOnly checks without creating.
    await admin.createTopics({ topics: [{ topic: "admin-validated" }], validateOnly: true });
    assert.ok(!(await admin.listTopics()).includes("admin-validated"));
  });

  it("adds partitions", async () => {
    await admin.createTopics({ topics: [{ topic: "admin-grow", numPartitions: 1 }] });
    await admin.createPartitions({ topics: [{ topic: "admin-grow", count: 4 }] });
    const [described] = await admin.describeTopics(["admin-grow"]);
    assert.equal(described?.partitions.length, 4);
    await assert.rejects(admin.createPartitions({ topics: [{ topic: "admin-grow", count: 2 }] }), {
      code: "INVALID_PARTITIONS",
    });
  });

  it("describes configs and alters them one by one", async () => {
    await admin.createTopics({ topics: [{ topic: "admin-configs", configs: { "retention.ms": "60000" } }] });
    const configValue = async (name: string) => {
      const [description] = await admin.describeConfigs({
        resources: [{ type: "topic", name: "admin-configs", configNames: [name] }],
      });
      return description?.configs.find((c) => c.name === name);
    };
    assert.deepEqual(await configValue("retention.ms"), {
      name: "retention.ms",
      value: "60000",
      readOnly: false,
      isDefault: false,
      source: "DYNAMIC_TOPIC_CONFIG",
      sensitive: false,
    });
    await admin.alterConfigs({
      resources: [{ type: "topic", name: "admin-configs", configs: [{ name: "segment.bytes", value: "1048576" }] }],
    });
    assert.equal((await configValue("segment.bytes"))?.value, "1048576");
    assert.equal((await configValue("retention.ms"))?.value, "60000", "the other config kept its value");
    await admin.alterConfigs({
      resources: [{ type: "topic", name: "admin-configs", configs: [{ name: "retention.ms", operation: "delete" }] }],
    });
    assert.equal((await configValue("retention.ms"))?.isDefault, true);
    const [brokerConfigs] = await admin.describeConfigs({ resources: [{ type: "broker", name: "1" }] });
    assert.equal(brokerConfigs?.type, "broker");
    assert.ok((brokerConfigs?.configs.length ?? 0) > 0);
    await assert.rejects(
      admin.alterConfigs({
        resources: [{ type: "topic", name: "admin-configs", configs: [{ name: "retention.ms" }] }],
      }),
      { code: "BROOK_INVALID_OPTION", message: /"set" needs a string value/ },
    );
  });

  it("lists offsets at the start, the end and a point in time, and deletes records", async () => {
    await admin.createTopics({ topics: [{ topic: "admin-offsets", numPartitions: 2 }] });
    await fill("admin-offsets", 2, 5);
    const at = async (spec: Parameters<Admin["listOffsets"]>[0]["at"]) =>
      (await admin.listOffsets({ topic: "admin-offsets", at: spec })).map((o) => o.offset);
    assert.deepEqual(await at("earliest"), [0, 0]);
    assert.deepEqual(await at("latest"), [5, 5]);
    assert.deepEqual(await at({ timestamp: 3000 }), [2, 2]);
    assert.deepEqual(await at({ timestamp: new Date(99_000) }), [-1, -1]);
    const deleted = await admin.deleteRecords({ topic: "admin-offsets", partitions: [{ partition: 1, offset: 3 }] });
    assert.deepEqual(deleted, [{ partition: 1, lowWatermark: 3 }]);
    assert.deepEqual(await at("earliest"), [0, 3]);
    await assert.rejects(admin.listOffsets({ topic: "admin-offsets", at: "middle" as never }), {
      code: "BROOK_INVALID_OPTION",
    });
  });

  it("sets, resets, lists and measures the lag of a group's offsets", async () => {
    await admin.createTopics({ topics: [{ topic: "admin-lag", numPartitions: 2 }] });
    await fill("admin-lag", 2, 10);
    await admin.alterConsumerGroupOffsets({
      groupId: "lagging",
      offsets: [{ topic: "admin-lag", partition: 0, offset: 4, metadata: "by admin" }],
    });
    assert.deepEqual(await admin.listConsumerGroupOffsets({ groupId: "lagging" }), [
      { topic: "admin-lag", partition: 0, offset: 4, leaderEpoch: -1, metadata: "by admin" },
    ]);
    assert.deepEqual(
      (await admin.consumerGroupLag({ groupId: "lagging", topics: ["admin-lag"] })).map((l) => [
        l.partition,
        l.committedOffset,
        l.latestOffset,
        l.lag,
      ]),
      [
        [0, 4, 10, 6],
        [1, -1, 10, null],
      ],
    );
    const reset = await admin.resetConsumerGroupOffsets({
      groupId: "lagging",
      topic: "admin-lag",
      to: { timestamp: 8000 },
    });
    assert.deepEqual(
      reset.map((o) => o.offset),
      [7, 7],
    );
    await admin.resetConsumerGroupOffsets({ groupId: "lagging", topic: "admin-lag", to: "latest" });
    assert.deepEqual(
      (await admin.consumerGroupLag({ groupId: "lagging" })).map((l) => l.lag),
      [0, 0],
    );
    const beyond = await admin.resetConsumerGroupOffsets({
      groupId: "lagging",
      topic: "admin-lag",
      to: { offset: 99 },
      partitions: [1],
      dryRun: true,
    });
    assert.deepEqual(beyond, [{ topic: "admin-lag", partition: 1, offset: 10 }], "an offset past the end: the end");
    const dry = await admin.resetConsumerGroupOffsets({
      groupId: "lagging",
      topic: "admin-lag",
      to: { offset: 2 },
      dryRun: true,
    });
    assert.deepEqual(
      dry.map((o) => o.offset),
      [2, 2],
    );
    const committed = async () => (await admin.consumerGroupLag({ groupId: "lagging" })).map((l) => l.committedOffset);
    assert.deepEqual(await committed(), [10, 10], "a dry run commits nothing");
    await admin.resetConsumerGroupOffsets({ groupId: "lagging", topic: "admin-lag", to: { offset: 3 } });
    assert.deepEqual(await committed(), [3, 3]);
  });

  it("lists, describes and deletes groups, with members' subscriptions and assignments", async () => {
    await admin.createTopics({ topics: [{ topic: "admin-groups", numPartitions: 2 }] });
    const member = await joinAsOnlyMember(admin.cluster, "described", "admin-groups", [0, 1]);
    const listed = await admin.listGroups();
    assert.deepEqual(
      listed.find((g) => g.groupId === "described"),
      { groupId: "described", protocolType: "consumer", state: "Stable", coordinator: 1 },
    );
    const [group] = await admin.describeGroups(["described"]);
    assert.equal(group?.state, "Stable");
    assert.equal(group?.protocol, "range");
    assert.equal(group?.coordinator.nodeId, 1);
    assert.equal(group?.members.length, 1);
    assert.deepEqual(group?.members[0]?.subscribedTopics, ["admin-groups"]);
    assert.deepEqual(group?.members[0]?.assignment, [{ topic: "admin-groups", partitions: [0, 1] }]);
    await assert.rejects(admin.deleteGroups(["described"]), {
      code: "NON_EMPTY_GROUP",
      message: "group 'described' still has members, so it cannot be deleted",
    });
    await assert.rejects(
      admin.alterConsumerGroupOffsets({
        groupId: "described",
        offsets: [{ topic: "admin-groups", partition: 0, offset: 1 }],
      }),
      (error: BrookError) => error.kafkaCode !== undefined && !error.retriable,
    );
    await member.leave();
    await admin.deleteGroups(["described"]);
    const [gone] = await admin.describeGroups(["described"]);
    assert.equal(gone?.state, "Dead");
    await assert.rejects(admin.deleteGroups(["never-existed"]), { code: "GROUP_ID_NOT_FOUND" });
  });

  it("describes each broker's log directories with the size of every partition", async () => {
    await admin.createTopics({ topics: [{ topic: "admin-sizes", numPartitions: 2 }] });
    await fill("admin-sizes", 1, 5);
    const dirs = await admin.describeLogDirs({ topics: ["admin-sizes"] });
    assert.equal(dirs.length, 1);
    const [dir] = dirs;
    assert.equal(dir?.broker, 1);
    assert.equal(dir?.path, "(memory)");
    assert.deepEqual(
      dir?.partitions.map((p) => [p.topic, p.partition, p.sizeBytes > 0]),
      [
        ["admin-sizes", 0, true],
        ["admin-sizes", 1, false],
      ],
    );
    const everything = await admin.describeLogDirs();
    assert.equal(
      everything[0]?.partitions.filter((p) => p.topic === "admin-sizes").length,
      2,
      "without topics: every partition",
    );
  });

  it("describes the cluster", async () => {
    const cluster = await admin.describeCluster();
    assert.equal(cluster.controllerId, 1);
    assert.deepEqual(
      cluster.brokers.map((b) => [b.nodeId, b.port]),
      [[1, broker.port]],
    );
    assert.equal(typeof cluster.clusterId, "string");
  });
});
