import type { Group } from "./group.js";
import type { CommittedOffset } from "./group-records.js";
import type { GroupOffsets } from "./stored-groups.js";

const NO_TOPICS: ReadonlySet<string> = new Set();

/**
 * Which of a group's offsets have outlived offsets.retention.ms, by Kafka's rules (KIP-211):
 * - a group that only stores offsets (no protocol type): counted from each commit;
 * - an empty group: counted from when it became empty, so a consumer that is away for a
 *   while finds its offsets as long as the group was in use recently;
 * - a Stable consumer group: the offsets of topics no member subscribes to any more,
 *   counted from each commit;
 * - any other group: none.
 * An offset committed with an explicit retention time (OffsetCommit v2–4) expires then.
 */
export function expiredOffsets(
  group: Group,
  offsets: GroupOffsets,
  now: number,
  retentionMs: number,
): { topic: string; partition: number }[] {
  let since: (committed: CommittedOffset) => number;
  let inUse = NO_TOPICS;
  if (group.protocolType === null) {
    since = (committed) => committed.commitTimestamp;
  } else if (group.state === "Empty") {
    since = () => group.stateTimestamp;
  } else if (group.isConsumerGroup && group.state === "Stable" && group.subscribedTopics !== null) {
    since = (committed) => committed.commitTimestamp;
    inUse = group.subscribedTopics;
  } else {
    return [];
  }
  const expired: { topic: string; partition: number }[] = [];
  for (const [topic, partitions] of offsets) {
    if (inUse.has(topic)) continue;
    for (const [partition, committed] of partitions) {
      const isExpired =
        committed.expireTimestamp !== -1 ? now >= committed.expireTimestamp : now - since(committed) >= retentionMs;
      if (isExpired) expired.push({ topic, partition });
    }
  }
  return expired;
}
