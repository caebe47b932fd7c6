import { decodeRecordBatches } from "../protocol/records/decode-record-batches.js";
import type { PartitionLog, TimestampOffset } from "./storage/storage.js";

/**
 * ListOffsets by time, to the record: the log's time index finds the first batch whose max
 * timestamp reaches `timestamp`; that one batch is then decoded to find the first record at
 * or after it, as Kafka answers. This is the only read path that decodes records.
 */
export async function offsetForTimestamp(log: PartitionLog, timestamp: number): Promise<TimestampOffset | undefined> {
  const batchMatch = await log.offsetForTimestamp(timestamp);
  if (!batchMatch) return undefined;
  const read = await log.read(batchMatch.offset, 1);
  if (read.outOfRange || read.records.length === 0) return batchMatch;
  const first = read.records.length === 1 ? (read.records[0] as Buffer) : Buffer.concat(read.records);
  const [batch] = await decodeRecordBatches(first);
  const record = batch?.records.find((r) => r.timestamp >= timestamp && r.offset >= log.logStartOffset);
  return record ? { offset: record.offset, timestamp: record.timestamp } : batchMatch;
}
