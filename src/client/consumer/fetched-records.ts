import type { FetchResponseAbortedTransaction } from "../../protocol/generated/fetch.js";
import type { KafkaRecord } from "../../protocol/records/record.js";
import type { RecordBatch } from "../../protocol/records/record-batch.js";

/** Control record types (the int16 after the version in a control record's key). */
const ABORT_MARKER = 0;

export interface ConsumableRecords {
  /** The records to deliver, in offset order. */
  records: KafkaRecord[];
  /** Where the next Fetch starts: past the last whole batch, delivered or skipped. */
  nextOffset: number;
}

/**
 * What a consumer may deliver out of a partition's fetched batches:
 *
 * - records below `fetchOffset` are dropped (a fetch starts at the batch *containing* it);
 * - control batches (transaction markers) are never delivered;
 * - with read_committed, the batches of transactions the broker lists as aborted are dropped:
 *   a producer's transactional batches are skipped from the aborted transaction's first offset
 *   until that producer's ABORT marker.
 *
 * `nextOffset` moves past skipped batches too, so a partition ending in a control batch or an
 * aborted transaction does not fetch the same bytes forever.
 */
export function consumableRecords(
  batches: readonly RecordBatch[],
  fetchOffset: number,
  abortedTransactions: readonly FetchResponseAbortedTransaction[] | null,
  readCommitted: boolean,
): ConsumableRecords {
  const aborted = readCommitted && abortedTransactions ? [...abortedTransactions].sort(byFirstOffset) : [];
  const abortingProducers = new Set<number>();
  let nextAborted = 0;
  const records: KafkaRecord[] = [];
  let nextOffset = fetchOffset;
  for (const batch of batches) {
    const lastOffset = batch.baseOffset + batch.lastOffsetDelta;
    nextOffset = Math.max(nextOffset, lastOffset + 1);
    while (
      nextAborted < aborted.length &&
      (aborted[nextAborted] as FetchResponseAbortedTransaction).firstOffset <= lastOffset
    ) {
      abortingProducers.add((aborted[nextAborted] as FetchResponseAbortedTransaction).producerId);
      nextAborted++;
    }
    if (batch.control) {
      const key = batch.records[0]?.key;
      if (key && key.length >= 4 && key.readInt16BE(2) === ABORT_MARKER) abortingProducers.delete(batch.producerId);
      continue;
    }
    if (batch.transactional && abortingProducers.has(batch.producerId)) continue;
    for (const record of batch.records) if (record.offset >= fetchOffset) records.push(record);
  }
  return { records, nextOffset };
}

function byFirstOffset(a: FetchResponseAbortedTransaction, b: FetchResponseAbortedTransaction): number {
  return a.firstOffset - b.firstOffset;
}
