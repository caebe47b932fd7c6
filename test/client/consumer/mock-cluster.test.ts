// Group consumption on librdkafka's mock cluster of 3 brokers: partition leaders and the group
// coordinator are spread over them, so fetches, commits and membership each go to their broker.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Consumer, type ConsumerMessage } from "../../../src/client/consumer.js";
import { BrookError } from "../../../src/client/errors.js";
import { Producer } from "../../../src/client/producer.js";
import { skipUnless } from "../../helpers/requirements.js";
import { buildMockCluster, type MockCluster, startMockCluster } from "../helpers/mock-cluster.js";
import { eventually, uniqueName } from "./helpers.js";

const TOPIC = "orders";
/** The mock picks each partition's leader at random: with 12, all on one broker is a 1-in-177,000 chance. */
const PARTITIONS = 12;
const COUNT = 600;

describe("Consumer on a 3-broker mock cluster", () => {
  const { binary, reason } = buildMockCluster();
  let cluster: MockCluster | undefined;

  before(async () => {
    if (binary) cluster = await startMockCluster(binary, 3, [`${TOPIC}:${PARTITIONS}`]);
  });
  after(async () => {
    await cluster?.stop();
  });

  function consumer(groupId: string, name: string): Consumer<string, string> {
    return new Consumer<string, string>({
      brokers: (cluster as MockCluster).bootstrap,
      clientId: name,
      groupId,
      autoOffsetReset: "earliest",
      keyDeserializer: "string",
      valueDeserializer: "string",
      sessionTimeoutMs: 6_000,
      heartbeatIntervalMs: 200,
      fetchMaxWaitMs: 100,
    });
  }

  /**
   * The mock answers a follower whose SyncGroup arrives after the leader's with INVALID_REQUEST
   * (its group is already up); the member reports that once and joins again, as librdkafka's does.
   */
  async function pollPastLateSync(member: Consumer<string, string>): Promise<ConsumerMessage<string, string>[]> {
    try {
      return await member.poll({ timeoutMs: 200 });
    } catch (error) {
      if (error instanceof BrookError && error.code === "INVALID_REQUEST" && error.retriable) return [];
      throw error;
    }
  }

  it("two members share the partitions led by different brokers, read everything once, and a third resumes at their commits", async (t) => {
    if (!skipUnless(t, binary !== null, `the mock cluster (${reason})`)) return;
    const bootstrap = (cluster as MockCluster).bootstrap;
    const producer = new Producer({ brokers: bootstrap });
    await producer.send({
      topic: TOPIC,
      messages: Array.from({ length: COUNT }, (_, i) => ({ key: `key-${i}`, value: `value-${i}` })),
    });
    await producer.close();

    const groupId = uniqueName("group");
    const read = new Map<string, string>();
    const members = [consumer(groupId, "a"), consumer(groupId, "b")];
    try {
      await Promise.all(members.map((m) => m.subscribe({ topics: [TOPIC] })));
      await eventually(
        () => members.every((m) => m.assignment().length === PARTITIONS / 2),
        "the two members sharing the topic",
        20_000,
      );
      const metadata = members[0]?.cluster.metadata;
      const leaders = new Set(metadata?.topics.get(TOPIC)?.partitions.map((p) => p.leader));
      assert.equal(metadata?.brokers.size, 3);
      assert.ok(leaders.size > 1, `partition leaders on ${leaders.size} broker(s)`);

      const readAll = async (member: Consumer<string, string>, name: string) => {
        const record = (m: ConsumerMessage<string, string>) => {
          const where = `${m.partition}@${m.offset}`;
          assert.equal(read.get(where), undefined, `${where} read twice`);
          read.set(where, `${name}:${m.value}`);
        };
        while (read.size < COUNT) for (const m of await pollPastLateSync(member)) record(m);
        await member.commit();
      };
      await Promise.all([
        readAll(members[0] as Consumer<string, string>, "a"),
        readAll(members[1] as Consumer<string, string>, "b"),
      ]);
      assert.equal(read.size, COUNT);
      assert.deepEqual(
        [...new Set([...read.values()].map((v) => v.split(":")[0]))].sort(),
        ["a", "b"],
        "both members read",
      );
    } finally {
      await Promise.all(members.map((m) => m.close()));
    }

    const next = consumer(groupId, "c");
    try {
      await next.subscribe({ topics: [TOPIC] });
      await eventually(() => next.assignment().length === PARTITIONS, "c owning every partition", 20_000);
      assert.deepEqual(await next.poll({ timeoutMs: 1_000 }), [], "nothing left past the commits");
    } finally {
      await next.close();
    }
  });
});
