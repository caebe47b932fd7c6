import assert from "node:assert/strict";
import { connect } from "node:net";
import { after, before, describe, it } from "node:test";
import type { Connection } from "../../src/client/connection.js";
import { ErrorCode } from "../../src/protocol/errors.js";
import { API_CODECS } from "../../src/protocol/generated/index.js";
import { decodeRecordBatches } from "../../src/protocol/records/decode-record-batches.js";
import { startBroker, type TestBroker } from "../../src/testing/index.js";
import { batchOf, connectTo, createTopic, fetchOnce, produce } from "../helpers/broker-client.js";

const recordsOf = async (records: Buffer | null) =>
  records ? (await decodeRecordBatches(records)).flatMap((b) => b.records) : [];

for (const storage of ["memory", "disk"] as const) {
  describe(`broker (${storage} storage)`, () => {
    let broker: TestBroker;
    let client: Connection;

    before(async () => {
      broker = await startBroker({ storage });
      client = await connectTo(broker);
    });
    after(async () => {
      await client.close();
      await broker.stop();
    });

    it("advertises every API it registers, with Produce from version 0", async () => {
      const response = await client.send(API_CODECS.ApiVersions, 3, {
        clientSoftwareName: "brook-test",
        clientSoftwareVersion: "1.0",
      });
      assert.equal(response.errorCode, ErrorCode.NONE);
      const produceRange = response.apiKeys.find((k) => k.apiKey === 0);
      assert.deepEqual(produceRange, { apiKey: 0, minVersion: 0, maxVersion: 9 });
      assert.deepEqual(
        response.apiKeys.find((k) => k.apiKey === 1),
        { apiKey: 1, minVersion: 0, maxVersion: 12 },
      );
    });

    it("answers an ApiVersions newer than it knows with a v0 body and UNSUPPORTED_VERSION", async () => {
      const socket = connect({ host: broker.host, port: broker.port });
      await new Promise((resolve) => socket.once("connect", resolve));
      // ApiVersions v9, header v2: key 18, version 9, correlation 7, client id "x", no tags, empty body tags.
      const payload = Buffer.from([0, 18, 0, 9, 0, 0, 0, 7, 0, 1, 0x78, 0, 0]);
      const frame = Buffer.concat([Buffer.from([0, 0, 0, payload.length]), payload]);
      socket.write(frame);
      const reply: Buffer = await new Promise((resolve) => socket.once("data", resolve));
      socket.destroy();
      assert.equal(reply.readInt32BE(4), 7, "correlation id");
      assert.equal(reply.readInt16BE(8), ErrorCode.UNSUPPORTED_VERSION);
      assert.equal(reply.readInt32BE(10), 1, "one row: ApiVersions itself");
      assert.deepEqual([reply.readInt16BE(14), reply.readInt16BE(16), reply.readInt16BE(18)], [18, 0, 3]);
    });

    it("closes only the connection that sends an unsupported version of another API", async () => {
      const socket = connect({ host: broker.host, port: broker.port });
      await new Promise((resolve) => socket.once("connect", resolve));
      const payload = Buffer.from([0, 3, 0, 99, 0, 0, 0, 1, 0, 0]); // Metadata v99
      socket.write(Buffer.concat([Buffer.from([0, 0, 0, payload.length]), payload]));
      await new Promise((resolve) => socket.once("close", resolve));
      const metadata = await client.send(API_CODECS.Metadata, 12, {
        topics: [],
        allowAutoTopicCreation: false,
        includeTopicAuthorizedOperations: false,
      });
      assert.equal(metadata.brokers.length, 1, "the other connection still works");
    });

    it("creates topics on first Metadata when allowed, with a stable topic id", async () => {
      const metadata = await client.send(API_CODECS.Metadata, 12, {
        topics: [{ topicId: "00000000-0000-0000-0000-000000000000", name: "auto-created" }],
        allowAutoTopicCreation: true,
        includeTopicAuthorizedOperations: false,
      });
      const topic = metadata.topics[0]!;
      assert.equal(topic.errorCode, ErrorCode.NONE);
      assert.equal(topic.partitions.length, 1);
      assert.notEqual(topic.topicId, "00000000-0000-0000-0000-000000000000");
      const again = await client.send(API_CODECS.Metadata, 12, {
        topics: [{ topicId: "00000000-0000-0000-0000-000000000000", name: "auto-created" }],
        allowAutoTopicCreation: false,
        includeTopicAuthorizedOperations: false,
      });
      assert.equal(again.topics[0]!.topicId, topic.topicId);
      const unknown = await client.send(API_CODECS.Metadata, 12, {
        topics: [{ topicId: "00000000-0000-0000-0000-000000000000", name: "never-made" }],
        allowAutoTopicCreation: false,
        includeTopicAuthorizedOperations: false,
      });
      assert.equal(unknown.topics[0]!.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    });

    it("validates CreateTopics: existing, bad partitions, bad replication factor, bad config, bad name", async () => {
      assert.equal((await createTopic(client, "orders", 3)).errorCode, ErrorCode.NONE);
      assert.equal((await createTopic(client, "orders", 3)).errorCode, ErrorCode.TOPIC_ALREADY_EXISTS);
      assert.equal((await createTopic(client, "zero", 0)).errorCode, ErrorCode.INVALID_PARTITIONS);
      assert.equal((await createTopic(client, "bad name!", 1)).errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION);
      assert.equal(
        (await createTopic(client, "badcfg", 1, { "retention.ms": "soon" })).errorCode,
        ErrorCode.INVALID_CONFIG,
      );
      const rf = await client.send(API_CODECS.CreateTopics, 7, {
        topics: [{ name: "rf3", numPartitions: 1, replicationFactor: 3, assignments: [], configs: [] }],
        timeoutMs: 1000,
        validateOnly: false,
      });
      assert.equal(rf.topics[0]!.errorCode, ErrorCode.INVALID_REPLICATION_FACTOR);
    });

    it("produces and fetches batches with offsets, keys, values and headers intact", async () => {
      await createTopic(client, "roundtrip", 2);
      const first = await produce(client, "roundtrip", 1, await batchOf(["a", "b", "c"]));
      assert.equal(first.errorCode, ErrorCode.NONE);
      assert.equal(first.baseOffset, 0);
      const second = await produce(client, "roundtrip", 1, await batchOf(["d", "e"], { codec: 1 }));
      assert.equal(second.baseOffset, 3);
      const fetched = await fetchOnce(client, "roundtrip", 1, 0);
      assert.equal(fetched.errorCode, ErrorCode.NONE);
      assert.equal(fetched.highWatermark, 5);
      const records = await recordsOf(fetched.records);
      assert.deepEqual(
        records.map((r) => [r.offset, r.key?.toString(), r.value?.toString(), r.headers[0]?.key]),
        [
          [0, "k0", "a", "h"],
          [1, "k1", "b", "h"],
          [2, "k2", "c", "h"],
          [3, "k0", "d", "h"],
          [4, "k1", "e", "h"],
        ],
      );
      // From the middle of a batch: the whole containing batch comes back.
      const middle = await recordsOf((await fetchOnce(client, "roundtrip", 1, 4)).records);
      assert.deepEqual(
        middle.map((r) => r.offset),
        [3, 4],
      );
    });

    it("answers OFFSET_OUT_OF_RANGE past the end and UNKNOWN_TOPIC_OR_PARTITION for unknown partitions", async () => {
      await createTopic(client, "ranges", 1);
      await produce(client, "ranges", 0, await batchOf(["x"]));
      assert.equal((await fetchOnce(client, "ranges", 0, 5)).errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
      assert.equal((await fetchOnce(client, "ranges", 3, 0)).errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
      const produced = await produce(client, "no-such-topic", 0, await batchOf(["x"]));
      assert.equal(produced.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    });

    it("wakes a long-poll fetch as soon as data is appended, and answers at max wait with nothing", async () => {
      await createTopic(client, "longpoll", 1);
      const started = Date.now();
      const empty = await fetchOnce(client, "longpoll", 0, 0, { maxWaitMs: 200 });
      const waited = Date.now() - started;
      assert.equal(empty.records?.length ?? 0, 0);
      assert.ok(waited >= 180, `waited ${waited} ms`);

      const other = await connectTo(broker);
      const polling = fetchOnce(other, "longpoll", 0, 0, { maxWaitMs: 10_000 });
      await new Promise((resolve) => setTimeout(resolve, 50));
      const before = Date.now();
      await produce(client, "longpoll", 0, await batchOf(["wake"]));
      const woken = await polling;
      assert.ok(Date.now() - before < 2000, "answered long before max wait");
      assert.deepEqual(
        (await recordsOf(woken.records)).map((r) => r.value?.toString()),
        ["wake"],
      );
      await other.close();
    });

    it("rejects bad input per partition: invalid acks, corrupt CRC, oversized batch", async () => {
      await createTopic(client, "strict", 1, { "max.message.bytes": "2000" });
      const invalidAcks = await produce(client, "strict", 0, await batchOf(["x"]), 9, 2);
      assert.equal(invalidAcks.errorCode, ErrorCode.INVALID_REQUIRED_ACKS);
      const corrupt = await batchOf(["x"]);
      corrupt[corrupt.length - 1] ^= 0xff;
      assert.equal((await produce(client, "strict", 0, corrupt)).errorCode, ErrorCode.CORRUPT_MESSAGE);
      const big = await batchOf(["y".repeat(5000)]);
      assert.equal((await produce(client, "strict", 0, big)).errorCode, ErrorCode.MESSAGE_TOO_LARGE);
      const fetched = await fetchOnce(client, "strict", 0, 0);
      assert.equal(fetched.highWatermark, 0, "nothing was stored");
    });

    it("refuses zstd from a Produce version before 7", async () => {
      await createTopic(client, "zstd-old", 1);
      const zstd = await batchOf(["z"], { codec: 4 });
      assert.equal((await produce(client, "zstd-old", 0, zstd, 6)).errorCode, ErrorCode.UNSUPPORTED_COMPRESSION_TYPE);
      assert.equal((await produce(client, "zstd-old", 0, zstd, 7)).errorCode, ErrorCode.NONE);
    });

    it("dedupes a retried idempotent batch and refuses a sequence gap", async () => {
      await createTopic(client, "idempotent", 1);
      const init = await client.send(API_CODECS.InitProducerId, 4, {
        transactionalId: null,
        transactionTimeoutMs: 60000,
        producerId: -1,
        producerEpoch: -1,
      });
      assert.equal(init.errorCode, ErrorCode.NONE);
      const ids = { producerId: init.producerId, producerEpoch: init.producerEpoch };
      const batch0 = await batchOf(["a", "b"], { ...ids, baseSequence: 0 });
      const first = await produce(client, "idempotent", 0, batch0);
      const retry = await produce(
        client,
        "idempotent",
        0,
        Buffer.from(await batchOf(["a", "b"], { ...ids, baseSequence: 0 })),
      );
      assert.equal(first.baseOffset, 0);
      assert.equal(retry.errorCode, ErrorCode.NONE);
      assert.equal(retry.baseOffset, 0, "the retry gets the original offset");
      const gap = await produce(client, "idempotent", 0, await batchOf(["c"], { ...ids, baseSequence: 7 }));
      assert.equal(gap.errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
      const next = await produce(client, "idempotent", 0, await batchOf(["c"], { ...ids, baseSequence: 2 }));
      assert.equal(next.baseOffset, 2);
      assert.equal((await fetchOnce(client, "idempotent", 0, 0)).highWatermark, 3, "no duplicate was stored");
    });

    it("lists offsets: earliest, latest, by timestamp to the record, max timestamp; DeleteRecords moves the start", async () => {
      await createTopic(client, "times", 1);
      await produce(client, "times", 0, await batchOf(["t1000"], { timestamp: 1000 }));
      await produce(client, "times", 0, await batchOf(["t2000", "t2000b"], { timestamp: 2000 }));
      await produce(client, "times", 0, await batchOf(["t3000"], { timestamp: 3000 }));
      const list = async (timestamp: number) => {
        const response = await client.send(API_CODECS.ListOffsets, 7, {
          replicaId: -1,
          isolationLevel: 0,
          topics: [
            { name: "times", partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp, maxNumOffsets: 1 }] },
          ],
        });
        return response.topics[0]!.partitions[0]!;
      };
      assert.equal((await list(-2)).offset, 0);
      assert.equal((await list(-1)).offset, 4);
      assert.deepEqual([(await list(1500)).offset, (await list(1500)).timestamp], [1, 2000]);
      assert.equal((await list(9999)).offset, -1);
      assert.deepEqual([(await list(-3)).offset, (await list(-3)).timestamp], [3, 3000]);

      const deleted = await client.send(API_CODECS.DeleteRecords, 2, {
        topics: [{ name: "times", partitions: [{ partitionIndex: 0, offset: 3 }] }],
        timeoutMs: 1000,
      });
      assert.equal(deleted.topics[0]!.partitions[0]!.lowWatermark, 3);
      assert.equal((await list(-2)).offset, 3);
      assert.equal((await fetchOnce(client, "times", 0, 0)).errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
      const tooFar = await client.send(API_CODECS.DeleteRecords, 2, {
        topics: [{ name: "times", partitions: [{ partitionIndex: 0, offset: 99 }] }],
        timeoutMs: 1000,
      });
      assert.equal(tooFar.topics[0]!.partitions[0]!.errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
    });

    it("reports each partition's size in its one log directory (DescribeLogDirs)", async () => {
      await createTopic(client, "sized", 2);
      const batch = await batchOf(["a", "bb", "ccc"]);
      await produce(client, "sized", 1, batch);
      for (const version of [0, 4]) {
        const response = await client.send(API_CODECS.DescribeLogDirs, version, {
          topics: [
            { topic: "sized", partitions: [0, 1, 7] },
            { topic: "no-such-topic", partitions: [0] },
          ],
        });
        assert.equal(response.results.length, 1);
        const [dir] = response.results;
        assert.equal(dir!.errorCode, ErrorCode.NONE);
        assert.equal(dir!.logDir, broker.dataDir ?? "(memory)");
        assert.deepEqual(
          dir!.topics.map((t) => ({
            name: t.name,
            sizes: t.partitions.map((p) => [p.partitionIndex, p.partitionSize]),
          })),
          [
            {
              name: "sized",
              sizes: [
                [0, 0],
                [1, batch.length],
              ],
            },
          ],
          "the partitions asked for that exist, with the bytes stored",
        );
        if (version === 4 && storage === "disk") assert.ok(dir!.usableBytes > 0 && dir!.totalBytes >= dir!.usableBytes);
      }
      const all = await client.send(API_CODECS.DescribeLogDirs, 4, { topics: null });
      assert.ok(
        all.results[0]!.topics.some((t) => t.name === "sized" && t.partitions.length === 2),
        "null: every topic",
      );
    });

    it("describes and alters topic configs, and deletes topics", async () => {
      await createTopic(client, "configured", 1, { "retention.ms": "60000" });
      const describe = async () =>
        (
          await client.send(API_CODECS.DescribeConfigs, 4, {
            resources: [{ resourceType: 2, resourceName: "configured", configurationKeys: null }],
            includeSynonyms: true,
            includeDocumentation: false,
          })
        ).results[0]!;
      const before = await describe();
      assert.equal(before.configs.find((c) => c.name === "retention.ms")?.value, "60000");
      assert.equal(before.configs.find((c) => c.name === "cleanup.policy")?.value, "delete");
      const altered = await client.send(API_CODECS.IncrementalAlterConfigs, 1, {
        resources: [
          {
            resourceType: 2,
            resourceName: "configured",
            configs: [
              { name: "retention.ms", configOperation: 1, value: null },
              { name: "segment.bytes", configOperation: 0, value: "1048576" },
            ],
          },
        ],
        validateOnly: false,
      });
      assert.equal(altered.responses[0]!.errorCode, ErrorCode.NONE);
      const after = await describe();
      assert.equal(after.configs.find((c) => c.name === "retention.ms")?.value, "604800000");
      assert.equal(after.configs.find((c) => c.name === "segment.bytes")?.value, "1048576");
      const bad = await client.send(API_CODECS.AlterConfigs, 2, {
        resources: [{ resourceType: 2, resourceName: "configured", configs: [{ name: "no.such", value: "1" }] }],
        validateOnly: false,
      });
      assert.equal(bad.responses[0]!.errorCode, ErrorCode.INVALID_CONFIG);
      const twice = await client.send(API_CODECS.IncrementalAlterConfigs, 1, {
        resources: [
          {
            resourceType: 2,
            resourceName: "configured",
            configs: [
              { name: "segment.bytes", configOperation: 0, value: "2097152" },
              { name: "segment.bytes", configOperation: 1, value: null },
            ],
          },
        ],
        validateOnly: false,
      });
      assert.equal(twice.responses[0]!.errorCode, ErrorCode.INVALID_REQUEST, "one key twice in one request");
      assert.equal((await describe()).configs.find((c) => c.name === "segment.bytes")?.value, "1048576");

      const deleted = await client.send(API_CODECS.DeleteTopics, 6, {
        topics: [{ name: "configured", topicId: "00000000-0000-0000-0000-000000000000" }],
        topicNames: [],
        timeoutMs: 1000,
      });
      assert.equal(deleted.responses[0]!.errorCode, ErrorCode.NONE);
      assert.equal((await describe()).errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    });
  });
}

describe("broker fetch.max.bytes", () => {
  const CAP = 64 * 1024;
  let broker: TestBroker;
  let client: Connection;

  before(async () => {
    broker = await startBroker({ fetchMaxBytes: CAP });
    client = await connectTo(broker);
  });
  after(async () => {
    await client.close();
    await broker.stop();
  });

  /** One Fetch of every partition of `topic` from offset 0, asking for far more than the cap. */
  const fetchAll = async (topic: string, partitions: number) => {
    const response = await client.send(API_CODECS.Fetch, 12, {
      replicaId: -1,
      maxWaitMs: 0,
      minBytes: 1,
      maxBytes: 50 * 1024 * 1024,
      isolationLevel: 1,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [
        {
          topic,
          partitions: Array.from({ length: partitions }, (_, partition) => ({
            partition,
            currentLeaderEpoch: -1,
            fetchOffset: 0,
            logStartOffset: -1,
            partitionMaxBytes: 1024 * 1024,
          })),
        },
      ],
      forgottenTopicsData: [],
      rackId: "",
    });
    return response.responses[0]!.partitions.map((p) => p.records?.length ?? 0);
  };

  it("caps a response below what the client asks for, with whole batches", async () => {
    await createTopic(client, "capped", 4);
    const batch = await batchOf(["x".repeat(30_000)]);
    for (let partition = 0; partition < 4; partition++) {
      for (let i = 0; i < 3; i++) assert.equal((await produce(client, "capped", partition, batch)).errorCode, 0);
    }
    const sizes = await fetchAll("capped", 4);
    assert.deepEqual(sizes, [2 * batch.length, 0, 0, 0], "two whole batches fit under the cap; nothing more");
  });

  it("still sends a first batch larger than the cap whole (KIP-74), and shows the cap as a broker config", async () => {
    await createTopic(client, "large-batch", 1);
    const batch = await batchOf(["y".repeat(2 * CAP)]);
    assert.equal((await produce(client, "large-batch", 0, batch)).errorCode, 0);
    assert.deepEqual(await fetchAll("large-batch", 1), [batch.length]);

    const described = await client.send(API_CODECS.DescribeConfigs, 4, {
      resources: [{ resourceType: 4, resourceName: "1", configurationKeys: ["fetch.max.bytes"] }],
      includeSynonyms: false,
      includeDocumentation: false,
    });
    assert.deepEqual(
      described.results[0]!.configs.map((c) => [c.name, c.value]),
      [["fetch.max.bytes", String(CAP)]],
    );
  });
});
