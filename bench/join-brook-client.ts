// A new consumer group's first member, as brook's own client runs it: the broker's part of the
// join goal, without the fixed 100 ms librdkafka waits before looking up where a group with no
// committed offset starts (its offset-reset backoff). Each join runs in a fresh Node process, as
// a consumer application starts (and as kafka-bench's consumer does): a process that already
// consumed has its code compiled and memory to reuse, and joins several times faster.
//
//   node dist/bench/join-brook-client.js BOOTSTRAP TOPIC GROUP TIMEOUT_MS   (prints {"ms": N})
import { fileURLToPath } from "node:url";
import { Consumer } from "../src/client/consumer.js";
import { runChild } from "./child-run.js";

/**
 * Milliseconds from creating a consumer of the new group `groupId` on `topic` (which holds
 * messages) to its first message, as kafka-bench's join_seconds counts: connecting, finding the
 * coordinator, joining, syncing, looking up offsets and the first fetch. Fails after `timeoutMs`.
 */
async function firstMessageMs(bootstrap: string, topic: string, groupId: string, timeoutMs: number): Promise<number> {
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

/** firstMessageMs in a child process of its own. */
export function brookClientFirstMessageMs(
  bootstrap: string,
  topic: string,
  groupId: string,
  timeoutMs: number,
): number {
  const script = fileURLToPath(import.meta.url);
  return runChild<{ ms: number }>(script, [bootstrap, topic, groupId, String(timeoutMs)]).ms;
}

const [bootstrap, topic, groupId, timeoutMs] = process.argv.slice(2);
if (process.argv[1] === fileURLToPath(import.meta.url) && timeoutMs !== undefined) {
  const ms = await firstMessageMs(bootstrap!, topic!, groupId!, Number(timeoutMs));
  console.log(JSON.stringify({ ms }));
}
