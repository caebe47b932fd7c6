// kafkajs 2.2.4 as a producer and group consumer for interop tests.
import assert from "node:assert/strict";
import { type CompressionTypes, type IHeaders, Kafka, type KafkaConfig, logLevel, type Producer } from "kafkajs";
import { type ConsumedMessage, type HeaderPair, javaPartition, type Message } from "./interop-messages.js";

export function kafkajsClient(bootstrap: string, clientId: string, config: Partial<KafkaConfig> = {}): Kafka {
  // Quiet: a test reports what went wrong through its assertions, and kafkajs logs retries at error level.
  return new Kafka({ clientId, brokers: [bootstrap], logLevel: logLevel.NOTHING, ...config });
}

function headersOf(pairs: readonly HeaderPair[]): IHeaders {
  return Object.fromEntries(pairs);
}

function pairsOf(headers: IHeaders | undefined): HeaderPair[] {
  return Object.entries(headers ?? {}).map(([key, value]) => [key, String(value)]);
}

export interface KafkajsProduceOptions {
  partitions: number;
  acks?: number;
  compression?: CompressionTypes;
  /** Messages per send() call; kafkajs turns each call into one Produce request. */
  chunkSize?: number;
}

/**
 * Sends the messages in order, one send() per chunk, each awaited before the next. Checks every
 * acknowledgement as it comes: the base offset of each partition's batch must be where that
 * partition's log ended, given the messages acknowledged before it.
 */
export async function kafkajsProduce(
  producer: Producer,
  topic: string,
  messages: readonly Message[],
  options: KafkajsProduceOptions,
): Promise<void> {
  const chunkSize = options.chunkSize ?? 1000;
  const logEnds = new Array<number>(options.partitions).fill(0);
  for (let start = 0; start < messages.length; start += chunkSize) {
    const chunk = messages.slice(start, start + chunkSize);
    const acknowledgements = await producer.send({
      topic,
      acks: options.acks ?? -1,
      compression: options.compression,
      messages: chunk.map((m) => ({ key: m.key, value: m.value, headers: headersOf(m.headers) })),
    });
    const sentTo = new Array<number>(options.partitions).fill(0);
    for (const message of chunk) sentTo[javaPartition(message.key!, options.partitions)]! += 1;
    assert.equal(acknowledgements.length, sentTo.filter((n) => n > 0).length, "one acknowledgement per partition");
    for (const ack of acknowledgements) {
      assert.equal(ack.errorCode, 0);
      assert.equal(Number(ack.baseOffset), logEnds[ack.partition], `base offset of partition ${ack.partition}`);
      logEnds[ack.partition]! += sentTo[ack.partition]!;
    }
  }
}

/**
 * Joins a new consumer group on the topic from the beginning and collects messages until
 * `count` arrived. Whatever kafkajs delivers before it stops is kept too, so extra messages
 * show up in the checks.
 */
export async function kafkajsConsume(
  kafka: Kafka,
  topic: string,
  count: number,
  groupId: string,
): Promise<ConsumedMessage[]> {
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 500 });
  const consumed: ConsumedMessage[] = [];
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      consumer.on(consumer.events.CRASH, (event) => reject(event.payload.error));
      consumer
        .run({
          eachMessage: async ({ partition, message }) => {
            consumed.push({
              partition,
              offset: Number(message.offset),
              timestamp: Number(message.timestamp),
              key: message.key?.toString() ?? null,
              value: message.value?.toString() ?? null,
              headers: pairsOf(message.headers),
            });
            if (consumed.length === count) resolve();
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return consumed;
}
