// The messages interop tests send, where Kafka's partitioner puts them, and the message-by-message
// check of what a client read back.
import assert from "node:assert/strict";

export type HeaderPair = [key: string, value: string];

export interface Message {
  key: string | null;
  value: string | null;
  headers: HeaderPair[];
}

export interface ConsumedMessage extends Message {
  partition: number;
  offset: number;
  /** Present when the client reports it (kcat's %T, kafkajs, the Python scripts). */
  timestamp?: number;
}

export interface MessageOptions {
  /** Makes keys and values unique to one run, so a message read back cannot come from another. */
  prefix: string;
  /** Headers of message i; default none. */
  headers?: (i: number) => HeaderPair[];
}

/**
 * `count` keyed messages. Values vary in length (so batches are not uniform) and some carry
 * multi-byte UTF-8, so a client or broker that counts characters instead of bytes shows up.
 * No tabs, newlines or commas: kcat reads and prints messages as delimited text.
 */
export function makeMessages(count: number, options: MessageOptions): Message[] {
  return Array.from({ length: count }, (_, i) => ({
    key: `${options.prefix}-key-${i}`,
    value: `${options.prefix}-value-${i}-${i % 10 === 0 ? "ünïcødé-" : ""}${"abcdefghij".repeat(i % 23)}`,
    headers: options.headers?.(i) ?? [],
  }));
}

const MURMUR2_SEED = 0x9747b28c;
const MURMUR2_M = 0x5bd1e995;

/** Kafka's `Utils.murmur2`: 32-bit MurmurHash2 over the key bytes, as a signed int32. */
export function murmur2(data: Buffer): number {
  const length = data.length;
  let h = MURMUR2_SEED ^ length;
  const whole = length - (length % 4);
  for (let i = 0; i < whole; i += 4) {
    let k = data.readInt32LE(i);
    k = Math.imul(k, MURMUR2_M);
    k ^= k >>> 24;
    k = Math.imul(k, MURMUR2_M);
    h = Math.imul(h, MURMUR2_M) ^ k;
  }
  const tail = length % 4;
  if (tail >= 3) h ^= data[whole + 2]! << 16;
  if (tail >= 2) h ^= data[whole + 1]! << 8;
  if (tail >= 1) h = Math.imul(h ^ data[whole]!, MURMUR2_M);
  h ^= h >>> 13;
  h = Math.imul(h, MURMUR2_M);
  h ^= h >>> 15;
  return h | 0;
}

/** The partition the Java client's default partitioner picks for a key. */
export function javaPartition(key: string, partitions: number): number {
  return (murmur2(Buffer.from(key)) & 0x7fffffff) % partitions;
}

/** The messages each partition should hold, in the order they were sent, keyed by the Java partitioner. */
export function partitionByKey(messages: readonly Message[], partitions: number): Message[][] {
  const logs: Message[][] = Array.from({ length: partitions }, () => []);
  for (const message of messages) {
    assert.ok(message.key !== null, "partitioning by key needs keys");
    logs[javaPartition(message.key, partitions)]!.push(message);
  }
  // Every partition must get some messages, or order and offsets of that partition go unchecked.
  logs.forEach((log, p) => {
    assert.ok(log.length > 0, `no message maps to partition ${p}`);
  });
  return logs;
}

/**
 * Checks what a client read, message by message: each partition's messages arrived in offset
 * order, with offsets `firstOffsets[p]`, +1, +2... without gaps or repeats, and equal (key,
 * value, headers) to the expected log of that partition; nothing arrived from other partitions.
 */
export function assertConsumed(
  consumed: readonly ConsumedMessage[],
  expected: readonly (readonly Message[])[],
  firstOffsets: readonly number[] = expected.map(() => 0),
): void {
  const byPartition = new Map<number, ConsumedMessage[]>();
  for (const message of consumed) {
    assert.ok(
      message.partition >= 0 && message.partition < expected.length,
      `message from unexpected partition ${message.partition}`,
    );
    let list = byPartition.get(message.partition);
    if (list === undefined) byPartition.set(message.partition, (list = []));
    list.push(message);
  }
  expected.forEach((log, partition) => {
    const got = byPartition.get(partition) ?? [];
    const firstOffset = firstOffsets[partition]!;
    for (let i = 0; i < Math.min(got.length, log.length); i++) {
      const actual = got[i]!;
      const wanted = log[i]!;
      assert.deepEqual(
        { offset: actual.offset, key: actual.key, value: actual.value, headers: actual.headers },
        { offset: firstOffset + i, key: wanted.key, value: wanted.value, headers: wanted.headers },
        `partition ${partition}, message ${i} of ${log.length}`,
      );
    }
    assert.equal(got.length, log.length, `partition ${partition}: messages read`);
  });
}
