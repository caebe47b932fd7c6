import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it, type TestContext } from "node:test";
import { Kafka, logLevel } from "kafkajs";
import { Admin } from "../../src/client/admin.js";
import { Consumer } from "../../src/client/consumer.js";
import { BrookError } from "../../src/client/errors.js";
import { Producer } from "../../src/client/producer.js";
import { type InjectedFault, startBroker, type TestBroker } from "../../src/testing/index.js";

// Fault controls of the embedded broker, seen through real clients: brook's own and kafkajs.

const FAST_RETRY = { timeoutMs: 10_000, initialDelayMs: 10, maxDelayMs: 100 };
// Node's timers may fire up to a millisecond before the requested time as measured by performance.now().
const TIMER_SLACK_MS = 2;

let broker: TestBroker;
let topicCount = 0;

before(async () => {
  broker = await startBroker();
});
after(async () => {
  await broker.stop();
});

function topicName(): string {
  return `faults-${++topicCount}`;
}

function producerFor(t: TestContext): Producer<string, string> {
  const producer = new Producer<string, string>({ brokers: [broker.bootstrap], retry: FAST_RETRY });
  t.after(() => producer.close().catch(() => undefined));
  return producer;
}

/** Faults injected from now on, for assertions about what a test itself caused. */
function faultsFromNow(): () => InjectedFault[] {
  const start = broker.faults.injected.length;
  return () => broker.faults.injected.slice(start);
}

async function until(condition: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function readValues(t: TestContext, topic: string, count: number): Promise<string[]> {
  const consumer = new Consumer<string, string>({
    brokers: [broker.bootstrap],
    valueDeserializer: "string",
    fetchMaxWaitMs: 50,
    retry: FAST_RETRY,
  });
  t.after(() => consumer.close().catch(() => undefined));
  await consumer.assign([{ topic, partition: 0, offset: 0 }]);
  const values: string[] = [];
  const deadline = Date.now() + 20_000;
  while (values.length < count && Date.now() < deadline) {
    for (const message of await consumer.poll({ timeoutMs: 1000 })) values.push(message.value as string);
  }
  return values;
}

describe("broker.faults", () => {
  // Each test starts without faults, whatever an earlier failing test left behind.
  beforeEach(() => broker.faults.clear());

  it("fails the next N requests of an API with a retriable error; the producer retries and succeeds", async (t) => {
    const topic = topicName();
    const producer = producerFor(t);
    await producer.send({ topic, messages: [{ value: "first" }] });
    const injected = faultsFromNow();

    broker.faults.failNext("Produce", { times: 2, error: "NOT_LEADER_OR_FOLLOWER" });
    const [sent] = await producer.send({ topic, messages: [{ value: "second" }] });

    assert.equal(sent?.offset, 1);
    assert.deepEqual(
      injected().map((f) => [f.api, f.kind, f.error]),
      [
        ["Produce", "error", "NOT_LEADER_OR_FOLLOWER"],
        ["Produce", "error", "NOT_LEADER_OR_FOLLOWER"],
      ],
    );
    assert.deepEqual(await readValues(t, topic, 2), ["first", "second"]);
  });

  it("surfaces a non-retriable error as a BrookError naming the Kafka code (API and error given as numbers)", async (t) => {
    const producer = producerFor(t);
    broker.faults.failNext(0, { error: 29 });
    await assert.rejects(producer.send({ topic: topicName(), messages: [{ value: "x" }] }), (error: unknown) => {
      assert.ok(error instanceof BrookError, `a BrookError, not ${error}`);
      assert.equal(error.kafkaName, "TOPIC_AUTHORIZATION_FAILED");
      assert.equal(error.kafkaCode, 29);
      assert.equal(error.retriable, false);
      return true;
    });
  });

  it("fails Fetch per partition; the consumer retries and still reads the message", async (t) => {
    const topic = topicName();
    await producerFor(t).send({ topic, messages: [{ value: "fetched" }] });
    const injected = faultsFromNow();
    broker.faults.failNext("Fetch", { times: 2, error: "NOT_LEADER_OR_FOLLOWER" });

    assert.deepEqual(await readValues(t, topic, 1), ["fetched"]);
    assert.equal(injected().filter((f) => f.api === "Fetch" && f.kind === "error").length, 2);
  });

  it("puts the error in each topic an admin request names (CreateTopics) and in each partition (ListOffsets)", async (t) => {
    const admin = new Admin({ brokers: [broker.bootstrap], retry: FAST_RETRY });
    t.after(() => admin.close());
    const topic = topicName();
    broker.faults.failNext("CreateTopics", { error: "POLICY_VIOLATION" });
    await assert.rejects(admin.createTopics({ topics: [{ topic, numPartitions: 2 }] }), {
      name: "BrookError",
      kafkaName: "POLICY_VIOLATION",
    });
    assert.equal((await admin.listTopics()).includes(topic), false, "the failed request created nothing");

    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] });
    const injected = faultsFromNow();
    broker.faults.failNext("ListOffsets", { times: 2, error: "LEADER_NOT_AVAILABLE" });
    const offsets = await admin.listOffsets({ topic, at: "latest" });
    assert.deepEqual(
      offsets.map((o) => [o.partition, o.offset]),
      [
        [0, 0],
        [1, 0],
      ],
    );
    assert.equal(injected().filter((f) => f.api === "ListOffsets" && f.kind === "error").length, 2);
  });

  it("delays the responses of one API by at least the given time", async (t) => {
    const topic = topicName();
    const producer = producerFor(t);
    await producer.send({ topic, messages: [{ value: "warm-up" }] });
    const injected = faultsFromNow();
    broker.faults.delay("Produce", { ms: 300, times: 1 });

    const started = performance.now();
    await producer.send({ topic, messages: [{ value: "slow" }] });
    const elapsed = performance.now() - started;

    assert.ok(elapsed >= 300 - TIMER_SLACK_MS, `the send took ${elapsed} ms`);
    assert.deepEqual(
      injected().map((f) => [f.api, f.kind, f.ms]),
      [["Produce", "delay", 300]],
    );
  });

  it("delays every API when no API is named", async (t) => {
    const admin = new Admin({ brokers: [broker.bootstrap], retry: FAST_RETRY });
    t.after(() => admin.close());
    await admin.listTopics();
    broker.faults.delay({ ms: 200, times: 1 });

    const started = performance.now();
    await admin.listTopics();
    const elapsed = performance.now() - started;

    assert.ok(elapsed >= 200 - TIMER_SLACK_MS, `listTopics took ${elapsed} ms`);
  });

  it("clear() sends the responses being delayed at once", async (t) => {
    const topic = topicName();
    const producer = producerFor(t);
    await producer.send({ topic, messages: [{ value: "warm-up" }] });
    const injected = faultsFromNow();
    broker.faults.delay("Produce", { ms: 600_000 });

    const sending = producer.send({ topic, messages: [{ value: "held" }] });
    await until(() => injected().length === 1, "the Produce to be held back");
    broker.faults.clear();

    const [sent] = await sending;
    assert.equal(sent?.offset, 1);
  });

  it("drops every client connection; the producer reconnects for its next send", async (t) => {
    const topic = topicName();
    const producer = producerFor(t);
    await producer.send({ topic, messages: [{ value: "before" }] });

    const dropped = broker.faults.dropConnections();
    const [sent] = await producer.send({ topic, messages: [{ value: "after" }] });

    assert.ok(dropped >= 1, `dropped ${dropped} connections`);
    assert.equal(sent?.offset, 1);
    assert.deepEqual(await readValues(t, topic, 2), ["before", "after"]);
  });

  it("closes the connection of the next Produce without answering; the retry on a new connection succeeds once", async (t) => {
    const topic = topicName();
    const producer = producerFor(t);
    await producer.send({ topic, messages: [{ value: "before" }] });
    const injected = faultsFromNow();
    broker.faults.dropNext("Produce");

    const [sent] = await producer.send({ topic, messages: [{ value: "after" }] });

    assert.equal(sent?.offset, 1);
    assert.deepEqual(
      injected().map((f) => [f.api, f.kind]),
      [["Produce", "drop"]],
    );
    assert.deepEqual(await readValues(t, topic, 2), ["before", "after"]);
  });

  it("clear() removes the faults not used up yet", async (t) => {
    const topic = topicName();
    const producer = producerFor(t);
    broker.faults.failNext("Produce", { times: 3, error: "TOPIC_AUTHORIZATION_FAILED" });
    broker.faults.dropNext("Produce", { times: 3 });
    broker.faults.delay({ ms: 60_000 });
    broker.faults.clear();
    const injected = faultsFromNow();

    const [sent] = await producer.send({ topic, messages: [{ value: "clean" }] });

    assert.equal(sent?.offset, 0);
    assert.deepEqual(injected(), []);
  });

  it("lets kafkajs retry a retriable Produce error to success", async () => {
    const topic = topicName();
    const kafka = new Kafka({ brokers: [broker.bootstrap], clientId: "faults-test", logLevel: logLevel.NOTHING });
    const producer = kafka.producer({ retry: { initialRetryTime: 10, retries: 5 } });
    await producer.connect();
    try {
      await producer.send({ topic, messages: [{ value: "warm-up" }] });
      const injected = faultsFromNow();
      broker.faults.failNext("Produce", { times: 2, error: "LEADER_NOT_AVAILABLE" });

      const [result] = await producer.send({ topic, messages: [{ value: "kafkajs" }] });

      assert.equal(result?.errorCode, 0);
      assert.equal(result?.baseOffset, "1");
      assert.equal(injected().filter((f) => f.kind === "error").length, 2);
    } finally {
      await producer.disconnect();
    }
  });

  it("rejects unknown APIs, unknown errors and bad counts with a RangeError", () => {
    assert.throws(() => broker.faults.failNext("Prodce" as never, { error: "NOT_LEADER_OR_FOLLOWER" }), RangeError);
    assert.throws(() => broker.faults.failNext("Produce", { error: "NOT_AN_ERROR" as never }), RangeError);
    assert.throws(() => broker.faults.failNext("Produce", { error: 0 }), RangeError);
    assert.throws(() => broker.faults.failNext("Produce", { error: 6, times: 0 }), RangeError);
    assert.throws(() => broker.faults.delay("Fetch", { ms: -1 }), RangeError);
    assert.throws(() => broker.faults.dropNext(999), RangeError);
  });
});
