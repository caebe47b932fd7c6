// The analytics service: its own consumer group, so it reads every shop event whatever other
// groups (the notifications service) do, and keeps running totals.
import { parseArgs } from "node:util";
import { Consumer } from "brook";
import { createShopEventsTopic, dollars, SHOP_EVENTS_TOPIC, type ShopEvent } from "../web-shop/shop-events.js";

const { values: options } = parseArgs({
  options: {
    brokers: { type: "string", default: process.env.BROOK_BROKERS ?? "127.0.0.1:9092" },
    every: { type: "string", default: "10" }, // print a summary after this many events
  },
});
const every = Number(options.every);

await createShopEventsTopic(options.brokers);
const consumer = new Consumer<ShopEvent | null, string>({
  brokers: options.brokers,
  groupId: "analytics",
  keyDeserializer: "string",
  valueDeserializer: "json",
  // A new group starts from the first event; afterwards from its committed offsets.
  autoOffsetReset: "earliest",
});
// close() ends the loop below, commits what was processed and leaves the group.
for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => void consumer.close());
await consumer.subscribe({ topics: [SHOP_EVENTS_TOPIC] });

let events = 0;
let orders = 0;
let payments = 0;
let revenueCents = 0;
const summary = () =>
  `analytics: ${events} events, ${orders} orders, ${payments} payments, revenue ${dollars(revenueCents)}`;

for await (const { value: event } of consumer) {
  if (event === null) continue;
  events++;
  if (event.type === "order-placed") orders++;
  if (event.type === "payment-completed") {
    payments++;
    revenueCents += event.amountCents;
  }
  if (events % every === 0) console.log(summary());
}
await consumer.close(); // the loop ended because close() began; wait until it is done
console.log(`${summary()} (stopped, left the group)`);
