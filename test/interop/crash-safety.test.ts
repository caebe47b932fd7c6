// Crash safety of a real brook process: SIGKILL while acks=-1 producers write with
// --fsync always loses and duplicates nothing that was acknowledged; an idempotent producer that
// outlives crashes gets exactly-once, in-order delivery; a torn or corrupt tail of the active
// segment is cut at the last good batch on restart, and appends continue from there.
import assert from "node:assert/strict";
import { readFileSync, rmSync, statSync, truncateSync, watch, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import type { Kafka, Producer } from "kafkajs";
import { CLEAN_SHUTDOWN_MARKER } from "../../src/broker/storage/clean-shutdown.js";
import { API_CODECS } from "../../src/protocol/generated/index.js";
import { encodeRecordBatch } from "../../src/protocol/records/encode-record-batch.js";
import { type BrokerProcess, startBrokerProcess } from "../helpers/broker-process.js";
import { waitForLog } from "../helpers/interop-broker-log.js";
import { kafkajsClient, kafkajsConsume } from "../helpers/interop-kafkajs.js";
import { hasKcat, kcatConsume, startKcatProducer } from "../helpers/interop-kcat.js";
import { assertConsumed, type ConsumedMessage, javaPartition, type Message } from "../helpers/interop-messages.js";
import { RawSocket } from "../helpers/interop-raw-socket.js";
import { batchSpans, firstSegmentPath } from "../helpers/interop-segments.js";
import { skipUnless } from "../helpers/requirements.js";

const DURABLE = ["--fsync", "always"];
const OUT_OF_ORDER_SEQUENCE_NUMBER = 45;

/** Brokers started by a test, so a failing test does not leave processes or directories behind. */
const started: BrokerProcess[] = [];

async function start(options: Parameters<typeof startBrokerProcess>[0]): Promise<BrokerProcess> {
  const broker = await startBrokerProcess(options);
  started.push(broker);
  return broker;
}

after(async () => {
  for (const broker of started) await broker.destroy();
});

/**
 * A client that gives up at the first failure instead of retrying: a retried produce whose
 * first attempt was written would be a duplicate the broker is not to blame for.
 */
function clientFor(broker: BrokerProcess): Kafka {
  return kafkajsClient(broker.bootstrap, "brook-crash-test", { retry: { retries: 0 } });
}

async function createTopic(kafka: Kafka, topic: string, partitions: number): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    assert.equal(
      await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true }),
      true,
    );
  } finally {
    await admin.disconnect();
  }
}

async function highWatermarks(kafka: Kafka, topic: string): Promise<number[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.sort((a, b) => a.partition - b.partition).map((entry) => Number(entry.high));
  } finally {
    await admin.disconnect();
  }
}

/** Sends with acks=-1 and returns where each message was acknowledged, in send order. */
async function sendAcknowledged(
  producer: Producer,
  topic: string,
  messages: Message[],
  partitions: number,
): Promise<ConsumedMessage[]> {
  const acknowledgements = await producer.send({
    topic,
    acks: -1,
    messages: messages.map(({ key, value }) => ({ key, value })),
  });
  const nextOffset = new Map(acknowledgements.map((ack) => [ack.partition, Number(ack.baseOffset)]));
  return messages.map((message) => {
    const partition = javaPartition(message.key!, partitions);
    const offset = nextOffset.get(partition);
    assert.ok(offset !== undefined, `no acknowledgement for partition ${partition}`);
    nextOffset.set(partition, offset + 1);
    return { ...message, partition, offset };
  });
}

async function consumeAll(kafka: Kafka, topic: string, groupId: string): Promise<ConsumedMessage[]> {
  const total = (await highWatermarks(kafka, topic)).reduce((a, b) => a + b, 0);
  return kafkajsConsume(kafka, topic, total, groupId);
}

function assertDenseLogs(consumed: readonly ConsumedMessage[], partitions: number): void {
  for (let partition = 0; partition < partitions; partition++) {
    const offsets = consumed.filter((m) => m.partition === partition).map((m) => m.offset);
    assert.deepEqual(
      offsets,
      offsets.map((_, i) => i),
      `partition ${partition}: offsets 0..n-1 in order`,
    );
  }
}

describe("crash safety", { timeout: 60_000 }, () => {
  const segmentSizes = [
    { name: "", args: [] },
    // Segments roll every few hundred messages, so kills land around rolls too.
    { name: " and 16 KiB segments", args: ["--segment-bytes", String(16 * 1024)] },
  ];
  for (const segments of segmentSizes) {
    test(`SIGKILL during acks=-1 produce with --fsync always${segments.name} keeps every acknowledged message exactly once`, async () => {
      const partitions = 3;
      const topic = "crash-kill";
      const writers = 4;
      const messagesPerSend = 20;
      const killAfterAcknowledged = 4000;
      const args = [...DURABLE, ...segments.args];

      const broker = await start({ args });
      const kafka = clientFor(broker);
      await createTopic(kafka, topic, partitions);

      const attempted = new Set<string>();
      const acknowledged: ConsumedMessage[] = [];
      let killed: Promise<void> | undefined;
      const producer = kafka.producer();
      await producer.connect();
      // Each writer sends one request at a time and stops at its first failure: the broker's death.
      const writing = Array.from({ length: writers }, async (_, writer) => {
        for (let send = 0; ; send++) {
          const messages = Array.from({ length: messagesPerSend }, (_, i) => {
            const key = `writer-${writer}-send-${send}-message-${i}`;
            return { key, value: `value of ${key}`, headers: [] };
          });
          for (const message of messages) attempted.add(message.key);
          try {
            acknowledged.push(...(await sendAcknowledged(producer, topic, messages, partitions)));
          } catch {
            return;
          }
          if (acknowledged.length >= killAfterAcknowledged) killed ??= broker.kill();
        }
      });
      await Promise.all(writing);
      await killed;
      await producer.disconnect();
      assert.ok(acknowledged.length >= killAfterAcknowledged);

      const restarted = await start({ dataDir: broker.dataDir, port: broker.port, args });
      const restartedClient = clientFor(restarted);
      const recoveredEnds = await highWatermarks(restartedClient, topic);
      const acknowledgedEnds = Array.from({ length: partitions }, (_, p) =>
        Math.max(0, ...acknowledged.filter((m) => m.partition === p).map((m) => m.offset + 1)),
      );
      for (let p = 0; p < partitions; p++) {
        assert.ok(recoveredEnds[p]! >= acknowledgedEnds[p]!, `partition ${p} kept all acknowledged offsets`);
      }

      // The log takes new writes, at the offsets right after what survived.
      const newMessages = Array.from({ length: 30 }, (_, i) => ({
        key: `after-restart-${i}`,
        value: "new",
        headers: [],
      }));
      const producerAfter = restartedClient.producer();
      await producerAfter.connect();
      let appended: ConsumedMessage[];
      try {
        appended = await sendAcknowledged(producerAfter, topic, newMessages, partitions);
      } finally {
        await producerAfter.disconnect();
      }
      const appendedAt = Array.from({ length: partitions }, (_, p) => {
        const first = appended.find((m) => m.partition === p);
        return first?.offset ?? recoveredEnds[p];
      });
      assert.deepEqual(appendedAt, recoveredEnds, "new appends start where the recovered log ends");

      const consumed = await consumeAll(restartedClient, topic, "crash-kill-check");
      assertDenseLogs(consumed, partitions);
      const byKey = new Map<string, ConsumedMessage>();
      for (const message of consumed) {
        assert.ok(!byKey.has(message.key!), `${message.key} is stored once`);
        assert.ok(attempted.has(message.key!) || message.key!.startsWith("after-restart-"), `${message.key} was sent`);
        byKey.set(message.key!, message);
      }
      for (const message of [...acknowledged, ...appended]) {
        const stored = byKey.get(message.key!);
        assert.ok(stored, `acknowledged ${message.key} survived`);
        assert.deepEqual(
          { partition: stored.partition, offset: stored.offset, value: stored.value },
          { partition: message.partition, offset: message.offset, value: message.value },
          `acknowledged ${message.key} is where its acknowledgement said`,
        );
      }
    });
  }

  test("an idempotent producer that outlives broker crashes writes every message exactly once, in order", async (t) => {
    if (!skipUnless(t, hasKcat(), "kcat")) return;
    const topic = "crash-idempotent";
    const total = 150_000;
    // Each crash comes when the partition's log has grown past this many bytes: while the
    // producer is writing (all of it takes a few MB), with requests in flight.
    const crashesAtBytes = [300_000, 1_200_000, 2_100_000];

    let broker = await start({ args: DURABLE });
    await createTopic(clientFor(broker), topic, 1);
    const segment = firstSegmentPath(broker.dataDir, topic, 0);
    // librdkafka keeps up to 5 requests in flight and, after a lost connection, retries them
    // with their original sequence numbers: whatever was written before a crash comes again.
    const producer = startKcatProducer(broker.bootstrap, topic, {
      "enable.idempotence": "true",
      "message.timeout.ms": "50000",
      // Reconnect at once to the restarted broker, not after librdkafka's growing backoff (up to 10 s).
      "reconnect.backoff.max.ms": "100",
    });
    const messages = Array.from({ length: total }, (_, i) => ({ key: `key-${i}`, value: `value-${i}`, headers: [] }));
    try {
      producer.write(messages);
      for (const bytes of crashesAtBytes) {
        await whenFileReaches(segment, bytes);
        await broker.kill();
        broker = await start({ dataDir: broker.dataDir, port: broker.port, args: DURABLE });
      }
      await producer.finish();
    } finally {
      producer.kill();
    }

    assertConsumed(await kcatConsume(broker.bootstrap, topic), [messages]);
  });

  test("after a crash, an idempotent producer's retries get their original offsets and gaps are refused", async () => {
    const topic = "crash-producer-state";
    let broker = await start({ args: DURABLE });
    await createTopic(clientFor(broker), topic, 1);
    const before = await RawSocket.connect(broker.host, broker.port);
    const producerIdentity = await before.call(API_CODECS.InitProducerId, 4, {
      transactionalId: null,
      transactionTimeoutMs: 60_000,
    });
    assert.equal(producerIdentity.errorCode, 0);
    const batchAt = (baseSequence: number, count: number) =>
      encodeRecordBatch({
        records: Array.from({ length: count }, (_, i) => ({ value: Buffer.from(`sequence ${baseSequence + i}`) })),
        producerId: producerIdentity.producerId,
        producerEpoch: producerIdentity.producerEpoch,
        baseSequence,
      });
    const produce = async (socket: RawSocket, records: Buffer) => {
      const response = await socket.call(API_CODECS.Produce, 9, {
        acks: -1,
        timeoutMs: 5000,
        topicData: [{ name: topic, partitionData: [{ index: 0, records }] }],
      });
      const { errorCode, baseOffset } = response.responses[0]!.partitionResponses[0]!;
      return { errorCode, baseOffset };
    };
    const first = await batchAt(0, 3);
    const second = await batchAt(3, 2);
    assert.deepEqual(await produce(before, first), { errorCode: 0, baseOffset: 0 });
    assert.deepEqual(await produce(before, second), { errorCode: 0, baseOffset: 3 });

    await broker.kill();
    broker = await start({ dataDir: broker.dataDir, port: broker.port, args: DURABLE });
    const after = await RawSocket.connect(broker.host, broker.port);
    // The producer never saw these acknowledgements and sends the batches again.
    assert.deepEqual(await produce(after, second), { errorCode: 0, baseOffset: 3 }, "retry of the last batch");
    assert.deepEqual(await produce(after, first), { errorCode: 0, baseOffset: 0 }, "retry of an earlier batch");
    assert.deepEqual(await highWatermarks(clientFor(broker), topic), [5], "the retries wrote nothing");
    assert.deepEqual(
      await produce(after, await batchAt(9, 1)),
      { errorCode: OUT_OF_ORDER_SEQUENCE_NUMBER, baseOffset: -1 },
      "a gap in the sequence",
    );
    assert.deepEqual(await produce(after, await batchAt(5, 1)), { errorCode: 0, baseOffset: 5 }, "the next batch");
    before.destroy();
    after.destroy();
  });

  interface Damage {
    name: string;
    /** Which batch of the segment to damage, counted from the end (0 = the last). */
    fromEnd: number;
    /** Changes the segment bytes inside the batch at [position, position + size). */
    apply(segmentPath: string, position: number, size: number): void;
    /** What the broker's recovery line gives as the reason. */
    reason: RegExp;
  }

  const damages: Damage[] = [
    {
      name: "a segment truncated in the middle of its last batch",
      fromEnd: 0,
      apply: (path, position, size) => truncateSync(path, position + Math.floor(size / 2)),
      reason: /end of the file/,
    },
    {
      name: "a flipped byte in the last batch",
      fromEnd: 0,
      apply: (path, position, size) => flipByte(path, position + size - 3),
      reason: /crc/i,
    },
    {
      name: "a flipped byte in a batch before the last",
      fromEnd: 3,
      apply: (path, position, size) => flipByte(path, position + Math.floor(size / 2)),
      reason: /crc/i,
    },
  ];

  for (const damage of damages) {
    test(`recovery from ${damage.name}: complete batches stay readable and appends continue after them`, async () => {
      const topic = "crash-damaged";
      const sends = 10;
      const perSend = 50;
      const broker = await start({ args: DURABLE });
      const kafka = clientFor(broker);
      await createTopic(kafka, topic, 1);
      const sent: ConsumedMessage[] = [];
      const producer = kafka.producer();
      await producer.connect();
      try {
        for (let send = 0; send < sends; send++) {
          const messages = Array.from({ length: perSend }, (_, i) => {
            const key = `send-${send}-message-${i}`;
            return { key, value: `value of ${key}`, headers: [] };
          });
          sent.push(...(await sendAcknowledged(producer, topic, messages, 1)));
        }
      } finally {
        await producer.disconnect();
      }
      assert.equal(await broker.stop(), 0, "clean shutdown");
      // Damage found after a crash: without the clean-shutdown marker, the restart checks the
      // active segment batch by batch (with it, the files would be trusted as they were left).
      rmSync(join(broker.dataDir, CLEAN_SHUTDOWN_MARKER));

      const segment = firstSegmentPath(broker.dataDir, topic, 0);
      const spans = batchSpans(readFileSync(segment));
      assert.equal(spans.length, sends, "one batch per send");
      const damaged = spans[spans.length - 1 - damage.fromEnd]!;
      damage.apply(segment, damaged.position, damaged.size);

      const restarted = await start({ dataDir: broker.dataDir, port: broker.port, args: DURABLE });
      const recovery = await waitForLog(restarted, (line) => line.segment === segment);
      assert.match(recovery.msg, /truncat/);
      assert.equal(recovery.position, damaged.position, "cut where the damaged batch starts");
      assert.match(String(recovery.reason), damage.reason);

      const restartedClient = clientFor(restarted);
      assert.deepEqual(await highWatermarks(restartedClient, topic), [damaged.baseOffset]);
      const afterProducer = restartedClient.producer();
      await afterProducer.connect();
      let appended: ConsumedMessage[];
      try {
        appended = await sendAcknowledged(afterProducer, topic, [{ key: "appended", value: "new", headers: [] }], 1);
      } finally {
        await afterProducer.disconnect();
      }
      assert.equal(appended[0]!.offset, damaged.baseOffset, "the next append takes the first offset that was cut");

      const consumed = await consumeAll(restartedClient, topic, `${topic}-check`);
      const kept = sent.filter((m) => m.offset < damaged.baseOffset);
      assert.deepEqual(
        consumed.map(({ partition, offset, key, value }) => ({ partition, offset, key, value })),
        [...kept, ...appended].map(({ partition, offset, key, value }) => ({ partition, offset, key, value })),
      );
    });
  }
});

/** Resolves once the file is at least `bytes` long, woken by the writes to it. */
function whenFileReaches(path: string, bytes: number): Promise<void> {
  return new Promise((resolve) => {
    const watcher = watch(path, () => check());
    const check = () => {
      if (statSync(path).size < bytes) return;
      watcher.close();
      resolve();
    };
    check();
  });
}

function flipByte(path: string, position: number): void {
  const bytes = readFileSync(path);
  bytes[position]! ^= 0xff;
  writeFileSync(path, bytes);
}
