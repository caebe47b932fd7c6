import { decodeConsumerProtocolSubscription } from "../../protocol/generated/consumer-protocol-subscription.js";
import { Reader } from "../../protocol/reader.js";

/** The protocol type of Kafka's consumer groups, whose member metadata the broker can read. */
export const CONSUMER_PROTOCOL_TYPE = "consumer";

/**
 * The topics a consumer's subscription metadata names, or null if the bytes are not a
 * subscription. Every version starts with the version-0 fields, so reading those is enough
 * and newer versions need no change here.
 */
export function subscribedTopics(metadata: Buffer): string[] | null {
  try {
    const reader = new Reader(metadata);
    if (reader.readInt16() < 0) return null;
    return decodeConsumerProtocolSubscription(reader, 0).topics;
  } catch {
    return null; // Any garbage a client sends as metadata.
  }
}
