// Failures must end in a typed BrookError, in bounded time, and never as an unhandled rejection:
// every scenario here runs with a listener that records unhandled rejections.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Admin } from "../../src/client/admin.js";
import { Cluster } from "../../src/client/cluster.js";
import { BrookError } from "../../src/client/errors.js";
import { Producer } from "../../src/client/producer.js";
import { API_CODECS } from "../../src/protocol/generated/index.js";
import { startBroker, type TestBroker } from "../../src/testing/index.js";
import { startProxiedBroker } from "./helpers/kafka-proxy.js";

const QUICK = { timeoutMs: 400, initialDelayMs: 10, maxDelayMs: 50 };

describe("bad input and failing brokers", () => {
  const unhandled: unknown[] = [];
  const record = (reason: unknown) => unhandled.push(reason);
  let broker: TestBroker;

  before(async () => {
    process.on("unhandledRejection", record);
    broker = await startBroker({ autoCreateTopics: false });
  });
  after(async () => {
    await broker.stop();
    // Let rejections of the last scenarios surface before checking.
    await new Promise((resolve) => setTimeout(resolve, 50));
    process.off("unhandledRejection", record);
    assert.deepEqual(unhandled, [], "no unhandled rejection");
  });

  async function rejectsWithin(promise: Promise<unknown>, ms: number, check: (error: BrookError) => void) {
    const started = Date.now();
    const error = await promise.then(
      () => assert.fail("expected a rejection"),
      (e: unknown) => e,
    );
    assert.ok(error instanceof BrookError, `a BrookError, not ${error}`);
    check(error);
    assert.ok(Date.now() - started < ms, `rejected after ${Date.now() - started} ms`);
  }

  it("unreachable brokers: producer, admin and a producer closed while it still holds messages", async () => {
    const producer = new Producer({ brokers: ["127.0.0.1:1"], retry: QUICK, deliveryTimeoutMs: 400 });
    await rejectsWithin(producer.send({ topic: "t", messages: [{ value: "x" }] }), 2000, (e) =>
      assert.equal(e.code, "BROOK_CONNECTION_FAILED"),
    );
    await producer.close();
    const admin = new Admin({ brokers: ["127.0.0.1:1"], retry: QUICK });
    await rejectsWithin(admin.listTopics(), 2000, (e) =>
      assert.match(e.message, /could not connect to any of 127\.0\.0\.1:1/),
    );
    await rejectsWithin(admin.createTopics({ topics: [{ topic: "t" }] }), 2000, (e) =>
      assert.equal(e.code, "BROOK_CONNECTION_FAILED"),
    );
    await admin.close();
  });

  it("a broker that closes every connection after the handshake", async (t) => {
    const gateway = await startProxiedBroker({
      onRequest: (info) => (info.apiKey === API_CODECS.ApiVersions.apiKey ? undefined : "close"),
    });
    t.after(() => gateway.stop());
    const producer = new Producer({ brokers: [gateway.bootstrap], retry: QUICK, maxBlockMs: 500 });
    await rejectsWithin(producer.send({ topic: "t", messages: [{ value: "x" }] }), 2000, (e) =>
      assert.match(e.code, /^BROOK_CONNECTION_(CLOSED|FAILED)$/),
    );
    await producer.close();
  });

  it("a broker that stops answering produce requests", async (t) => {
    const gateway = await startProxiedBroker({
      onRequest: (info) => (info.apiKey === API_CODECS.Produce.apiKey ? "drop" : undefined),
    });
    t.after(() => gateway.stop());
    const producer = new Producer({
      brokers: [gateway.bootstrap],
      requestTimeoutMs: 200,
      deliveryTimeoutMs: 700,
      retry: QUICK,
    });
    await rejectsWithin(producer.send({ topic: "t", messages: [{ value: "x", partition: 0 }] }), 3000, (e) => {
      assert.equal(e.code, "BROOK_TIMEOUT");
      assert.match(e.message, /got no response within 200 ms/);
    });
    await producer.close();
  });

  it("a missing topic, a missing partition, an oversized message", async () => {
    const admin = new Admin({ brokers: [broker.bootstrap], retry: QUICK });
    await admin.createTopics({
      topics: [{ topic: "small", numPartitions: 1, configs: { "max.message.bytes": "2000" } }],
    });
    const producer = new Producer({ brokers: [broker.bootstrap], retry: QUICK });
    await rejectsWithin(producer.send({ topic: "absent", messages: [{ value: "x" }] }), 2000, (e) =>
      assert.equal(e.message, "topic 'absent' does not exist"),
    );
    await rejectsWithin(producer.send({ topic: "small", messages: [{ value: "x", partition: 1 }] }), 1000, (e) =>
      assert.equal(e.code, "BROOK_UNKNOWN_PARTITION"),
    );
    await rejectsWithin(producer.send({ topic: "small", messages: [{ value: "x".repeat(10_000) }] }), 1000, (e) =>
      assert.equal(e.code, "MESSAGE_TOO_LARGE"),
    );
    await rejectsWithin(admin.describeTopics(["absent"]), 2000, (e) => assert.equal(e.code, "BROOK_UNKNOWN_TOPIC"));
    await producer.close();
    await admin.close();
  });

  it("invalid options and calls after close", async () => {
    assert.throws(() => new Producer({ brokers: "nohost" }), {
      code: "BROOK_INVALID_OPTION",
      message: /not "host:port"/,
    });
    assert.throws(() => new Admin({ brokers: [] }), { code: "BROOK_INVALID_OPTION" });
    assert.throws(() => new Producer({ brokers: ["a:1"], lingerMs: Number.NaN }), {
      code: "BROOK_INVALID_OPTION",
      message: "lingerMs must be an integer ≥ 0, not null",
    });
    const cluster = new Cluster({ brokers: [broker.bootstrap] });
    await cluster.close();
    await assert.rejects(cluster.findCoordinator("g"), { code: "BROOK_CLOSED" });
    const admin = new Admin({ brokers: [broker.bootstrap] });
    await admin.close();
    await assert.rejects(admin.listTopics(), { code: "BROOK_CLOSED" });
  });

  it("a cluster closed while a request is in flight rejects it, without retrying", async (t) => {
    const gateway = await startProxiedBroker({
      onRequest: (info) => (info.apiKey === API_CODECS.Metadata.apiKey && info.connection > 0 ? "drop" : undefined),
    });
    t.after(() => gateway.stop());
    const cluster = new Cluster({ brokers: [gateway.bootstrap], retry: { timeoutMs: 10_000 } });
    await cluster.connect();
    gateway.proxy.cutAll();
    const pending = cluster.retry(() => cluster.refreshMetadata());
    await new Promise((resolve) => setTimeout(resolve, 50));
    await cluster.close();
    await rejectsWithin(pending, 1000, (e) => assert.match(e.code, /^BROOK_(CONNECTION_CLOSED|CLOSED)$/));
  });
});
