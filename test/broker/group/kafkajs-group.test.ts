import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type Consumer, Kafka, logLevel } from "kafkajs";
import { startBroker, type TestBroker } from "../../../src/testing/index.js";

// kafkajs against an in-process broker: the group protocol end to end over real sockets.

let broker: TestBroker;
let kafka: Kafka;
before(async () => {
  broker = await startBroker();
  kafka = new Kafka({ brokers: [broker.bootstrap], clientId: "kafkajs-group-test", logLevel: logLevel.NOTHING });
});
after(async () => {
  await broker.stop();
});

function consumerOf(groupId: string): Consumer {
  // Short fetch waits, so members notice a rebalance at their next heartbeat quickly.
  return kafka.consumer({ groupId, maxWaitTimeInMs: 50, heartbeatInterval: 100, sessionTimeout: 6000 });
}

async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("kafkajs consumer groups", () => {
  it("three members share a topic, each message is read once, and a newcomer resumes at the commits", async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: "orders", numPartitions: 6 }] });

    const readCount = new Map<string, number>();
    const consumers = [consumerOf("shared"), consumerOf("shared"), consumerOf("shared")];
    for (const consumer of consumers) {
      await consumer.connect();
      await consumer.subscribe({ topic: "orders", fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => {
          const value = message.value?.toString() ?? "";
          readCount.set(value, (readCount.get(value) ?? 0) + 1);
        },
      });
    }
    // Members joined one after another; the last round ends with all three.
    await until(async () => {
      const [group] = (await admin.describeGroups(["shared"])).groups;
      return group?.state === "Stable" && group.members.length === 3;
    }, "a Stable group of three");
    const [group] = (await admin.describeGroups(["shared"])).groups;

    // Produced once the group is settled, so no rebalance can hand a partition over mid-way.
    const producer = kafka.producer();
    await producer.connect();
    const values = Array.from({ length: 600 }, (_, i) => `v${i}`);
    await producer.send({ topic: "orders", messages: values.map((value, i) => ({ key: `k${i}`, value })) });
    await until(() => readCount.size === values.length, "every message");
    assert.equal(group?.protocol, "RoundRobinAssigner");
    assert.equal(
      new Set(group?.members.map((m) => m.memberAssignment.length)).has(0),
      false,
      "everyone got partitions",
    );
    for (const consumer of consumers) await consumer.disconnect();
    assert.deepEqual(
      [...readCount.values()].filter((n) => n !== 1),
      [],
      "no message was read twice",
    );

    const committed = await admin.fetchOffsets({ groupId: "shared", topics: ["orders"] });
    const total = committed[0]?.partitions.reduce((sum, p) => sum + Number(p.offset), 0);
    assert.equal(total, values.length, "the group committed every message it read");

    const latecomer = consumerOf("shared");
    const lateReads: string[] = [];
    await latecomer.connect();
    await latecomer.subscribe({ topic: "orders", fromBeginning: true });
    await latecomer.run({
      eachMessage: async ({ message }) => {
        lateReads.push(message.value?.toString() ?? "");
      },
    });
    await producer.send({ topic: "orders", messages: [{ value: "after-1" }, { value: "after-2" }] });
    await until(() => lateReads.length >= 2, "the new messages");
    assert.deepEqual(lateReads.sort(), ["after-1", "after-2"]);
    await latecomer.disconnect();
    await producer.disconnect();
    await admin.disconnect();
  });
});
