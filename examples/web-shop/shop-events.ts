// The events the web shop publishes, shared by the shop and by the services that consume them.
import { Admin, BrookError } from "brook";

export const SHOP_EVENTS_TOPIC = "shop-events";

export type ShopEvent =
  | { type: "order-placed"; orderId: string; customer: string; totalCents: number }
  | { type: "payment-completed"; orderId: string; amountCents: number };

/**
 * Creates `shop-events` with 3 partitions unless it exists. Partitions are the unit of
 * parallelism: a group of consumers shares them, so 3 partitions let 3 instances work at once.
 * Every program calls this, so they can be started in any order.
 */
export async function createShopEventsTopic(brokers: string): Promise<void> {
  const admin = new Admin({ brokers });
  try {
    await admin.createTopics({ topics: [{ topic: SHOP_EVENTS_TOPIC, numPartitions: 3 }] });
  } catch (error) {
    if (!(error instanceof BrookError && error.code === "TOPIC_ALREADY_EXISTS")) throw error;
  } finally {
    await admin.close();
  }
}

export function dollars(cents: number): string {
  return `$${(cents / 100).toFixed(2)}`;
}
