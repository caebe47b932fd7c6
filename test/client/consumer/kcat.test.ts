// Messages produced by kcat (librdkafka) read by brook's consumer: the same keys, values, headers,
// partitions, offsets and timestamps that kcat itself reads back, for every compression codec.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Consumer } from "../../../src/client/consumer.js";
import { type BrokerProcess, startBrokerProcess } from "../../helpers/broker-process.js";
import { type Compression, hasKcat, kcatConsume, kcatProduce } from "../../helpers/interop-kcat.js";
import { assertConsumed, type ConsumedMessage, makeMessages, partitionByKey } from "../../helpers/interop-messages.js";
import { skipUnless } from "../../helpers/requirements.js";
import { consume, uniqueName } from "./helpers.js";

const PARTITIONS = 4;
const COUNT = 300;

describe("Consumer reading what kcat produced", () => {
  let broker: BrokerProcess;
  const available = hasKcat();

  before(async () => {
    if (available)
      broker = await startBrokerProcess({ args: ["--memory", "--default-partitions", String(PARTITIONS)] });
  });
  after(async () => {
    await broker?.destroy();
  });

  for (const compression of [undefined, "gzip", "snappy", "lz4", "zstd"] as (Compression | undefined)[]) {
    it(`reads kcat's messages (${compression ?? "uncompressed"}) as kcat reads them`, async (t) => {
      if (!skipUnless(t, available, "kcat")) return;
      const topic = uniqueName(`kcat-${compression ?? "none"}`);
      const messages = makeMessages(COUNT, {
        prefix: topic,
        headers: () => [
          ["source", "kcat"],
          ["codec", compression ?? "none"],
        ],
      });
      await kcatProduce(broker.bootstrap, topic, messages, { compression });

      const consumer = new Consumer<string | null, string | null>({
        brokers: [broker.bootstrap],
        groupId: uniqueName("group"),
        autoOffsetReset: "earliest",
        keyDeserializer: "string",
        valueDeserializer: "string",
      });
      try {
        await consumer.subscribe({ topics: [topic] });
        const read: ConsumedMessage[] = (await consume(consumer, COUNT)).map((m) => ({
          partition: m.partition,
          offset: m.offset,
          timestamp: m.timestamp,
          key: m.key,
          value: m.value,
          headers: m.headers.map((h) => [h.key, h.value?.toString() ?? ""] as [string, string]),
        }));
        // Where Kafka's partitioner puts each key, in order, with every header.
        assertConsumed(read, partitionByKey(messages, PARTITIONS));
        // And exactly what librdkafka itself reads back, timestamps included.
        const byPosition = (a: ConsumedMessage, b: ConsumedMessage) => a.partition - b.partition || a.offset - b.offset;
        assert.deepEqual(read.sort(byPosition), (await kcatConsume(broker.bootstrap, topic)).sort(byPosition));
      } finally {
        await consumer.close();
      }
    });
  }
});
