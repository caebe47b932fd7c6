// The client against a real `brook start` process, read back by third-party clients: kcat
// (librdkafka) checks every codec and the CRCs, kafkajs's partitioner agrees on key placement,
// and a connection cut mid-produce through a proxy stores nothing twice.
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { after, before, describe, it } from "node:test";
import { Admin } from "../../src/client/admin.js";
import { Producer } from "../../src/client/producer.js";
import { API_CODECS } from "../../src/protocol/generated/index.js";
import { type BrokerProcess, startBrokerProcess } from "../helpers/broker-process.js";
import { type Compression, hasKcat, kcatConsume } from "../helpers/interop-kcat.js";
import { javaPartition, makeMessages } from "../helpers/interop-messages.js";
import { skipUnless } from "../helpers/requirements.js";
import { startKafkaProxy } from "./helpers/kafka-proxy.js";

const require = createRequire(import.meta.url);

describe("against a brook process", () => {
  let broker: BrokerProcess;
  let admin: Admin;

  before(async () => {
    broker = await startBrokerProcess({ args: ["--memory"] });
    admin = new Admin({ brokers: [broker.bootstrap] });
  });
  after(async () => {
    await admin.close();
    await broker.destroy();
  });

  for (const compression of ["gzip", "snappy", "lz4", "zstd"] as Compression[]) {
    it(`produces ${compression} batches that kcat reads back message for message`, async (t) => {
      if (!skipUnless(t, hasKcat(), "kcat")) return;
      const topic = `kcat-${compression}`;
      await admin.createTopics({ topics: [{ topic, numPartitions: 3 }] });
      const messages = makeMessages(300, { prefix: compression, headers: (i) => [["n", String(i)]] });
      const producer = new Producer({ brokers: [broker.bootstrap], compression, lingerMs: 20 });
      t.after(() => producer.close());
      await Promise.all(
        messages.map((m) =>
          producer.send({
            topic,
            messages: [{ key: m.key, value: m.value, headers: Object.fromEntries(m.headers) }],
          }),
        ),
      );
      const consumed = await kcatConsume(broker.bootstrap, topic);
      assert.equal(consumed.length, messages.length);
      for (let partition = 0; partition < 3; partition++) {
        const expected = messages.filter((m) => javaPartition(m.key as string, 3) === partition);
        const got = consumed.filter((c) => c.partition === partition);
        assert.deepEqual(
          got.map((c) => [c.key, c.value, c.headers, c.offset]),
          expected.map((m, offset) => [m.key, m.value, m.headers, offset]),
        );
      }
    });
  }

  it("puts every key in the partition kafkajs's default partitioner puts it in", async (t) => {
    if (!skipUnless(t, hasKcat(), "kcat")) return;
    const { Kafka, Partitioners, logLevel } = require("kafkajs") as typeof import("kafkajs");
    await admin.createTopics({
      topics: [
        { topic: "placed-by-kafkajs", numPartitions: 7 },
        { topic: "placed-by-brook", numPartitions: 7 },
      ],
    });
    const keys = Array.from({ length: 200 }, (_, i) => `k${i}-${"ü".repeat(i % 4)}`);
    const kafkajs = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING }).producer({
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await kafkajs.connect();
    t.after(() => kafkajs.disconnect());
    await kafkajs.send({ topic: "placed-by-kafkajs", messages: keys.map((key) => ({ key, value: "v" })) });
    const producer = new Producer({ brokers: [broker.bootstrap] });
    t.after(() => producer.close());
    await producer.send({ topic: "placed-by-brook", messages: keys.map((key) => ({ key, value: "v" })) });
    const placement = async (topic: string) =>
      new Map((await kcatConsume(broker.bootstrap, topic)).map((m) => [m.key, m.partition]));
    assert.deepEqual(await placement("placed-by-brook"), await placement("placed-by-kafkajs"));
  });

  it("stores no duplicate when the connection is cut after brook took the Produce request", async (t) => {
    if (!skipUnless(t, hasKcat(), "kcat")) return;
    let produceResponses = 0;
    const proxy = await startKafkaProxy({
      onResponse: (info) =>
        info.apiKey === API_CODECS.Produce.apiKey && ++produceResponses % 4 === 2 ? "close" : undefined,
    });
    const proxied = await startBrokerProcess({ args: ["--memory", "--advertised-port", String(proxy.port)] });
    proxy.setTarget(proxied.host, proxied.port);
    t.after(async () => {
      await proxy.close();
      await proxied.destroy();
    });
    const producer = new Producer({
      brokers: [`127.0.0.1:${proxy.port}`],
      lingerMs: 0,
      batchBytes: 1024,
      retry: { initialDelayMs: 10 },
    });
    t.after(() => producer.close());
    const values = Array.from({ length: 200 }, (_, i) => `${i}-${"x".repeat(300)}`);
    await producer.send({ topic: "cut", messages: values.map((value) => ({ value, partition: 0 })) });
    assert.ok(produceResponses > 10, `${produceResponses} Produce responses, some cut`);
    const consumed = await kcatConsume(`127.0.0.1:${proxy.port}`, "cut");
    assert.deepEqual(
      consumed.map((c) => c.value),
      values,
    );
  });
});
