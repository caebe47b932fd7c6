// brook's consumer and a kafkajs consumer in one group: each reads the other's consumer
// protocol payloads (subscriptions as leader, assignments as follower), so they share the
// partitions and every message is read once.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Admin } from "../../../src/client/admin.js";
import { roundRobinAssignor } from "../../../src/client/assignors/index.js";
import { Consumer } from "../../../src/client/consumer.js";
import { type BrokerProcess, startBrokerProcess } from "../../helpers/broker-process.js";
import { kafkajsClient } from "../../helpers/interop-kafkajs.js";
import { deferred, eventually, keyedMessages, produce, uniqueName } from "./helpers.js";

const PARTITIONS = 4;
const COUNT = 400;

describe("Consumer in a group with kafkajs", () => {
  let broker: BrokerProcess;

  before(async () => {
    broker = await startBrokerProcess({ args: ["--memory", "--default-partitions", String(PARTITIONS)] });
  });
  after(async () => {
    await broker.destroy();
  });

  for (const brookJoinsFirst of [true, false]) {
    it(`shares the partitions with a kafkajs member (RoundRobinAssigner), ${brookJoinsFirst ? "brook" : "kafkajs"} leading`, async () => {
      const topic = uniqueName("mixed");
      const groupId = uniqueName("group");
      const admin = new Admin({ brokers: [broker.bootstrap] });
      await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }] });
      await admin.close();
      const read = new Map<string, string>();
      const record = (who: string, partition: number, offset: number) => {
        const where = `${partition}@${offset}`;
        assert.equal(read.get(where), undefined, `${where} read by ${read.get(where)} and by ${who}`);
        read.set(where, who);
      };

      const kafkajs = kafkajsClient(broker.bootstrap, "kafkajs-member").consumer({
        groupId,
        heartbeatInterval: 200,
        sessionTimeout: 6_000,
        maxWaitTimeInMs: 100,
      });
      let kafkajsPartitions: number[] = [];
      kafkajs.on(kafkajs.events.GROUP_JOIN, (event) => {
        kafkajsPartitions = event.payload.memberAssignment[topic] ?? [];
      });
      const brook = new Consumer({
        brokers: [broker.bootstrap],
        groupId,
        // kafkajs announces its round-robin strategy under its own protocol name.
        assignors: [{ ...roundRobinAssignor, name: "RoundRobinAssigner" }],
        autoOffsetReset: "earliest",
        heartbeatIntervalMs: 200,
        sessionTimeoutMs: 6_000,
        fetchMaxWaitMs: 100,
      });
      const startKafkajs = async () => {
        await kafkajs.connect();
        await kafkajs.subscribe({ topics: [topic], fromBeginning: true });
        await kafkajs.run({
          eachMessage: async ({ partition, message }) => record("kafkajs", partition, Number(message.offset)),
        });
      };
      const brookJoined = deferred();
      const startBrook = () => brook.subscribe({ topics: [topic], onPartitionsAssigned: () => brookJoined.resolve() });
      let reading = true;
      const brookReading = (async () => {
        await brookJoined.promise;
        while (reading) for (const m of await brook.poll({ timeoutMs: 100 })) record("brook", m.partition, m.offset);
      })();
      try {
        if (brookJoinsFirst) {
          await startBrook();
          await brookJoined.promise;
          await startKafkajs();
        } else {
          await startKafkajs();
          await eventually(() => kafkajsPartitions.length === PARTITIONS, "kafkajs owning the topic");
          await startBrook();
        }
        await eventually(
          () => kafkajsPartitions.length === PARTITIONS / 2 && brook.assignment().length === PARTITIONS / 2,
          "the two members sharing the topic",
          20_000,
        );
        assert.deepEqual([...kafkajsPartitions, ...brook.assignment().map((p) => p.partition)].sort(), [0, 1, 2, 3]);
        // Produced once the group is settled: every message is read once.
        await produce(broker.bootstrap, topic, keyedMessages(COUNT));
        await eventually(() => read.size === COUNT, `all ${COUNT} messages read (${read.size} so far)`);
        assert.deepEqual([...new Set(read.values())].sort(), ["brook", "kafkajs"]);
      } finally {
        reading = false;
        await brookReading;
        await brook.close();
        await kafkajs.disconnect();
      }
    });
  }
});
