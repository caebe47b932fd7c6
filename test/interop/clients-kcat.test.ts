// kcat (librdkafka 2.0.2) against a real brook process: metadata, keyed produce and consume with
// headers, every compression codec, and consuming from an offset or a timestamp.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type BrokerProcess, startBrokerProcess } from "../helpers/broker-process.js";
import {
  type Compression,
  hasKcat,
  kcatConsume,
  kcatMetadata,
  kcatOffsetForTime,
  kcatProduce,
} from "../helpers/interop-kcat.js";
import {
  assertConsumed,
  type ConsumedMessage,
  type HeaderPair,
  makeMessages,
  murmur2,
  partitionByKey,
} from "../helpers/interop-messages.js";
import { readSegmentBatches } from "../helpers/interop-segments.js";
import { skipUnless } from "../helpers/requirements.js";

const PARTITIONS = 3;
const MESSAGES = 10_000;
const CODEC_IDS: Record<Compression, number> = { gzip: 1, snappy: 2, lz4: 3, zstd: 4 };

describe("kcat against a brook process", { timeout: 60_000 }, () => {
  let broker: BrokerProcess;

  before(async () => {
    // Topics are auto-created on produce, with the partition count the tests need.
    broker = await startBrokerProcess({ args: ["--default-partitions", String(PARTITIONS)] });
  });

  after(async () => {
    await broker?.destroy();
  });

  test("the partition model agrees with Kafka's murmur2 test vectors", () => {
    const vectors: [string, number][] = [
      ["21", -973932308],
      ["foobar", -790332482],
      ["abc", 479470107],
      ["kafka", 0xd067cf64 | 0],
      ["", 275646681],
    ];
    for (const [key, hash] of vectors) assert.equal(murmur2(Buffer.from(key)), hash, `murmur2(${JSON.stringify(key)})`);
  });

  test("kcat -L sees the broker as controller and leader of every partition", async (t) => {
    if (!skipUnless(t, hasKcat(), "kcat")) return;
    const topic = "kcat-metadata";
    await kcatProduce(broker.bootstrap, topic, makeMessages(1, { prefix: topic }));

    const metadata = await kcatMetadata(broker.bootstrap);
    assert.equal(metadata.brokers.length, 1);
    const [self] = metadata.brokers;
    assert.equal(self!.name, broker.bootstrap, "the advertised address is the one clients connect to");
    const listed = metadata.topics.find((entry) => entry.topic === topic);
    assert.ok(listed, `${topic} is listed among all topics`);
    assert.equal(listed.error, undefined);
    assert.deepEqual(
      listed.partitions.map((p) => p.partition).sort(),
      Array.from({ length: PARTITIONS }, (_, i) => i),
    );
    for (const partition of listed.partitions) {
      assert.equal(partition.leader, self!.id);
      assert.deepEqual(partition.replicas, [{ id: self!.id }]);
      assert.deepEqual(partition.isrs, [{ id: self!.id }]);
    }

    // kcat -L runs a producer, which asks for auto-creation unless told not to.
    const unknown = await kcatMetadata(broker.bootstrap, "kcat-metadata-new", { "allow.auto.create.topics": "false" });
    assert.equal(unknown.topics.length, 1);
    assert.match(unknown.topics[0]!.error ?? "", /unknown topic/i);
    const created = await kcatMetadata(broker.bootstrap, "kcat-metadata-new");
    assert.equal(created.topics[0]!.error, undefined);
    assert.equal(created.topics[0]!.partitions.length, PARTITIONS);
  });

  for (const compression of [undefined, "gzip", "snappy", "lz4", "zstd"] as const) {
    const label = compression ?? "no compression";
    test(`kcat produces and consumes ${MESSAGES} keyed messages with headers (${label})`, async (t) => {
      if (!skipUnless(t, hasKcat(), "kcat")) return;
      const topic = `kcat-${compression ?? "none"}`;
      const headers: HeaderPair[] = [
        ["source", "kcat"],
        ["codec", label],
      ];
      const messages = makeMessages(MESSAGES, { prefix: topic, headers: () => headers });
      const expected = partitionByKey(messages, PARTITIONS);

      await kcatProduce(broker.bootstrap, topic, messages, { compression });
      assertConsumed(await kcatConsume(broker.bootstrap, topic), expected);

      // librdkafka silently stops compressing when the broker's Produce versions do not suit it:
      // the stored batches show what really went over the wire. It also sends a batch as it is
      // when compression would not make it smaller (a message or two), so a few may be plain.
      const codec = compression ? CODEC_IDS[compression] : 0;
      let inCodec = 0;
      for (let partition = 0; partition < PARTITIONS; partition++) {
        const batches = await readSegmentBatches(broker.dataDir, topic, partition);
        assert.equal(
          batches.reduce((n, batch) => n + batch.records.length, 0),
          expected[partition]!.length,
        );
        for (const batch of batches) {
          assert.ok(batch.codec === codec || batch.codec === 0, `codec ${batch.codec} of batch ${batch.baseOffset}`);
          if (batch.codec === codec) inCodec += batch.records.length;
        }
      }
      assert.ok(inCodec >= MESSAGES * 0.99, `${inCodec} of ${MESSAGES} messages were stored in codec ${codec}`);
    });
  }

  describe("consuming from a position", () => {
    const topic = "kcat-positions";
    // Two kcat runs, so that the second run's messages are stamped later than all of the first's.
    const firstRun = makeMessages(1500, { prefix: `${topic}-a` });
    const secondRun = makeMessages(1500, { prefix: `${topic}-b` });
    const expected = partitionByKey([...firstRun, ...secondRun], PARTITIONS);
    let stored: ConsumedMessage[] = [];

    before(async () => {
      if (!hasKcat()) return;
      await kcatProduce(broker.bootstrap, topic, firstRun);
      await kcatProduce(broker.bootstrap, topic, secondRun);
      stored = await kcatConsume(broker.bootstrap, topic);
      assertConsumed(stored, expected);
    });

    test("-o <offset> starts every partition at that offset", async (t) => {
      if (!skipUnless(t, hasKcat(), "kcat")) return;
      const start = 100;
      const consumed = await kcatConsume(broker.bootstrap, topic, { offset: String(start) });
      assertConsumed(
        consumed,
        expected.map((log) => log.slice(start)),
        expected.map(() => start),
      );
    });

    test("-o -<n> reads the last n messages of one partition", async (t) => {
      if (!skipUnless(t, hasKcat(), "kcat")) return;
      const partition = 2;
      const log = expected[partition]!;
      const consumed = await kcatConsume(broker.bootstrap, topic, { offset: "-5", partition });
      const onlyThat = expected.map((l, p) => (p === partition ? l.slice(-5) : []));
      assertConsumed(
        consumed,
        onlyThat,
        expected.map(() => log.length - 5),
      );
    });

    test("-o s@<timestamp> starts each partition at its first message stamped at or after it", async (t) => {
      if (!skipUnless(t, hasKcat(), "kcat")) return;
      const secondRunKeys = new Set(secondRun.map((m) => m.key));
      const secondRunStart = Math.min(...stored.filter((m) => secondRunKeys.has(m.key)).map((m) => m.timestamp!));
      const firstRunEnd = Math.max(...stored.filter((m) => !secondRunKeys.has(m.key)).map((m) => m.timestamp!));
      assert.ok(firstRunEnd < secondRunStart, "the second kcat run stamps its messages later");

      const firstOffsets = expected.map((log) => log.findIndex((m) => secondRunKeys.has(m.key)));
      assert.ok(
        firstOffsets.every((offset) => offset > 0),
        "every partition has messages before the timestamp and after",
      );
      const consumed = await kcatConsume(broker.bootstrap, topic, { offset: `s@${secondRunStart}` });
      assertConsumed(
        consumed,
        expected.map((log, p) => log.slice(firstOffsets[p])),
        firstOffsets,
      );
    });

    test("kcat -Q finds the first offset at or after a timestamp, to the record", async (t) => {
      if (!skipUnless(t, hasKcat(), "kcat")) return;
      const timestamps = [...new Set(stored.map((m) => m.timestamp!))].sort((a, b) => a - b);
      // The oldest, the newest, one in between and one past the end (answered with -1).
      const probes = [timestamps[0]!, timestamps[Math.floor(timestamps.length / 2)]!, timestamps.at(-1)!];
      probes.push(probes[2]! + 1);
      for (const timestamp of probes) {
        for (let partition = 0; partition < PARTITIONS; partition++) {
          const inPartition = stored.filter((m) => m.partition === partition);
          const first = inPartition.find((m) => m.timestamp! >= timestamp);
          assert.equal(
            await kcatOffsetForTime(broker.bootstrap, topic, partition, timestamp),
            first?.offset ?? -1,
            `partition ${partition}, timestamp ${timestamp}`,
          );
        }
      }
    });
  });
});
