// The client against librdkafka's mock cluster of 3 brokers: partition leaders and group
// coordinators are spread over the brokers, and the brokers speak older API versions than brook
// (Metadata v2, Produce v7, ListOffsets v3, no admin APIs but the group ones).
import assert from "node:assert/strict";
import { after, before, describe, it, type TestContext } from "node:test";
import { Admin } from "../../src/client/admin.js";
import { Cluster } from "../../src/client/cluster.js";
import type { BrookError } from "../../src/client/errors.js";
import { murmur2Partition } from "../../src/client/partitioners.js";
import { Producer } from "../../src/client/producer.js";
import { skipUnless } from "../helpers/requirements.js";
import { buildMockCluster, type MockCluster, startMockCluster } from "./helpers/mock-cluster.js";
import { readPartition } from "./helpers/read-back.js";

const CODEC_IDS = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 };
const FAST_RETRY = { timeoutMs: 5000, initialDelayMs: 20, maxDelayMs: 200 };

describe("against a 3-broker mock cluster", () => {
  const { binary, reason } = buildMockCluster();
  let mock: MockCluster;

  before(async () => {
    if (binary) mock = await startMockCluster(binary, 3, ["orders:12", "plain:3", "lagged:4"]);
  });
  after(async () => {
    await mock?.stop();
  });

  const available = (t: TestContext) =>
    skipUnless(t, binary !== null, `the kafka mock cluster (${reason}; it needs librdkafka-dev and a C compiler)`);

  it("sees three brokers and partition leaders spread over them", async (t) => {
    if (!available(t)) return;
    const cluster = new Cluster({ brokers: mock.bootstrap.split(",") });
    t.after(() => cluster.close());
    const [orders] = await cluster.topics(["orders"]);
    assert.equal(cluster.metadata.brokers.size, 3);
    assert.equal(orders?.partitions.length, 12);
    // The mock picks each partition's leader at random: with 12 partitions, all on one broker is a 1-in-177,000 chance.
    const leaders = new Set(orders?.partitions.map((p) => p.leader));
    assert.ok(leaders.size >= 2, `leaders on ${[...leaders]}`);
  });

  for (const compression of ["none", "gzip", "snappy", "lz4", "zstd"] as const) {
    it(`produces keyed messages to every partition leader, idempotently (${compression})`, async (t) => {
      if (!available(t)) return;
      const producer = new Producer({ brokers: mock.bootstrap, compression, retry: FAST_RETRY });
      t.after(() => producer.close());
      const topic = `spread-${compression}`;
      const keys = Array.from({ length: 120 }, (_, i) => `customer-${i}`);
      const results = await producer.send({ topic, messages: keys.map((key, i) => ({ key, value: `order ${i}` })) });
      // The mock creates topics on first use with 4 partitions.
      assert.deepEqual(
        results.map((r) => r.partition),
        keys.map((key) => murmur2Partition(Buffer.from(key), 4)),
      );
      for (let partition = 0; partition < 4; partition++) {
        const stored = await readPartition(mock.bootstrap.split(",")[0] as string, topic, partition);
        const expected = keys.flatMap((key, i) =>
          murmur2Partition(Buffer.from(key), 4) === partition ? [`order ${i}`] : [],
        );
        assert.deepEqual(
          stored.map((r) => r.value?.toString()),
          expected,
        );
        assert.ok(stored.every((r) => r.batch.producerId >= 0 && r.batch.codec === CODEC_IDS[compression]));
      }
    });
  }

  it("spreads group coordinators over the brokers and routes offset commits to each", async (t) => {
    if (!available(t)) return;
    const admin = new Admin({ brokers: mock.bootstrap, retry: FAST_RETRY });
    t.after(() => admin.close());
    const groups = Array.from({ length: 12 }, (_, i) => `group-${i}`);
    const coordinators = await Promise.all(groups.map((g) => admin.cluster.findCoordinator(g)));
    assert.ok(new Set(coordinators.map((c) => c.nodeId)).size >= 2, "coordinators on several brokers");
    for (const [i, groupId] of groups.entries()) {
      await admin.alterConsumerGroupOffsets({ groupId, offsets: [{ topic: "plain", partition: i % 3, offset: i }] });
    }
    for (const [i, groupId] of groups.entries()) {
      const offsets = await admin.listConsumerGroupOffsets({ groupId, topics: ["plain"] });
      assert.equal(offsets.find((o) => o.partition === i % 3)?.offset, i, groupId);
    }
  });

  it("runs the admin calls the mock supports: topics, offsets, lag, cluster", async (t) => {
    if (!available(t)) return;
    const admin = new Admin({ brokers: mock.bootstrap, retry: FAST_RETRY });
    const producer = new Producer({ brokers: mock.bootstrap, retry: FAST_RETRY });
    t.after(async () => {
      await producer.close();
      await admin.close();
    });
    for (let p = 0; p < 4; p++) {
      await producer.send({
        topic: "lagged",
        messages: Array.from({ length: p + 1 }, () => ({ value: "x", partition: p })),
      });
    }
    assert.ok((await admin.listTopics()).includes("lagged"));
    const [lagged] = await admin.describeTopics(["lagged"]);
    assert.deepEqual(
      lagged?.partitions.map((p) => [p.earliestOffset, p.latestOffset]),
      [
        [0, 1],
        [0, 2],
        [0, 3],
        [0, 4],
      ],
    );
    assert.deepEqual(
      (await admin.listOffsets({ topic: "lagged", at: "latest" })).map((o) => o.offset),
      [1, 2, 3, 4],
    );
    await admin.resetConsumerGroupOffsets({ groupId: "lag-group", topic: "lagged", to: "earliest" });
    assert.deepEqual(
      // Named topics: the mock answers "all partitions" (a null topic list) with a null array.
      (await admin.consumerGroupLag({ groupId: "lag-group", topics: ["lagged"] })).map((l) => l.lag),
      [1, 2, 3, 4],
    );
    const cluster = await admin.describeCluster();
    assert.equal(cluster.brokers.length, 3);
    // The mock has no CreateTopics: the error says so instead of hanging or retrying.
    await assert.rejects(admin.createTopics({ topics: [{ topic: "new" }] }), (error: BrookError) => {
      assert.equal(error.code, "BROOK_UNSUPPORTED_VERSION");
      assert.match(error.message, /does not support CreateTopics/);
      return true;
    });
  });
});
