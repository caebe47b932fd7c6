import { ErrorCode } from "../protocol/errors.js";
import type { Cluster } from "./cluster.js";
import { BrookError, invalidOption } from "./errors.js";

/** Where to look in a partition: its first offset, its end, or the first record at or after a time. */
export type OffsetSpec = "earliest" | "latest" | { timestamp: number | Date };

export interface TopicPartition {
  topic: string;
  partition: number;
}

export interface PartitionOffset extends TopicPartition {
  /** -1 when no record has a timestamp at or after the one asked for. */
  offset: number;
  /** The record's timestamp for a timestamp lookup (Kafka sends -1 for earliest/latest). */
  timestamp: number;
}

/** ListOffsets' special timestamps. */
const LATEST = -1;
const EARLIEST = -2;

export function specTimestamp(spec: OffsetSpec): number {
  if (spec === "earliest") return EARLIEST;
  if (spec === "latest") return LATEST;
  if (typeof spec === "object" && spec !== null) {
    const ms = spec.timestamp instanceof Date ? spec.timestamp.getTime() : spec.timestamp;
    if (Number.isSafeInteger(ms) && ms >= 0) return ms;
  }
  throw invalidOption(`an offset spec is "earliest", "latest" or { timestamp }, not ${JSON.stringify(spec)}`);
}

const key = (topic: string, partition: number) => `${topic}\0${partition}`;

/** Groups items by the node id `leaderOf` gives; the partitions of unknown topics throw from it. */
export function groupByLeader<T extends TopicPartition>(cluster: Cluster, items: readonly T[]): Map<number, T[]> {
  const byLeader = new Map<number, T[]>();
  for (const item of items) {
    const leader = cluster.leaderFor(item.topic, item.partition);
    const group = byLeader.get(leader);
    if (group) group.push(item);
    else byLeader.set(leader, [item]);
  }
  return byLeader;
}

/** Nests topic-partition items the way Kafka requests want them: per topic, then per partition. */
export function byTopic<T extends TopicPartition>(items: readonly T[]): Map<string, T[]> {
  const topics = new Map<string, T[]>();
  for (const item of items) {
    const list = topics.get(item.topic);
    if (list) list.push(item);
    else topics.set(item.topic, [item]);
  }
  return topics;
}

/**
 * Runs a per-partition request against the partitions' leaders until every partition has an
 * answer: each attempt sends one request per leader for the partitions still missing, keeps
 * the answers, and throws the first partition error, so `cluster.retry` refreshes metadata
 * (after NOT_LEADER_OR_FOLLOWER...) and tries the rest again. Errors that are not retriable
 * end it at once.
 */
export async function perPartitionRequest<T extends TopicPartition, R>(
  cluster: Cluster,
  items: readonly T[],
  send: (leader: number, items: T[]) => Promise<Map<string, { errorCode: number; result: R }>>,
  what: string,
): Promise<Map<string, R>> {
  await cluster.topics([...new Set(items.map((i) => i.topic))]);
  const results = new Map<string, R>();
  let pending = [...items];
  await cluster.retry(async () => {
    const answers = await Promise.all(
      [...groupByLeader(cluster, pending)].map(([leader, group]) => send(leader, group)),
    );
    let firstError: BrookError | undefined;
    const remaining: T[] = [];
    for (const item of pending) {
      const id = key(item.topic, item.partition);
      const answer = answers.find((a) => a.has(id))?.get(id);
      if (answer && answer.errorCode === ErrorCode.NONE) {
        results.set(id, answer.result);
        continue;
      }
      remaining.push(item);
      firstError ??= answer
        ? BrookError.fromKafkaCode(answer.errorCode, `${what} for ${item.topic}-${item.partition}`, {
            topic: item.topic,
            partition: item.partition,
          })
        : new BrookError("BROOK_PROTOCOL", `${what}: no answer for ${item.topic}-${item.partition}`, {
            retriable: true,
          });
    }
    pending = remaining;
    if (firstError) throw firstError;
  });
  return results;
}

/**
 * The offsets of partitions at their start, their end, or a point in time (ListOffsets to each
 * leader). With isolationLevel 1 (read_committed) "latest" is the last stable offset.
 */
export async function listOffsets(
  cluster: Cluster,
  partitions: readonly (TopicPartition & { spec: OffsetSpec })[],
  options: { isolationLevel?: 0 | 1 } = {},
): Promise<PartitionOffset[]> {
  const items = partitions.map((p) => ({ topic: p.topic, partition: p.partition, timestamp: specTimestamp(p.spec) }));
  const needsTimestamps = items.some((i) => i.timestamp >= 0);
  const results = await perPartitionRequest(
    cluster,
    items,
    async (leader, group) => {
      const response = await cluster.request(
        leader,
        "ListOffsets",
        () => ({
          replicaId: -1,
          isolationLevel: options.isolationLevel ?? 0,
          topics: [...byTopic(group)].map(([name, list]) => ({
            name,
            // v0 answers a list of offsets before the timestamp: one is the one wanted.
            partitions: list.map((i) => ({ partitionIndex: i.partition, timestamp: i.timestamp, maxNumOffsets: 1 })),
          })),
        }),
        // Lookups by time need v1; v2 brings the isolation level.
        { minVersion: needsTimestamps ? 1 : options.isolationLevel ? 2 : 0 },
      );
      const answers = new Map<string, { errorCode: number; result: { offset: number; timestamp: number } }>();
      for (const topic of response.topics) {
        for (const p of topic.partitions) {
          const offset = p.oldStyleOffsets.length > 0 ? (p.oldStyleOffsets[0] as number) : p.offset;
          answers.set(key(topic.name, p.partitionIndex), {
            errorCode: p.errorCode,
            result: { offset, timestamp: p.timestamp },
          });
        }
      }
      return answers;
    },
    "ListOffsets",
  );
  return items.map((i) => ({
    topic: i.topic,
    partition: i.partition,
    ...(results.get(key(i.topic, i.partition)) as { offset: number; timestamp: number }),
  }));
}
