// Debian's Python clients against a real brook process: confluent-kafka (librdkafka) and
// kafka-python each produce 10,000 keyed messages with headers across 3 partitions and read
// them back in a consumer group; each then reads what the other wrote.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type BrokerProcess, startBrokerProcess } from "../helpers/broker-process.js";
import { assertConsumed, type Message, makeMessages, partitionByKey } from "../helpers/interop-messages.js";
import {
  type Acknowledgement,
  CONFLUENT_KAFKA,
  hasPythonModule,
  KAFKA_PYTHON,
  type PythonClient,
  pythonConsume,
  pythonProduce,
} from "../helpers/interop-python.js";
import { skipUnless } from "../helpers/requirements.js";

const PARTITIONS = 3;
const MESSAGES = 10_000;

/** Each acknowledgement names the partition the key maps to and the offset the message holds there. */
function assertAcknowledged(acknowledgements: Acknowledgement[], expected: Message[][]): void {
  assert.equal(acknowledgements.length, expected.flat().length, "one acknowledgement per message");
  const placeOf = new Map<string | null, { partition: number; offset: number }>();
  expected.forEach((log, partition) => {
    log.forEach((m, offset) => {
      placeOf.set(m.key, { partition, offset });
    });
  });
  for (const ack of acknowledgements) {
    assert.deepEqual(
      { partition: ack.partition, offset: ack.offset },
      placeOf.get(ack.key),
      `acknowledgement of ${ack.key}`,
    );
  }
}

describe("Python clients against a brook process", { timeout: 60_000 }, () => {
  let broker: BrokerProcess;

  before(async () => {
    // The Python producers create their topics through Metadata; these get 3 partitions.
    broker = await startBrokerProcess({ args: ["--default-partitions", String(PARTITIONS)] });
  });

  after(async () => {
    await broker?.destroy();
  });

  const messagesFor = (topic: string, client: PythonClient, count: number) =>
    makeMessages(count, {
      prefix: topic,
      headers: (i) => [
        ["seq", String(i)],
        ["source", client.name],
      ],
    });

  for (const client of [CONFLUENT_KAFKA, KAFKA_PYTHON]) {
    test(`${client.name} produces and consumes ${MESSAGES} keyed messages with headers`, async (t) => {
      if (!skipUnless(t, hasPythonModule(client.module), `${client.name} (Debian python3 module ${client.module})`)) {
        return;
      }
      const topic = `python-${client.module}`;
      const messages = messagesFor(topic, client, MESSAGES);
      const expected = partitionByKey(messages, PARTITIONS);
      assertAcknowledged(await pythonProduce(client, broker.bootstrap, topic, messages), expected);
      assertConsumed(await pythonConsume(client, broker.bootstrap, topic, `${topic}-group`, MESSAGES), expected);
    });
  }

  for (const [writer, reader] of [
    [CONFLUENT_KAFKA, KAFKA_PYTHON],
    [KAFKA_PYTHON, CONFLUENT_KAFKA],
  ] as const) {
    test(`${reader.name} reads what ${writer.name} wrote`, async (t) => {
      const available = hasPythonModule(writer.module) && hasPythonModule(reader.module);
      if (!skipUnless(t, available, `${writer.name} and ${reader.name}`)) return;
      const topic = `python-${writer.module}-to-${reader.module}`;
      const messages = messagesFor(topic, writer, 2000);
      const expected = partitionByKey(messages, PARTITIONS);
      assertAcknowledged(await pythonProduce(writer, broker.bootstrap, topic, messages), expected);
      assertConsumed(await pythonConsume(reader, broker.bootstrap, topic, `${topic}-group`, messages.length), expected);
    });
  }
});
