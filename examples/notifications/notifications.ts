// The notifications service: emails a customer when their payment completes. Its consumer
// group is separate from analytics, so both see every event. Run several instances and the
// group shares the topic's partitions among them; each prints what it owns after every rebalance.
import { parseArgs } from "node:util";
import { Consumer, type TopicPartition } from "brook";
import { createShopEventsTopic, SHOP_EVENTS_TOPIC } from "../web-shop/shop-events.js";

const { values: options } = parseArgs({
  options: { brokers: { type: "string", default: process.env.BROOK_BROKERS ?? "127.0.0.1:9092" } },
});
const name = `notifications[${process.pid}]`;

await createShopEventsTopic(options.brokers);
// Values stay bytes (the default): this service needs only the key and a header.
const consumer = new Consumer<Buffer | null, string>({
  brokers: options.brokers,
  groupId: "notifications",
  keyDeserializer: "string",
  autoOffsetReset: "earliest",
});
// close() revokes the partitions (committing what was processed) and leaves the group at
// once, so the other instances take them over without waiting for a session timeout.
for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => void consumer.close());

const list = (partitions: TopicPartition[]) =>
  partitions
    .map((p) => p.partition)
    .sort((a, b) => a - b)
    .join(", ") || "none";
await consumer.subscribe({
  topics: [SHOP_EVENTS_TOPIC],
  // Called after every rebalance with the partitions gained (maybe none); print all we own now.
  onPartitionsAssigned: () => console.log(`${name}: partitions now mine: ${list(consumer.assignment())}`),
  onPartitionsRevoked: (partitions) => console.log(`${name}: handing over partitions: ${list(partitions)}`),
});

for await (const { key: orderId, headers, partition } of consumer) {
  const type = headers.find((header) => header.key === "event-type")?.value?.toString();
  if (type === "payment-completed") console.log(`${name}: sending email for order ${orderId} (partition ${partition})`);
}
await consumer.close(); // the loop ended because close() began; wait until it is done
console.log(`${name}: stopped, left the group`);
