import type { ProducerStateManager } from "./producer-state.js";
import type { PartitionLog } from "./storage/storage.js";
import type { Topic } from "./topic-manager.js";

/**
 * Rebuilds idempotent-producer state at startup from what the logs hold, as Kafka does from
 * its logs: every idempotent batch of each partition's active segment is handed to the
 * producer state, oldest first, which keeps each producer's last batches. Only the active segment is read
 * (Kafka reads from its last producer-state snapshot, taken at each roll; brook keeps none): a
 * producer whose last batches all sit in rolled segments starts afresh, as a new one would.
 * Only batch headers are read, not records: a restart costs a small read per large batch.
 */
export async function restoreProducerStates(topics: readonly Topic[], producers: ProducerStateManager): Promise<void> {
  for (const topic of topics) {
    for (const log of topic.partitions) await restorePartition(topic.name, log, producers);
  }
}

async function restorePartition(topic: string, log: PartitionLog, producers: ProducerStateManager): Promise<void> {
  const restore = producers.restoring(topic, log.partition);
  // The walk stops at the end of the segment it starts in: this one is the active segment.
  const from = Math.max(log.activeSegmentBaseOffset, log.logStartOffset);
  for await (const batches of log.batchHeaders(from)) {
    for (const batch of batches) if (batch.producerId >= 0) restore.add(batch);
  }
  restore.finish();
}
