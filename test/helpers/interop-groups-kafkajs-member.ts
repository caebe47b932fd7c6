// A kafkajs consumer-group member as a program, so that tests can run several in processes of
// their own and SIGKILL one. Started by startKafkajsMember (interop-groups.ts) with its options
// as one JSON argument; writes one JSON object per line: {"assigned": [...]} after each
// JoinGroup/SyncGroup, {"revoked": []} when a rebalance starts, each message read, and with
// `commitAfter` the offsets it committed. SIGTERM disconnects (commit, LeaveGroup) and exits 0.
import { Kafka, logLevel } from "kafkajs";
import type { ScriptOptions } from "./interop-groups.js";

const options = JSON.parse(process.argv[2]!) as ScriptOptions;

function emit(event: unknown): void {
  // Writes to a pipe are synchronous on Linux: a line printed is a line the test will see.
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

const kafka = new Kafka({ clientId: options.clientId, brokers: [options.bootstrap], logLevel: logLevel.ERROR });
const consumer = kafka.consumer({
  groupId: options.group,
  sessionTimeout: options.sessionTimeoutMs,
  heartbeatInterval: options.heartbeatIntervalMs,
  // Short fetch waits: a member parked in Fetch notices a rebalance only when the fetch returns.
  maxWaitTimeInMs: 100,
});

consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
  emit({ assigned: payload.memberAssignment[options.topic] ?? [] });
});
consumer.on(consumer.events.REBALANCING, () => emit({ revoked: [] }));
consumer.on(consumer.events.CRASH, ({ payload }) => {
  process.stderr.write(`kafkajs consumer crashed: ${payload.error.stack}\n`);
  process.exit(2);
});

let stopping = false;
async function stop(): Promise<never> {
  stopping = true;
  await consumer.disconnect();
  process.exit(0);
}
process.on("SIGTERM", () => void stop());

/** Next offset to read, by partition, of the messages printed. */
const nextOffsets = new Map<number, number>();
let read = 0;

async function commitAndStop(): Promise<void> {
  const offsets = [...nextOffsets].map(([partition, offset]) => ({
    topic: options.topic,
    partition,
    offset: String(offset),
  }));
  await consumer.commitOffsets(offsets);
  emit({ committed: Object.fromEntries(nextOffsets) });
  await stop();
}

await consumer.connect();
await consumer.subscribe({ topics: [options.topic], fromBeginning: true });
await consumer.run({
  autoCommit: options.commitAfter === undefined,
  eachMessage: async ({ partition, message }) => {
    // The rest of a fetched batch still arrives after the count is reached; it is not "read".
    if (stopping || (options.commitAfter !== undefined && read >= options.commitAfter)) return;
    read += 1;
    emit({
      partition,
      offset: Number(message.offset),
      key: message.key?.toString() ?? null,
      value: message.value?.toString() ?? null,
    });
    nextOffsets.set(partition, Number(message.offset) + 1);
    // Not awaited here: disconnecting waits for this very callback to return.
    if (read === options.commitAfter) setImmediate(() => void commitAndStop());
  },
});
