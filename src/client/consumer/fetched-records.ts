import { CodecId } from "../../protocol/compression/codec.js";
import type { FetchResponseAbortedTransaction } from "../../protocol/generated/fetch.js";
import { ProtocolError } from "../../protocol/protocol-error.js";
import {
  ATTRIBUTE_CODEC_MASK,
  BATCH_HEADER_SIZE,
  BATCH_LOG_OVERHEAD,
  BATCH_OFFSETS,
  batchFlags,
  readBatchHeader,
  readInt64At,
} from "../../protocol/records/batch-header.js";
import { decodeRecordBatches } from "../../protocol/records/decode-record-batches.js";
import type { KafkaRecord } from "../../protocol/records/record.js";

/** Control record types (the int16 after the version in a control record's key). */
const ABORT_MARKER = 0;
/** Bytes needed to see an entry's length and magic byte, at the same place in every format. */
const MAGIC_END = BATCH_OFFSETS.magic + 1;
/** A legacy (magic 0/1) message's attributes follow its magic byte; their low bits name the codec. */
const LEGACY_ATTRIBUTES = MAGIC_END;

/** One fetched record batch (or legacy message-set entry), still encoded. */
export interface FetchedBatch {
  bytes: Buffer;
  /** Records below this offset are dropped when it is decoded: the fetch started inside the batch. */
  minOffset: number;
  /** The offset of its last record (or of the last one it had before compaction). */
  lastOffset: number;
  /** Its records must be decompressed (off the main thread for some codecs) before they are read. */
  compressed: boolean;
}

export interface ConsumableBatches {
  /** The batches that may hold records to deliver, in offset order. */
  batches: FetchedBatch[];
  /** Where the next Fetch starts: past the last whole batch, delivered or skipped. */
  nextOffset: number;
}

/**
 * Picks out of a partition's fetched bytes the batches a consumer may deliver, reading only
 * their headers, so that records are decoded (and take memory as objects) only when their
 * turn to be delivered comes:
 *
 * - batches wholly below `fetchOffset` are dropped (a fetch starts at the batch *containing* it);
 * - control batches (transaction markers) are never delivered;
 * - with read_committed, the batches of transactions the broker lists as aborted are dropped:
 *   a producer's transactional batches are skipped from the aborted transaction's first offset
 *   until that producer's ABORT marker;
 * - a truncated batch at the end (Fetch responses are cut at max_bytes) is left for the next fetch.
 *
 * `nextOffset` moves past skipped batches too, so a partition ending in a control batch or an
 * aborted transaction does not fetch the same bytes forever. Throws a ProtocolError for bytes
 * that are not record batches.
 */
export async function consumableBatches(
  bytes: Buffer,
  fetchOffset: number,
  abortedTransactions: readonly FetchResponseAbortedTransaction[] | null,
  readCommitted: boolean,
): Promise<ConsumableBatches> {
  const aborted = readCommitted && abortedTransactions ? [...abortedTransactions].sort(byFirstOffset) : [];
  const abortingProducers = new Set<number>();
  let nextAborted = 0;
  const batches: FetchedBatch[] = [];
  let nextOffset = fetchOffset;
  for (let at = 0; bytes.length - at >= MAGIC_END; ) {
    const size = bytes.readInt32BE(at + BATCH_OFFSETS.batchLength) + BATCH_LOG_OVERHEAD;
    const magic = bytes.readInt8(at + BATCH_OFFSETS.magic);
    if ((magic === 2 && size < BATCH_HEADER_SIZE) || size <= MAGIC_END || magic < 0 || magic > 2) {
      throw new ProtocolError("PROTOCOL_BAD_BATCH_LENGTH", `entry at byte ${at}: magic ${magic}, ${size} bytes`);
    }
    if (size > bytes.length - at) break;
    const slice = bytes.subarray(at, at + size);
    at += size;
    if (magic !== 2) {
      // Legacy message sets (magic 0/1) know no transactions; an entry's offset is its last one's.
      const lastOffset = readInt64At(slice, 0);
      nextOffset = Math.max(nextOffset, lastOffset + 1);
      // size > MAGIC_END (checked above), so the attributes byte is there.
      const compressed = ((slice[LEGACY_ATTRIBUTES] as number) & ATTRIBUTE_CODEC_MASK) !== CodecId.none;
      if (lastOffset >= fetchOffset) batches.push({ bytes: slice, minOffset: fetchOffset, lastOffset, compressed });
      continue;
    }
    const header = readBatchHeader(slice);
    const flags = batchFlags(header.attributes);
    const lastOffset = header.baseOffset + header.lastOffsetDelta;
    nextOffset = Math.max(nextOffset, lastOffset + 1);
    while (
      nextAborted < aborted.length &&
      (aborted[nextAborted] as FetchResponseAbortedTransaction).firstOffset <= lastOffset
    ) {
      abortingProducers.add((aborted[nextAborted] as FetchResponseAbortedTransaction).producerId);
      nextAborted++;
    }
    if (flags.control) {
      // Markers are tiny: decoded here, for their type.
      const [control] = await decodeRecordBatches(slice);
      const key = control?.records[0]?.key;
      if (key && key.length >= 4 && key.readInt16BE(2) === ABORT_MARKER) abortingProducers.delete(header.producerId);
      continue;
    }
    if (flags.transactional && abortingProducers.has(header.producerId)) continue;
    if (lastOffset < fetchOffset) continue;
    batches.push({ bytes: slice, minOffset: fetchOffset, lastOffset, compressed: flags.codec !== CodecId.none });
  }
  return { batches, nextOffset };
}

/**
 * The records of a fetched batch from its `minOffset` on. Verifies the CRC and decompresses;
 * rejects with a ProtocolError for a corrupt batch.
 */
export async function decodeFetchedBatch(batch: FetchedBatch): Promise<KafkaRecord[]> {
  const decoded = await decodeRecordBatches(batch.bytes);
  const first = decoded[0];
  // A v2 slice is one batch, usually delivered whole: its array is kept as it is.
  if (decoded.length === 1 && first && (first.records[0]?.offset ?? batch.minOffset) >= batch.minOffset) {
    return first.records;
  }
  const records: KafkaRecord[] = [];
  for (const { records: batchRecords } of decoded) {
    for (const record of batchRecords) if (record.offset >= batch.minOffset) records.push(record);
  }
  return records;
}

function byFirstOffset(a: FetchResponseAbortedTransaction, b: FetchResponseAbortedTransaction): number {
  return a.firstOffset - b.firstOffset;
}
