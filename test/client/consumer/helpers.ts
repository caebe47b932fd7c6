// Helpers for the consumer tests: producing test messages, reading a known number back, and
// waiting for a condition the consumer reaches asynchronously (an assignment, a commit).
import { setTimeout as sleep } from "node:timers/promises";
import type { Consumer, ConsumerMessage } from "../../../src/client/consumer.js";
import { Producer, type ProducerMessage, type RecordMetadata } from "../../../src/client/producer.js";

/** Retries that give up quickly, so that failure tests fail fast. */
export const FAST_RETRY = { timeoutMs: 2_000, initialDelayMs: 10, maxDelayMs: 100 };

/** Group timings for a broker started with GROUP_BROKER_OPTIONS: rebalances in a fraction of a second. */
export const FAST_GROUP = { sessionTimeoutMs: 2_000, heartbeatIntervalMs: 100, fetchMaxWaitMs: 100 };
export const GROUP_BROKER_OPTIONS = { groupMinSessionTimeoutMs: 500 };

export async function produce(
  bootstrap: string,
  topic: string,
  messages: readonly ProducerMessage<unknown, unknown>[],
): Promise<RecordMetadata[]> {
  const producer = new Producer({ brokers: [bootstrap], lingerMs: 0 });
  try {
    return await producer.send({ topic, messages });
  } finally {
    await producer.close();
  }
}

/** `count` messages "key-i" → "value-i" (i from `from`), spread over partitions by key. */
export function keyedMessages(count: number, from = 0): ProducerMessage<string, string>[] {
  return Array.from({ length: count }, (_, i) => ({ key: `key-${from + i}`, value: `value-${from + i}` }));
}

/** Polls until `count` messages arrived (rejecting after `timeoutMs`), returning exactly those. */
export async function consume<V, K>(
  consumer: Consumer<V, K>,
  count: number,
  timeoutMs = 10_000,
): Promise<ConsumerMessage<V, K>[]> {
  const deadline = Date.now() + timeoutMs;
  const messages: ConsumerMessage<V, K>[] = [];
  while (messages.length < count) {
    const remaining = deadline - Date.now();
    if (remaining <= 0) throw new Error(`consumed ${messages.length} messages of ${count} in ${timeoutMs} ms`);
    const batch = await consumer.poll({ maxMessages: count - messages.length, timeoutMs: remaining });
    messages.push(...batch);
  }
  return messages;
}

/** Resolves once `condition()` holds, checking every few ms; rejects with `what` after `timeoutMs`. */
export async function eventually(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** A promise with its resolve function, for events a test waits on. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** "topic-partition" labels, sorted. */
export function labels(partitions: readonly { topic: string; partition: number }[]): string[] {
  return partitions.map((p) => `${p.topic}-${p.partition}`).sort();
}

let unique = 0;
/** A topic or group name no other test uses. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid}-${++unique}`;
}
