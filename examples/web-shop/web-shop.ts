// A web shop: every order produces an `order-placed` then a `payment-completed` event,
// keyed by order id, so both land on the same partition and are read in that order.
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { Producer } from "brook";
import { createShopEventsTopic, dollars, SHOP_EVENTS_TOPIC, type ShopEvent } from "./shop-events.js";

const { values: options } = parseArgs({
  options: {
    brokers: { type: "string", default: process.env.BROOK_BROKERS ?? "127.0.0.1:9092" },
    orders: { type: "string", default: "100" }, // how many orders to place
    rate: { type: "string", default: "5" }, // orders per second
  },
});
const orders = Number(options.orders);
const rate = Number(options.rate);
const CUSTOMERS = ["ada", "grace", "linus", "margaret", "ken"];

await createShopEventsTopic(options.brokers);
const producer = new Producer<ShopEvent, string>({
  brokers: options.brokers,
  keySerializer: "string",
  valueSerializer: "json",
});

let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => (stopping = true));

/** Sends one event; the type also goes in a header, so consumers can route without parsing the value. */
async function publish(event: ShopEvent) {
  const [stored] = await producer.send({
    topic: SHOP_EVENTS_TOPIC,
    messages: [{ key: event.orderId, value: event, headers: { "event-type": event.type } }],
  });
  return stored;
}

let placed = 0;
let revenueCents = 0;
while (placed < orders && !stopping) {
  const orderId = `order-${placed + 1}`;
  const totalCents = 500 + Math.floor(Math.random() * 9500);
  const customer = CUSTOMERS[placed % CUSTOMERS.length];
  const order = await publish({ type: "order-placed", orderId, customer, totalCents });
  const payment = await publish({ type: "payment-completed", orderId, amountCents: totalCents });
  placed++;
  revenueCents += totalCents;
  console.log(
    `${orderId} (${customer}, ${dollars(totalCents)}) -> partition ${order.partition}, offsets ${order.offset} and ${payment.offset}`,
  );
  if (rate > 0) await sleep(1000 / rate);
}

await producer.close();
console.log(`web-shop: placed ${placed} orders, revenue ${dollars(revenueCents)}`);
