// What a brook process wrote to disk for a partition, read with the project's record codec:
// lets interop tests check how a client's batches were stored (codec, producer fields), and
// crash tests damage a segment at a batch boundary they know.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { BATCH_LOG_OVERHEAD, BATCH_OFFSETS } from "../../src/protocol/records/batch-header.js";
import { decodeRecordBatches } from "../../src/protocol/records/decode-record-batches.js";
import type { RecordBatch } from "../../src/protocol/records/record-batch.js";

/** The first (and, below segment.bytes, only) segment of a partition. */
export function firstSegmentPath(dataDir: string, topic: string, partition: number): string {
  return join(dataDir, `${topic}-${partition}`, "00000000000000000000.log");
}

export function readSegmentBatches(dataDir: string, topic: string, partition: number): Promise<RecordBatch[]> {
  return decodeRecordBatches(readFileSync(firstSegmentPath(dataDir, topic, partition)));
}

export interface BatchSpan {
  baseOffset: number;
  /** Byte position of the batch in the segment. */
  position: number;
  size: number;
}

/** Where each batch of a segment file starts and ends, from the length fields alone. */
export function batchSpans(segment: Buffer): BatchSpan[] {
  const spans: BatchSpan[] = [];
  let position = 0;
  while (position + BATCH_LOG_OVERHEAD <= segment.length) {
    const size = segment.readInt32BE(position + BATCH_OFFSETS.batchLength) + BATCH_LOG_OVERHEAD;
    spans.push({ baseOffset: Number(segment.readBigInt64BE(position)), position, size });
    position += size;
  }
  return spans;
}
