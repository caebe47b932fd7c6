import {
  type ConsumerProtocolAssignment,
  decodeConsumerProtocolAssignment,
  encodeConsumerProtocolAssignment,
} from "../../protocol/generated/consumer-protocol-assignment.js";
import {
  type ConsumerProtocolSubscription,
  decodeConsumerProtocolSubscription,
  encodeConsumerProtocolSubscription,
} from "../../protocol/generated/consumer-protocol-subscription.js";
import { Reader } from "../../protocol/reader.js";
import { Writer } from "../../protocol/writer.js";
import type { TopicPartitions } from "../assignors/assignor.js";

/** The protocol type of consumer groups in JoinGroup. */
export const CONSUMER_PROTOCOL_TYPE = "consumer";
/** Subscription v3: owned partitions (v1), their generation (v2), rack (v3). */
const SUBSCRIPTION_VERSION = 3;
const ASSIGNMENT_VERSION = 3;
/** The newest versions the generated codecs know; newer payloads are read as these (a known prefix). */
const NEWEST_KNOWN_SUBSCRIPTION = 3;
const NEWEST_KNOWN_ASSIGNMENT = 3;

export interface Subscription {
  topics: readonly string[];
  ownedPartitions: readonly TopicPartitions[];
  generationId: number;
}

/** JoinGroup metadata of a consumer: int16 version, then the version's struct. */
export function encodeSubscription(subscription: Subscription): Buffer {
  const writer = new Writer(256);
  writer.writeInt16(SUBSCRIPTION_VERSION);
  encodeConsumerProtocolSubscription(writer, SUBSCRIPTION_VERSION, {
    topics: [...subscription.topics],
    userData: null,
    ownedPartitions: subscription.ownedPartitions.map(({ topic, partitions }) => ({ topic, partitions })),
    generationId: subscription.generationId,
    rackId: null,
  });
  return writer.toBuffer();
}

/** Reads any member's metadata, from any client; versions newer than ours are read as far as we know them. */
export function decodeSubscription(bytes: Buffer): ConsumerProtocolSubscription {
  const reader = new Reader(bytes);
  const version = reader.readInt16();
  return decodeConsumerProtocolSubscription(reader, Math.min(version, NEWEST_KNOWN_SUBSCRIPTION));
}

export function encodeAssignment(partitions: readonly TopicPartitions[]): Buffer {
  const writer = new Writer(256);
  writer.writeInt16(ASSIGNMENT_VERSION);
  encodeConsumerProtocolAssignment(writer, ASSIGNMENT_VERSION, {
    assignedPartitions: partitions.map(({ topic, partitions }) => ({ topic, partitions })),
    userData: null,
  });
  return writer.toBuffer();
}

/** A SyncGroup assignment; empty bytes (a member the leader left out) mean no partitions. */
export function decodeAssignment(bytes: Buffer): ConsumerProtocolAssignment {
  if (bytes.length === 0) return { assignedPartitions: [], userData: null };
  const reader = new Reader(bytes);
  const version = reader.readInt16();
  return decodeConsumerProtocolAssignment(reader, Math.min(version, NEWEST_KNOWN_ASSIGNMENT));
}
