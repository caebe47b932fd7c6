import { BATCH_HEADER_SIZE, readBatchHeader } from "../protocol/records/batch-header.js";
import type { ProducerStateManager } from "./producer-state.js";
import type { PartitionLog } from "./storage/storage.js";
import type { Topic } from "./topic-manager.js";

/** How much of a log one read brings in while scanning batch headers. */
const READ_BYTES = 1024 * 1024;

/**
 * Rebuilds idempotent-producer state at startup from what the logs hold, as Kafka does from
 * its logs: every idempotent batch of each partition's active segment is handed to `restore`,
 * oldest first, so it keeps each producer's last batches. Only the active segment is read
 * (Kafka reads from its last producer-state snapshot, taken at each roll; brook keeps none): a
 * producer whose last batches all sit in rolled segments starts afresh, as a new one would.
 */
export async function restoreProducerStates(topics: readonly Topic[], producers: ProducerStateManager): Promise<void> {
  for (const topic of topics) {
    for (const log of topic.partitions) await restorePartition(topic.name, log, producers);
  }
}

async function restorePartition(topic: string, log: PartitionLog, producers: ProducerStateManager): Promise<void> {
  let offset = Math.max(log.activeSegmentBaseOffset, log.logStartOffset);
  while (offset < log.highWatermark) {
    const readFrom = offset;
    const read = await log.read(offset, READ_BYTES);
    if (read.outOfRange || read.records.length === 0) return;
    const bytes = read.records.length === 1 ? read.records[0]! : Buffer.concat(read.records);
    let at = 0;
    while (bytes.length - at >= BATCH_HEADER_SIZE) {
      const batch = readBatchHeader(bytes, at);
      if (batch.size > bytes.length - at) break;
      if (batch.producerId >= 0) {
        producers.restore(topic, log.partition, {
          producerId: batch.producerId,
          epoch: batch.producerEpoch,
          firstSequence: batch.baseSequence,
          recordCount: batch.recordsCount,
          baseOffset: batch.baseOffset,
        });
      }
      offset = batch.baseOffset + batch.lastOffsetDelta + 1;
      at += batch.size;
    }
    // A read returns at least one whole batch; should one not, stop rather than read it again.
    if (offset <= readFrom) return;
  }
}
