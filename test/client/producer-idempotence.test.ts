import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import type { BrookError } from "../../src/client/errors.js";
import { Producer, type ProducerOptions } from "../../src/client/producer.js";
import { ErrorCode } from "../../src/protocol/errors.js";
import { decodeRequestFrame, encodeResponsePayload } from "../../src/protocol/frames.js";
import { API_CODECS } from "../../src/protocol/generated/index.js";
import { type FrameInfo, type KafkaProxyOptions, startProxiedBroker } from "./helpers/kafka-proxy.js";
import { readPartition } from "./helpers/read-back.js";

const PRODUCE = API_CODECS.Produce.apiKey;
const INIT_PRODUCER_ID = API_CODECS.InitProducerId.apiKey;
const FAST_RETRY = { timeoutMs: 5000, initialDelayMs: 10, maxDelayMs: 50 };

async function gatewayFor(t: TestContext, proxyOptions: KafkaProxyOptions) {
  const gateway = await startProxiedBroker(proxyOptions, { defaultPartitions: 1 });
  t.after(() => gateway.stop());
  return gateway;
}

function producerFor(t: TestContext, options: ProducerOptions): Producer {
  const producer = new Producer(options);
  t.after(() => producer.close().catch(() => undefined));
  return producer;
}

/** Answers a Produce request in the broker's place, refusing every partition with `errorCode`. */
function refuseProduce(info: FrameInfo, payload: Buffer, errorCode: number) {
  const request = API_CODECS.Produce.decodeRequest(decodeRequestFrame(payload).body, info.apiVersion);
  const response = {
    responses: request.topicData.map((topic) => ({
      name: topic.name,
      partitionResponses: topic.partitionData.map((p) => ({ index: p.index, errorCode, baseOffset: -1 })),
    })),
  };
  return {
    respond: Buffer.concat(
      encodeResponsePayload(info.apiKey, info.apiVersion, info.correlationId, (w) =>
        API_CODECS.Produce.encodeResponse(w, info.apiVersion, response),
      ),
    ),
  };
}

/** Sends `count` one-message batches to partition 0, all at once, in order (after a first message, "warm-up"). */
async function sendNumbered(producer: Producer, topic: string, count: number) {
  await producer.send({ topic, messages: [{ value: "warm-up", partition: 0 }] });
  const sends = [];
  for (let i = 0; i < count; i++) {
    sends.push(producer.send({ topic, messages: [{ value: `${i}`, partition: 0 }] }));
    // A new batch per message: let the drain take the one before.
    await new Promise((resolve) => setImmediate(resolve));
  }
  return Promise.all(sends);
}

describe("idempotent producer", () => {
  it("stores no duplicate when the connection is cut after the broker took a Produce request", async (t) => {
    let cuts = 0;
    const gateway = await gatewayFor(t, {
      // Cut the 3rd and 7th Produce responses: those requests (and those pipelined after them)
      // were written by the broker, but the producer never hears it.
      onResponse: (info) => {
        if (info.apiKey !== PRODUCE) return undefined;
        cuts++;
        return cuts === 3 || cuts === 7 ? "close" : undefined;
      },
    });
    const producer = producerFor(t, { brokers: [gateway.bootstrap], lingerMs: 0, retry: FAST_RETRY });
    const results = await sendNumbered(producer, "cut", 30);
    const stored = await readPartition(gateway.bootstrap, "cut", 0);
    assert.deepEqual(
      stored.map((r) => r.value?.toString()),
      ["warm-up", ...Array.from({ length: 30 }, (_, i) => `${i}`)],
      "every message once, in order",
    );
    assert.deepEqual(
      results.map(([r]) => r?.offset),
      Array.from({ length: 30 }, (_, i) => i + 1),
    );
    assert.ok(gateway.proxy.requests.filter((r) => r.apiKey === PRODUCE).length > 30, "some requests were retried");
    assert.equal(gateway.proxy.requests.filter((r) => r.apiKey === INIT_PRODUCER_ID).length, 1);
  });

  it("(control) without idempotence the same cut stores a duplicate", async (t) => {
    let cuts = 0;
    const gateway = await gatewayFor(t, {
      onResponse: (info) => (info.apiKey === PRODUCE && ++cuts === 1 ? "close" : undefined),
    });
    const producer = producerFor(t, { brokers: [gateway.bootstrap], acks: 1, retry: FAST_RETRY });
    await producer.send({ topic: "dup", messages: [{ value: "once", partition: 0 }] });
    const stored = await readPartition(gateway.bootstrap, "dup", 0);
    assert.deepEqual(
      stored.map((r) => r.value?.toString()),
      ["once", "once"],
    );
  });

  it("numbers batches per partition from one producer id", async (t) => {
    const gateway = await gatewayFor(t, {});
    const producer = producerFor(t, { brokers: [gateway.bootstrap], lingerMs: 0 });
    await sendNumbered(producer, "sequences", 4);
    await producer.send({
      topic: "sequences",
      messages: [
        { value: "a", partition: 0 },
        { value: "b", partition: 0 },
      ],
    });
    await producer.send({ topic: "sequences", messages: [{ value: "c", partition: 0 }] });
    const stored = await readPartition(gateway.bootstrap, "sequences", 0);
    const batches = [...new Map(stored.map((r) => [r.batch.baseOffset, r.batch])).values()];
    assert.deepEqual(
      batches.map((b) => b.baseSequence),
      [0, 1, 2, 3, 4, 5, 7],
    );
    assert.equal(new Set(batches.map((b) => b.producerId)).size, 1);
    assert.ok((batches[0]?.producerId ?? -1) >= 0);
  });

  it("after UNKNOWN_PRODUCER_ID, bumps the epoch and sends the refused batch again", async (t) => {
    let refused = 0;
    const gateway = await gatewayFor(t, {
      onRequest: (info, payload) =>
        info.apiKey === PRODUCE && ++refused === 2
          ? refuseProduce(info, payload, ErrorCode.UNKNOWN_PRODUCER_ID)
          : undefined,
    });
    const producer = producerFor(t, { brokers: [gateway.bootstrap], retry: FAST_RETRY });
    await producer.send({ topic: "unknown-pid", messages: [{ value: "1", partition: 0 }] });
    const [second] = await producer.send({ topic: "unknown-pid", messages: [{ value: "2", partition: 0 }] });
    assert.equal(second?.offset, 1);
    assert.equal(gateway.proxy.requests.filter((r) => r.apiKey === INIT_PRODUCER_ID).length, 2);
    const stored = await readPartition(gateway.bootstrap, "unknown-pid", 0);
    assert.deepEqual(
      stored.map((r) => [r.value?.toString(), r.batch.producerEpoch, r.batch.baseSequence]),
      [
        ["1", 0, 0],
        ["2", 1, 0],
      ],
    );
  });

  it("bumps the epoch after a numbered batch timed out only once there is something to send", async (t) => {
    let refuseProduce = true;
    const gateway = await gatewayFor(t, {
      onRequest: (info) => (info.apiKey === PRODUCE && refuseProduce ? "close" : undefined),
    });
    const producer = producerFor(t, { brokers: [gateway.bootstrap], deliveryTimeoutMs: 300, retry: FAST_RETRY });
    await assert.rejects(producer.send({ topic: "idle", messages: [{ value: "lost", partition: 0 }] }), {
      code: "BROOK_TIMEOUT",
    });
    const initRequests = () => gateway.proxy.requests.filter((r) => r.apiKey === INIT_PRODUCER_ID).length;
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(initRequests(), 1, "an idle producer sends nothing");
    refuseProduce = false;
    const [stored] = await producer.send({ topic: "idle", messages: [{ value: "next", partition: 0 }] });
    assert.equal(stored?.offset, 0);
    assert.equal(initRequests(), 2, "the new epoch came with the next message");
  });

  it("fails the oldest batch on OUT_OF_ORDER_SEQUENCE_NUMBER with a clear error, then goes on under a new epoch", async (t) => {
    let answered = 0;
    const gateway = await gatewayFor(t, {
      onRequest: (info, payload) =>
        info.apiKey === PRODUCE && ++answered === 2
          ? refuseProduce(info, payload, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER)
          : undefined,
    });
    const producer = producerFor(t, { brokers: [gateway.bootstrap], retry: FAST_RETRY });
    await producer.send({ topic: "gap", messages: [{ value: "1", partition: 0 }] });
    await assert.rejects(
      producer.send({ topic: "gap", messages: [{ value: "2", partition: 0 }] }),
      (error: BrookError) => {
        assert.equal(error.code, "OUT_OF_ORDER_SEQUENCE_NUMBER");
        assert.equal(error.kafkaCode, 45);
        assert.match(error.message, /gap in this producer's sequence numbers .* earlier messages may be lost/);
        return true;
      },
    );
    const [third] = await producer.send({ topic: "gap", messages: [{ value: "3", partition: 0 }] });
    assert.ok((third?.offset ?? -1) >= 1);
    assert.equal(gateway.proxy.requests.filter((r) => r.apiKey === INIT_PRODUCER_ID).length, 2);
  });
});
