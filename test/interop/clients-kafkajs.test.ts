// kafkajs 2.2.4 against a real brook process: admin operations, keyed produce with acks=-1,
// idempotence and gzip, group consumption, and messages crossing between kafkajs and kcat.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type Admin, CompressionTypes, type Kafka } from "kafkajs";
import { type BrokerProcess, startBrokerProcess } from "../helpers/broker-process.js";
import { kafkajsClient, kafkajsConsume, kafkajsProduce } from "../helpers/interop-kafkajs.js";
import { hasKcat, kcatConsume, kcatProduce } from "../helpers/interop-kcat.js";
import { assertConsumed, makeMessages, partitionByKey } from "../helpers/interop-messages.js";
import { readSegmentBatches } from "../helpers/interop-segments.js";
import { skipUnless } from "../helpers/requirements.js";

const PARTITIONS = 3;
const MESSAGES = 10_000;
const GZIP = 1;

describe("kafkajs against a brook process", { timeout: 60_000 }, () => {
  let broker: BrokerProcess;
  let kafka: Kafka;
  let admin: Admin;

  before(async () => {
    broker = await startBrokerProcess();
    kafka = kafkajsClient(broker.bootstrap, "brook-interop");
    // kafkajs admin clients never ask for auto-creation, so a deleted topic stays deleted.
    admin = kafka.admin();
    await admin.connect();
  });

  after(async () => {
    await admin?.disconnect();
    await broker?.destroy();
  });

  async function createTopic(topic: string): Promise<void> {
    assert.equal(
      await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true }),
      true,
    );
  }

  async function highWatermarks(topic: string): Promise<number[]> {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.sort((a, b) => a.partition - b.partition).map((entry) => Number(entry.high));
  }

  test("admin creates, describes, measures and deletes a topic", async () => {
    const topic = "kafkajs-admin";
    await createTopic(topic);
    // kafkajs answers false, not an error, when the topic exists.
    assert.equal(await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }] }), false);
    assert.ok((await admin.listTopics()).includes(topic));

    const cluster = await admin.describeCluster();
    assert.deepEqual(
      cluster.brokers.map((b) => `${b.host}:${b.port}`),
      [broker.bootstrap],
    );
    const self = cluster.brokers[0]!.nodeId;
    assert.equal(cluster.controller, self);
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
    assert.equal(topics.length, 1);
    assert.deepEqual(
      topics[0]!.partitions
        .sort((a, b) => a.partitionId - b.partitionId)
        .map(({ partitionErrorCode, partitionId, leader, replicas, isr }) => ({
          partitionErrorCode,
          partitionId,
          leader,
          replicas,
          isr,
        })),
      Array.from({ length: PARTITIONS }, (_, partitionId) => ({
        partitionErrorCode: 0,
        partitionId,
        leader: self,
        replicas: [self],
        isr: [self],
      })),
    );

    assert.deepEqual(await highWatermarks(topic), [0, 0, 0]);
    const messages = makeMessages(30, { prefix: topic });
    const producer = kafka.producer();
    await producer.connect();
    try {
      await kafkajsProduce(producer, topic, messages, { partitions: PARTITIONS });
    } finally {
      await producer.disconnect();
    }
    assert.deepEqual(
      await highWatermarks(topic),
      partitionByKey(messages, PARTITIONS).map((log) => log.length),
    );
    const lowWatermarks = (await admin.fetchTopicOffsets(topic)).map((entry) => Number(entry.low));
    assert.deepEqual(lowWatermarks, [0, 0, 0]);

    await admin.deleteTopics({ topics: [topic] });
    assert.ok(!(await admin.listTopics()).includes(topic));
    await assert.rejects(admin.fetchTopicMetadata({ topics: [topic] }), { type: "UNKNOWN_TOPIC_OR_PARTITION" });
  });

  const variants = [
    { name: "acks=-1", topic: "kafkajs-acks-all", producer: {}, compression: CompressionTypes.None },
    {
      name: "idempotent",
      topic: "kafkajs-idempotent",
      producer: { idempotent: true, maxInFlightRequests: 1 },
      compression: CompressionTypes.None,
    },
    { name: "gzip", topic: "kafkajs-gzip", producer: {}, compression: CompressionTypes.GZIP },
  ];
  for (const variant of variants) {
    test(`kafkajs produces (${variant.name}) and a group consumes ${MESSAGES} keyed messages with headers`, async () => {
      const { topic } = variant;
      await createTopic(topic);
      const messages = makeMessages(MESSAGES, {
        prefix: topic,
        headers: (i) => [
          ["seq", String(i)],
          ["source", "kafkajs"],
        ],
      });
      const expected = partitionByKey(messages, PARTITIONS);
      const producer = kafka.producer(variant.producer);
      await producer.connect();
      try {
        await kafkajsProduce(producer, topic, messages, { partitions: PARTITIONS, compression: variant.compression });
      } finally {
        await producer.disconnect();
      }
      // The log holds exactly what was sent: a duplicate would show here even if the consumer stops early.
      assert.deepEqual(
        await highWatermarks(topic),
        expected.map((log) => log.length),
      );

      const groupId = `${topic}-group`;
      assertConsumed(await kafkajsConsume(kafka, topic, MESSAGES, groupId), expected);
      const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
      assert.deepEqual(
        committed!.partitions.sort((a, b) => a.partition - b.partition).map((p) => Number(p.offset)),
        expected.map((log) => log.length),
        "the group committed the end of every partition",
      );

      for (let partition = 0; partition < PARTITIONS; partition++) {
        const batches = await readSegmentBatches(broker.dataDir, topic, partition);
        for (const batch of batches)
          assert.equal(batch.codec, variant.compression === CompressionTypes.GZIP ? GZIP : 0);
        if (variant.producer.idempotent) {
          // One producer id throughout, and sequences that continue from batch to batch.
          const producerIds = new Set(batches.map((batch) => batch.producerId));
          assert.equal(producerIds.size, 1);
          assert.ok([...producerIds][0]! >= 0);
          let sequence = 0;
          for (const batch of batches) {
            assert.equal(
              batch.baseSequence,
              sequence,
              `partition ${partition}: sequence of batch at ${batch.baseOffset}`,
            );
            sequence += batch.records.length;
          }
        } else {
          for (const batch of batches) assert.equal(batch.producerId, -1);
        }
      }
    });
  }

  describe("across clients", () => {
    const CROSS_MESSAGES = 2000;

    test("what kafkajs produces, kcat reads identically", async (t) => {
      if (!skipUnless(t, hasKcat(), "kcat")) return;
      const topic = "kafkajs-to-kcat";
      await createTopic(topic);
      const messages = makeMessages(CROSS_MESSAGES, {
        prefix: topic,
        headers: (i) => [
          ["seq", String(i)],
          ["from", "kafkajs"],
        ],
      });
      const producer = kafka.producer();
      await producer.connect();
      try {
        await kafkajsProduce(producer, topic, messages, { partitions: PARTITIONS, chunkSize: 250 });
      } finally {
        await producer.disconnect();
      }
      assertConsumed(await kcatConsume(broker.bootstrap, topic), partitionByKey(messages, PARTITIONS));
    });

    test("a kcat consumer and a kafkajs group following the topic get every message as kcat writes it", async (t) => {
      if (!skipUnless(t, hasKcat(), "kcat")) return;
      const topic = "kcat-followed";
      await createTopic(topic);
      const messages = makeMessages(CROSS_MESSAGES * 5, { prefix: topic });
      // Both start on an empty topic and wait in long polls that the appends must wake.
      const followers = [
        kcatConsume(broker.bootstrap, topic, { count: messages.length }),
        kafkajsConsume(kafka, topic, messages.length, `${topic}-group`),
      ];
      const chunk = messages.length / 10;
      for (let start = 0; start < messages.length; start += chunk) {
        await kcatProduce(broker.bootstrap, topic, messages.slice(start, start + chunk));
      }
      const expected = partitionByKey(messages, PARTITIONS);
      for (const consumed of await Promise.all(followers)) assertConsumed(consumed, expected);
    });

    test("what kcat produces, kafkajs reads identically", async (t) => {
      if (!skipUnless(t, hasKcat(), "kcat")) return;
      const topic = "kcat-to-kafkajs";
      await createTopic(topic);
      const messages = makeMessages(CROSS_MESSAGES, { prefix: topic, headers: () => [["from", "kcat"]] });
      // gzip: the only codec kafkajs reads without plugins.
      await kcatProduce(broker.bootstrap, topic, messages, { compression: "gzip" });
      const consumed = await kafkajsConsume(kafka, topic, CROSS_MESSAGES, `${topic}-group`);
      assertConsumed(consumed, partitionByKey(messages, PARTITIONS));
    });
  });
});
