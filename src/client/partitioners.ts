/** What a partitioner is told about each message. */
export interface PartitionerInput {
  topic: string;
  /** The serialized key; null when the message has none. */
  key: Buffer | null;
  /** All partitions of the topic. */
  partitionCount: number;
  /** The partitions that have a leader now (all of them, most of the time). */
  availablePartitions: readonly number[];
  /** The message's size (key, value and headers), for partitioners that balance by bytes. */
  messageBytes: number;
}

/** Picks the partition of a message that did not name one; must return 0 ≤ p < partitionCount. */
export type Partitioner = (input: PartitionerInput) => number;

const SEED = 0x9747b28c;
const M = 0x5bd1e995;
const R = 24;

/** Java's `Utils.murmur2`: the signed 32-bit MurmurHash2 of `data` that Kafka clients partition keys by. */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = SEED ^ length;
  const words = length >>> 2;
  for (let i = 0; i < words; i++) {
    const at = i << 2;
    let k =
      (data[at] as number) |
      ((data[at + 1] as number) << 8) |
      ((data[at + 2] as number) << 16) |
      ((data[at + 3] as number) << 24);
    k = Math.imul(k, M);
    k ^= k >>> R;
    k = Math.imul(k, M);
    h = Math.imul(h, M);
    h ^= k;
  }
  const tail = length & ~3;
  // The 1–3 bytes after the last whole word, highest first.
  const rest = length & 3;
  if (rest === 3) h ^= (data[tail + 2] as number) << 16;
  if (rest >= 2) h ^= (data[tail + 1] as number) << 8;
  if (rest >= 1) {
    h ^= data[tail] as number;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** The partition Java, kafkajs and kafka-python put `key` in: `(murmur2 & 0x7fffffff) % n`. */
export function murmur2Partition(key: Uint8Array, partitionCount: number): number {
  return (murmur2(key) & 0x7fffffff) % partitionCount;
}

function randomOf(partitions: readonly number[], partitionCount: number, avoid: number): number {
  const pool = partitions.length > 0 ? partitions : Array.from({ length: partitionCount }, (_, i) => i);
  if (pool.length === 1) return pool[0] as number;
  for (;;) {
    const pick = pool[Math.floor(Math.random() * pool.length)] as number;
    if (pick !== avoid) return pick;
  }
}

export interface DefaultPartitionerOptions {
  /**
   * Bytes of key-less messages sent to one partition before switching to another; the
   * producer passes its batchBytes, so each sticky run fills about one batch.
   */
  stickyBytes: number;
}

/**
 * Kafka's default: keyed messages by murmur2 (so a key lands where Java, kafkajs and
 * kafka-python put it), key-less ones "uniform sticky" (KIP-794): all to one partition until
 * about a batch of bytes went there, then to another picked at random among those with a
 * leader. Sticking fills batches instead of spreading tiny ones over every partition.
 */
export function createDefaultPartitioner(options: DefaultPartitionerOptions): Partitioner {
  const sticky = new Map<string, { partition: number; bytes: number }>();
  return ({ topic, key, partitionCount, availablePartitions, messageBytes }) => {
    if (key !== null) return murmur2Partition(key, partitionCount);
    let state = sticky.get(topic);
    if (
      state === undefined ||
      state.bytes >= options.stickyBytes ||
      state.partition >= partitionCount ||
      (availablePartitions.length > 0 && !availablePartitions.includes(state.partition))
    ) {
      state = { partition: randomOf(availablePartitions, partitionCount, state?.partition ?? -1), bytes: 0 };
      sticky.set(topic, state);
    }
    state.bytes += messageBytes;
    return state.partition;
  };
}

/** Every message, keyed or not, to the next partition in turn (per topic). */
export function createRoundRobinPartitioner(): Partitioner {
  const next = new Map<string, number>();
  return ({ topic, partitionCount }) => {
    const counter = next.get(topic) ?? 0;
    next.set(topic, counter + 1);
    return counter % partitionCount;
  };
}
