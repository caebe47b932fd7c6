// kafkajs 2.2.4 consumer groups against a real brook process, each member a Node process of its
// own: three share a topic and read 30,000 messages once each; a member that leaves cleanly or
// is killed is taken over without a message lost; two groups each read every message; a member
// that commits half and closes is resumed exactly there by a new one, also across a restart.
import { after, afterEach, before, describe, test } from "node:test";
import { startKafkajsMember } from "../helpers/interop-groups.js";
import {
  type GroupClient,
  GroupTestBed,
  resumeAtCommits,
  shareThenLoseAMember,
  twoGroupsOnOneTopic,
} from "../helpers/interop-groups-scenarios.js";
import { kafkajsClient } from "../helpers/interop-kafkajs.js";

/** Messages per Produce request. */
const CHUNK = 5000;

const kafkajs: GroupClient = {
  name: "kafkajs",
  startMember: (options) => startKafkajsMember(options),
  async produce(bootstrap, topic, messages) {
    const producer = kafkajsClient(bootstrap, "interop-groups-producer").producer();
    await producer.connect();
    try {
      // kafkajs's default partitioner is Java's, which partitionByKey expects.
      for (let start = 0; start < messages.length; start += CHUNK) {
        const chunk = messages.slice(start, start + CHUNK);
        await producer.send({ topic, acks: -1, messages: chunk.map(({ key, value }) => ({ key, value })) });
      }
    } finally {
      await producer.disconnect();
    }
  },
};

describe("kafkajs consumer groups against a brook process", { timeout: 90_000 }, () => {
  let bed: GroupTestBed;

  before(async () => {
    bed = await GroupTestBed.start();
  });
  afterEach(async () => {
    await bed.killMembers();
  });
  after(async () => {
    await bed?.close();
  });

  test("three members share 6 partitions 2/2/2, read 30,000 messages once each, and take over from one that leaves", async () => {
    await shareThenLoseAMember(bed, kafkajs, { messages: 30_000, how: "stop" });
  });

  test("a SIGKILLed member's partitions are taken over when its session times out, with no message lost", async () => {
    await shareThenLoseAMember(bed, kafkajs, { messages: 6_000, how: "kill" });
  });

  test("two groups on one topic each read every message", async () => {
    await twoGroupsOnOneTopic(bed, kafkajs, 5_000);
  });

  test("a new member starts exactly at the offsets committed by one that read half and closed", async () => {
    await resumeAtCommits(bed, kafkajs, { messages: 4_000 });
  });

  test("the committed offsets survive a broker restart, and a new member starts there", async () => {
    await resumeAtCommits(bed, kafkajs, { messages: 4_000, restart: "stop" });
  });
});
