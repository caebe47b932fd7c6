// A new consumer group's first member, as brook's own client runs it: the broker's part of the
// join goal, without the fixed 100 ms librdkafka waits before looking up where a group with no
// committed offset starts (its offset-reset backoff).
import { Consumer } from "../src/client/consumer.js";

/**
 * Milliseconds from creating a consumer of the new group `groupId` on `topic` (which holds
 * messages) to its first message, as kafka-bench's join_seconds counts: connecting, finding the
 * coordinator, joining, syncing, looking up offsets and the first fetch. Fails after `timeoutMs`.
 */
export async function brookClientFirstMessageMs(
  bootstrap: string,
  topic: string,
  groupId: string,
  timeoutMs: number,
): Promise<number> {
  const started = performance.now();
  const consumer = new Consumer({ brokers: [bootstrap], groupId, autoOffsetReset: "earliest" });
  const timer = setTimeout(() => void consumer.close(), timeoutMs);
  try {
    await consumer.subscribe({ topics: [topic] });
    for await (const _ of consumer) return performance.now() - started;
    throw new Error(`no message from ${topic} within ${timeoutMs} ms`);
  } finally {
    clearTimeout(timer);
    await consumer.close();
  }
}
