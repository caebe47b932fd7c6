import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Consumer, type ConsumerOptions } from "../../../src/client/consumer.js";
import { decodeRequestFrame, decodeResponseFrame, encodeResponsePayload } from "../../../src/protocol/frames.js";
import type { FetchRequest } from "../../../src/protocol/generated/fetch.js";
import { API_CODECS } from "../../../src/protocol/generated/index.js";
import type { FrameInfo } from "../helpers/kafka-proxy.js";
import { type ProxiedBroker, startProxiedBroker } from "../helpers/kafka-proxy.js";
import { consume, deferred, eventually, FAST_RETRY, produce, uniqueName } from "./helpers.js";

/** The Fetch requests a proxy saw, decoded, with how many were in flight at most. */
class FetchLog {
  readonly requests: FetchRequest[] = [];
  inFlight = 0;
  maxInFlight = 0;
  private readonly waiters: { test: (r: FetchRequest) => boolean; resolve: () => void }[] = [];

  request(payload: Buffer): void {
    const { header, body } = decodeRequestFrame(payload);
    const request = API_CODECS.Fetch.decodeRequest(body, header.requestApiVersion);
    this.requests.push(request);
    this.maxInFlight = Math.max(this.maxInFlight, ++this.inFlight);
    for (const waiter of this.waiters.filter((w) => w.test(request))) waiter.resolve();
  }

  response(): void {
    this.inFlight--;
  }

  /** Resolves when a request for which `test` holds is seen; rejects after `timeoutMs`. */
  seen(test: (r: FetchRequest) => boolean, timeoutMs = 5_000): Promise<void> {
    if (this.requests.some(test)) return Promise.resolve();
    const { promise, resolve } = deferred();
    this.waiters.push({ test, resolve });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no such Fetch request in ${timeoutMs} ms`)), timeoutMs);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  }
}

const FETCH = API_CODECS.Fetch.apiKey;

/** A Fetch response with one byte flipped in the middle of every partition's records: CRCs no longer match. */
function corrupted(info: FrameInfo, payload: Buffer): Buffer {
  const { correlationId, body } = decodeResponseFrame(payload, info.apiKey, info.apiVersion);
  const response = API_CODECS.Fetch.decodeResponse(body, info.apiVersion);
  for (const topic of response.responses) {
    for (const partition of topic.partitions) {
      if (!partition.records || partition.records.length === 0) continue;
      const records = Buffer.from(partition.records);
      records[records.length >> 1] ^= 0xff;
      partition.records = records;
    }
  }
  return Buffer.concat(
    encodeResponsePayload(info.apiKey, info.apiVersion, correlationId, (w) =>
      API_CODECS.Fetch.encodeResponse(w, info.apiVersion, response),
    ),
  );
}
const partitionsOf = (request: FetchRequest) =>
  request.topics.flatMap((t) =>
    t.partitions.map((p) => ({ topic: t.topic, partition: p.partition, offset: p.fetchOffset })),
  );

describe("Consumer fetching", () => {
  let gateway: ProxiedBroker;
  let log: FetchLog;
  let corrupting = false;

  before(async () => {
    gateway = await startProxiedBroker(
      {
        onRequest(info, payload) {
          if (info.apiKey === FETCH) log.request(payload);
          return undefined;
        },
        onResponse(info, payload) {
          if (info.apiKey !== FETCH) return undefined;
          log.response();
          return corrupting ? { replace: corrupted(info, payload) } : undefined;
        },
      },
      { defaultPartitions: 3 },
    );
  });
  after(async () => {
    await gateway.stop();
  });

  function consumer(options: Partial<ConsumerOptions> = {}): Consumer {
    log = new FetchLog();
    return new Consumer({ brokers: [gateway.bootstrap], retry: FAST_RETRY, fetchMaxWaitMs: 100, ...options });
  }

  it("asks for read_committed by default, and read_uncommitted when told", async () => {
    const topic = uniqueName("isolation");
    await produce(gateway.bootstrap, topic, [{ value: "x", partition: 0 }]);
    for (const [isolationLevel, expected] of [
      [undefined, 1],
      ["read_uncommitted", 0],
    ] as const) {
      const reader = consumer({ isolationLevel });
      await reader.assign([{ topic, partition: 0, offset: 0 }]);
      await consume(reader, 1);
      assert.ok(log.requests.length > 0);
      assert.ok(log.requests.every((r) => r.isolationLevel === expected));
      await reader.close();
    }
  });

  it("has the next fetch in flight while the application holds the current batch, one Fetch per broker at a time", async () => {
    const topic = uniqueName("pipelined");
    await produce(
      gateway.bootstrap,
      topic,
      Array.from({ length: 200 }, (_, i) => ({ value: Buffer.alloc(100, i), partition: 0 })),
    );
    // Small fetches: the 200 messages take many.
    const reader = consumer({ partitionMaxBytes: 2048 });
    await reader.assign([{ topic, partition: 0, offset: 0 }]);
    const [first] = await reader.poll({ maxMessages: 1 });
    assert.equal(first?.offset, 0);
    // Without pulling again: the fetch after the first one's records is on its way.
    await log.seen((r) => partitionsOf(r).some((p) => p.offset > 0));
    const rest = await consume(reader, 199);
    assert.deepEqual(
      rest.map((m) => m.offset),
      Array.from({ length: 199 }, (_, i) => i + 1),
    );
    assert.equal(log.maxInFlight, 1);
    await reader.close();
  });

  it("reports a corrupt batch as BROOK_CORRUPT_RECORDS at its offset, delivers nothing of it, and goes on once the bytes are sound", async () => {
    const topic = uniqueName("corrupt");
    await produce(gateway.bootstrap, topic, [{ value: "sound", partition: 0 }]);
    await produce(gateway.bootstrap, topic, [{ value: "x".repeat(100), partition: 0 }]);
    const reader = consumer({ retry: { ...FAST_RETRY, maxDelayMs: 20 } });
    await reader.assign([{ topic, partition: 0, offset: 1 }]);
    corrupting = true;
    try {
      await assert.rejects(
        reader.poll({ timeoutMs: 5_000 }),
        (error: Error & { code?: string; partition?: number }) => {
          assert.equal(error.code, "BROOK_CORRUPT_RECORDS");
          assert.equal(error.partition, 0);
          assert.match(error.message, new RegExp(`${topic}-0 at offset 1`));
          return true;
        },
      );
    } finally {
      corrupting = false;
    }
    const [message] = await consume(reader, 1);
    assert.deepEqual([message?.offset, message?.value?.length], [1, 100]);
    await reader.close();
  });

  it("leaves partitions nobody reads out of fetches, while the others keep flowing", async () => {
    const topic = uniqueName("slow");
    for (const partition of [0, 1, 2]) {
      await produce(
        gateway.bootstrap,
        topic,
        Array.from({ length: 50 }, (_, i) => ({ value: Buffer.alloc(200, i), partition })),
      );
    }
    const reader = consumer({ partitionMaxBytes: 2048 });
    await reader.assign([0, 1, 2].map((partition) => ({ topic, partition, offset: 0 })));
    reader.pause([{ topic, partition: 1 }]);
    // The first Fetch may be on its way already (the one allowed in flight); those after it must leave partition 1 out.
    const messages = await consume(reader, 100);
    assert.deepEqual([...new Set(messages.map((m) => m.partition))].sort(), [0, 2]);
    assert.ok(
      log.requests.slice(1).every((r) => partitionsOf(r).every((p) => p.partition !== 1)),
      "the paused partition is never fetched",
    );
    reader.resume([{ topic, partition: 1 }]);
    const resumed = await consume(reader, 50);
    assert.ok(resumed.every((m) => m.partition === 1));
    await eventually(
      () => log.requests.some((r) => partitionsOf(r).some((p) => p.partition === 1)),
      "a fetch of partition 1",
    );
    await reader.close();
  });
});
