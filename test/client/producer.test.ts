import assert from "node:assert/strict";
import { after, before, describe, it, type TestContext } from "node:test";
import { Admin } from "../../src/client/admin.js";
import type { BrookError } from "../../src/client/errors.js";
import { murmur2Partition } from "../../src/client/partitioners.js";
import { Producer, type ProducerOptions } from "../../src/client/producer.js";
import { API_CODECS } from "../../src/protocol/generated/index.js";
import { startBroker, type TestBroker } from "../../src/testing/index.js";
import { type KafkaProxyOptions, startProxiedBroker } from "./helpers/kafka-proxy.js";
import { readPartition, readTopicValues } from "./helpers/read-back.js";

const FAST_RETRY = { timeoutMs: 2000, initialDelayMs: 10, maxDelayMs: 50 };
const PRODUCE = API_CODECS.Produce.apiKey;

function producerFor<V = unknown, K = unknown>(t: TestContext, options: ProducerOptions<V, K>): Producer<V, K> {
  const producer = new Producer<V, K>(options);
  t.after(() => producer.close().catch(() => undefined));
  return producer;
}

async function gatewayFor(t: TestContext, proxyOptions?: KafkaProxyOptions, brokerOptions = {}) {
  const gateway = await startProxiedBroker(proxyOptions, { defaultPartitions: 3, ...brokerOptions });
  t.after(() => gateway.stop());
  return gateway;
}

describe("Producer", () => {
  let broker: TestBroker;

  before(async () => {
    broker = await startBroker({ defaultPartitions: 3 });
  });
  after(async () => {
    await broker.stop();
  });

  it("resolves each send with the offsets of its messages, in message order", async (t) => {
    const producer = producerFor(t, { brokers: [broker.bootstrap] });
    const first = await producer.send({
      topic: "offsets",
      messages: [
        { value: "a", partition: 1 },
        { value: "b", partition: 1 },
        { value: "c", partition: 2 },
      ],
    });
    assert.deepEqual(first, [
      { topic: "offsets", partition: 1, offset: 0 },
      { topic: "offsets", partition: 1, offset: 1 },
      { topic: "offsets", partition: 2, offset: 0 },
    ]);
    const concurrent = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        producer.send({ topic: "offsets", messages: [{ value: `m${i}`, partition: 0 }] }),
      ),
    );
    assert.deepEqual(
      concurrent.map(([r]) => r?.offset),
      Array.from({ length: 50 }, (_, i) => i),
    );
    assert.deepEqual(
      (await readTopicValues(broker.bootstrap, "offsets"))[0],
      Array.from({ length: 50 }, (_, i) => `m${i}`),
    );
  });

  it("stores keys, values, headers and timestamps as given", async (t) => {
    const producer = producerFor(t, { brokers: [broker.bootstrap] });
    const timestamp = Date.UTC(2024, 0, 1);
    await producer.send({
      topic: "fields",
      messages: [
        {
          key: "k",
          value: "text",
          headers: { trace: "abc", bin: Buffer.from([1, 2]), none: null },
          timestamp,
          partition: 0,
        },
        { key: Buffer.from([0xff]), value: Buffer.from([0, 1]), timestamp: new Date(timestamp + 1), partition: 0 },
        {
          value: { json: [1, 2] },
          headers: [
            { key: "dup", value: "1" },
            { key: "dup", value: "2" },
          ],
          partition: 0,
        },
        { key: null, value: null, partition: 0 },
      ],
    });
    const records = await readPartition(broker.bootstrap, "fields", 0);
    assert.deepEqual(
      records.map((r) => [r.key, r.value, r.headers]),
      [
        [
          Buffer.from("k"),
          Buffer.from("text"),
          [
            { key: "trace", value: Buffer.from("abc") },
            { key: "bin", value: Buffer.from([1, 2]) },
            { key: "none", value: null },
          ],
        ],
        [Buffer.from([0xff]), Buffer.from([0, 1]), []],
        [
          null,
          Buffer.from('{"json":[1,2]}'),
          [
            { key: "dup", value: Buffer.from("1") },
            { key: "dup", value: Buffer.from("2") },
          ],
        ],
        [null, null, []],
      ],
    );
    assert.equal(records[0]?.timestamp, timestamp);
    assert.equal(records[1]?.timestamp, timestamp + 1);
    assert.ok(Math.abs((records[2]?.timestamp ?? 0) - Date.now()) < 10_000);
  });

  it("puts keyed messages where murmur2 says and key-less ones on one sticky partition", async (t) => {
    const producer = producerFor(t, { brokers: [broker.bootstrap] });
    const keys = Array.from({ length: 30 }, (_, i) => `user-${i}`);
    const results = await producer.send({ topic: "keyed", messages: keys.map((key) => ({ key, value: "v" })) });
    assert.deepEqual(
      results.map((r) => r.partition),
      keys.map((key) => murmur2Partition(Buffer.from(key), 3)),
    );
    const unkeyed = await producer.send({
      topic: "keyed",
      messages: Array.from({ length: 20 }, () => ({ value: "x" })),
    });
    assert.equal(new Set(unkeyed.map((r) => r.partition)).size, 1);
  });

  for (const acks of [0, 1, -1] as const) {
    it(`delivers with acks ${acks}`, async (t) => {
      const producer = producerFor(t, { brokers: [broker.bootstrap], acks });
      const topic = `acks${acks}`;
      const results = await producer.send({
        topic,
        messages: [
          { value: "1", partition: 0 },
          { value: "2", partition: 0 },
        ],
      });
      assert.deepEqual(
        results.map((r) => r.offset),
        acks === 0 ? [-1, -1] : [0, 1],
      );
      await producer.flush();
      assert.deepEqual((await readTopicValues(broker.bootstrap, topic))[0], ["1", "2"]);
    });
  }

  for (const compression of ["gzip", "snappy", "lz4", "zstd"] as const) {
    it(`compresses batches with ${compression}`, async (t) => {
      const producer = producerFor(t, { brokers: [broker.bootstrap], compression });
      const topic = `compressed-${compression}`;
      const values = Array.from({ length: 200 }, (_, i) => `value ${i} ${"z".repeat(i % 50)}`);
      await producer.send({ topic, messages: values.map((value) => ({ value, partition: 0 })) });
      const records = await readPartition(broker.bootstrap, topic, 0);
      assert.deepEqual(
        records.map((r) => r.value?.toString()),
        values,
      );
      assert.ok(records.every((r) => r.batch.codec === { gzip: 1, snappy: 2, lz4: 3, zstd: 4 }[compression]));
    });
  }

  it("gathers the messages of one lingerMs into one batch and one request", async (t) => {
    const gateway = await gatewayFor(t);
    const producer = producerFor(t, { brokers: [gateway.bootstrap], lingerMs: 50 });
    await producer.send({ topic: "linger", messages: [{ value: "warm-up", partition: 0 }] });
    const before = gateway.proxy.requests.filter((r) => r.apiKey === PRODUCE).length;
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        producer.send({ topic: "linger", messages: [{ value: `${i}`, partition: 0 }] }),
      ),
    );
    assert.equal(gateway.proxy.requests.filter((r) => r.apiKey === PRODUCE).length, before + 1);
    const records = await readPartition(gateway.bootstrap, "linger", 0);
    assert.equal(new Set(records.slice(1).map((r) => r.batch.baseOffset)).size, 1, "one batch");
  });

  it("splits batches at batchBytes and pipelines them", async (t) => {
    const producer = producerFor(t, { brokers: [broker.bootstrap], batchBytes: 4096 });
    const value = "v".repeat(1000);
    const results = await producer.send({
      topic: "small-batches",
      messages: Array.from({ length: 40 }, () => ({ value, partition: 0 })),
    });
    assert.deepEqual(
      results.map((r) => r.offset),
      Array.from({ length: 40 }, (_, i) => i),
    );
    const batches = new Set((await readPartition(broker.bootstrap, "small-batches", 0)).map((r) => r.batch.baseOffset));
    assert.ok(batches.size >= 10, `${batches.size} batches`);
  });

  it("flush() sends what lingers, and close() delivers what is buffered", async (t) => {
    const producer = producerFor(t, { brokers: [broker.bootstrap], lingerMs: 60_000 });
    await Promise.all([
      producer.send({ topic: "flushed", messages: [{ value: "warm-up", partition: 0 }] }),
      producer.flush(),
    ]);
    let delivered = false;
    const sent = producer.send({ topic: "flushed", messages: [{ value: "a", partition: 0 }] }).then(() => {
      delivered = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(delivered, false);
    await producer.flush();
    assert.equal(delivered, true);
    await sent;
    const last = producer.send({ topic: "flushed", messages: [{ value: "b", partition: 0 }] });
    await producer.close();
    assert.equal((await last)[0]?.offset, 2);
    await assert.rejects(producer.send({ topic: "flushed", messages: [{ value: "c" }] }), {
      code: "BROOK_CLOSED",
      message: "the producer is closed",
    });
  });

  it("serializes with the built-in serializers or a function, and reports serializer failures", async (t) => {
    const json = producerFor<{ n: number }, string>(t, {
      brokers: [broker.bootstrap],
      valueSerializer: "json",
      keySerializer: "string",
    });
    await json.send({ topic: "serialized", messages: [{ key: "k", value: { n: 1 }, partition: 0 }] });
    const custom = producerFor<number>(t, {
      brokers: [broker.bootstrap],
      valueSerializer: (n) => Buffer.from([n]),
    });
    await custom.send({ topic: "serialized", messages: [{ value: 7, partition: 0 }] });
    const records = await readPartition(broker.bootstrap, "serialized", 0);
    assert.deepEqual(
      records.map((r) => r.value),
      [Buffer.from('{"n":1}'), Buffer.from([7])],
    );
    await assert.rejects(json.send({ topic: "serialized", messages: [{ key: 5 as never, value: { n: 2 } }] }), {
      code: "BROOK_SERIALIZATION",
      message: "the string serializer takes strings, not number",
    });
    const throwing = producerFor(t, {
      brokers: [broker.bootstrap],
      valueSerializer: () => {
        throw new Error("nope");
      },
    });
    await assert.rejects(throwing.send({ topic: "serialized", messages: [{ value: 1 }] }), {
      code: "BROOK_SERIALIZATION",
      message: "cannot serialize the value of message 0 for topic 'serialized': nope",
    });
  });

  it("rejects invalid messages with BROOK_INVALID_MESSAGE and sends nothing of them", async (t) => {
    const producer = producerFor(t, { brokers: [broker.bootstrap] });
    const cases: [unknown, RegExp][] = [
      [undefined, /send\(\) takes \{ topic, messages \}/],
      [{ topic: "", messages: [{ value: "x" }] }, /topic must be a non-empty string/],
      [{ topic: "t", messages: [] }, /must be a non-empty array/],
      [{ topic: "t", messages: [null] }, /message 0 .* must be an object/],
      [{ topic: "t", messages: [{ value: "x", partition: -1 }] }, /partition must be an integer ≥ 0/],
      [{ topic: "t", messages: [{ value: "x", timestamp: "now" }] }, /timestamp must be ms since the epoch/],
      [{ topic: "t", messages: [{ value: "x", headers: { h: 5 } }] }, /header 'h' must be a string, a Buffer or null/],
    ];
    for (const [record, message] of cases) {
      await assert.rejects(producer.send(record as never), { code: "BROOK_INVALID_MESSAGE", message });
    }
    await assert.rejects(producer.send({ topic: "bad-partition", messages: [{ value: "x", partition: 3 }] }), {
      code: "BROOK_UNKNOWN_PARTITION",
      message:
        "message 0 cannot go to partition 3 of topic 'bad-partition' (it names it): the topic has 3 partition(s)",
    });
  });

  it("rejects invalid options with BROOK_INVALID_OPTION", () => {
    const invalid: Partial<ProducerOptions>[] = [
      { acks: 2 as never },
      { acks: 1, idempotent: true },
      { compression: "brotli" as never },
      { lingerMs: -1 },
      { batchBytes: 0 },
      { bufferBytes: 1.5 },
      { maxInFlightPerPartition: 6 },
      { partitioner: "murmur" as never },
      { valueSerializer: "yaml" as never },
    ];
    for (const options of invalid) {
      assert.throws(
        () => new Producer({ brokers: ["127.0.0.1:9092"], ...options }),
        { code: "BROOK_INVALID_OPTION" },
        JSON.stringify(options),
      );
    }
  });

  it("sees partitions added later: at once when a message names one, by metadataMaxAgeMs for the partitioner", async (t) => {
    const admin = new Admin({ brokers: [broker.bootstrap] });
    t.after(() => admin.close());
    await admin.createTopics({ topics: [{ topic: "growing", numPartitions: 1 }] });
    const producer = producerFor(t, { brokers: [broker.bootstrap], metadataMaxAgeMs: 100 });
    await producer.send({ topic: "growing", messages: [{ value: "a" }] });
    await admin.createPartitions({ topics: [{ topic: "growing", count: 4 }] });
    const [named] = await producer.send({ topic: "growing", messages: [{ value: "b", partition: 3 }] });
    assert.equal(named?.partition, 3);
    await new Promise((resolve) => setTimeout(resolve, 150));
    // The first send after the age limit refreshes in the background; later ones see 4 partitions.
    await producer.send({ topic: "growing", messages: [{ value: "c" }] });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const keys = Array.from({ length: 40 }, (_, i) => `key-${i}`);
    const spread = await producer.send({ topic: "growing", messages: keys.map((key) => ({ key, value: "d" })) });
    assert.deepEqual(
      spread.map((r) => r.partition),
      keys.map((key) => murmur2Partition(Buffer.from(key), 4)),
    );
  });

  it("fails a send to a missing topic when the broker does not create topics", async (t) => {
    const strict = await startBroker({ autoCreateTopics: false });
    t.after(() => strict.stop());
    const producer = producerFor(t, { brokers: [strict.bootstrap], retry: FAST_RETRY });
    await assert.rejects(producer.send({ topic: "missing", messages: [{ value: "x" }] }), (error: BrookError) => {
      assert.equal(error.code, "BROOK_UNKNOWN_TOPIC");
      assert.equal(error.message, "topic 'missing' does not exist");
      return true;
    });
  });

  it("surfaces MESSAGE_TOO_LARGE as a typed error and keeps working after it", async (t) => {
    const small = await startBroker({ topicDefaults: { "max.message.bytes": "1024" } });
    t.after(() => small.stop());
    const producer = producerFor(t, { brokers: [small.bootstrap] });
    const before = await producer.send({ topic: "large", messages: [{ value: "ok", partition: 0 }] });
    await assert.rejects(
      producer.send({ topic: "large", messages: [{ value: "x".repeat(5000), partition: 0 }] }),
      (error: BrookError) => {
        assert.equal(error.code, "MESSAGE_TOO_LARGE");
        assert.equal(error.kafkaCode, 10);
        assert.equal(error.retriable, false);
        assert.equal(error.topic, "large");
        assert.match(error.message, /^produce to large-0 failed with MESSAGE_TOO_LARGE/);
        return true;
      },
    );
    // The failed batch had a sequence number: the next ones go out under a new epoch.
    const afterwards = await producer.send({ topic: "large", messages: [{ value: "still ok", partition: 0 }] });
    assert.equal(afterwards[0]?.offset, (before[0]?.offset ?? 0) + 1);
  });

  it("makes send() wait for buffer room, and reject after maxBlockMs", async (t) => {
    let holdProduce = true;
    const gateway = await gatewayFor(t, {
      onRequest: (info) => (info.apiKey === PRODUCE && holdProduce ? "drop" : undefined),
    });
    const producer = producerFor(t, {
      brokers: [gateway.bootstrap],
      bufferBytes: 1500,
      maxBlockMs: 300,
      lingerMs: 0,
      requestTimeoutMs: 1000,
    });
    const value = "x".repeat(1000);
    const first = producer.send({ topic: "room", messages: [{ value, partition: 0 }] });
    const second = producer.send({ topic: "room", messages: [{ value, partition: 0 }] });
    await assert.rejects(second, (error: BrookError) => {
      assert.equal(error.code, "BROOK_BUFFER_FULL");
      assert.match(error.message, /waited maxBlockMs \(300 ms\) for room in the producer's buffer \(bufferBytes 1500/);
      return true;
    });
    holdProduce = false;
    // The first send is retried on a new connection after its request timed out.
    assert.equal((await first)[0]?.offset, 0);
    const third = await producer.send({ topic: "room", messages: [{ value, partition: 0 }] });
    assert.equal(third[0]?.offset, 1);
  });

  it("gives up on unreachable brokers with a clear error, never hanging", async (t) => {
    const producer = producerFor(t, { brokers: ["127.0.0.1:1"], retry: { timeoutMs: 300, initialDelayMs: 20 } });
    await assert.rejects(producer.send({ topic: "t", messages: [{ value: "x" }] }), {
      code: "BROOK_CONNECTION_FAILED",
      message: /^could not connect to any of 127\.0\.0\.1:1/,
    });
    await assert.rejects(producer.connect(), { code: "BROOK_CONNECTION_FAILED" });
  });

  it("fails messages not delivered within deliveryTimeoutMs, naming the last error", async (t) => {
    const gateway = await gatewayFor(t, { onRequest: (info) => (info.apiKey === PRODUCE ? "close" : undefined) });
    const producer = producerFor(t, {
      brokers: [gateway.bootstrap],
      deliveryTimeoutMs: 300,
      retry: FAST_RETRY,
    });
    await assert.rejects(
      producer.send({ topic: "never", messages: [{ value: "x", partition: 0 }] }),
      (error: BrookError) => {
        assert.equal(error.code, "BROOK_TIMEOUT");
        assert.match(
          error.message,
          /^1 message\(s\) for never-0 were not delivered within deliveryTimeoutMs \(300 ms\): the connection to .* was closed/,
        );
        return true;
      },
    );
  });
});
