import { codecById } from "../../protocol/compression/codecs.js";
import { BATCH_HEADER_SIZE, BATCH_OFFSETS, writeBatchHeader } from "../../protocol/records/batch-header.js";
import { computeBatchCrc } from "../../protocol/records/checksums.js";
import { sizeOfVarint, sizeOfVarlong } from "../../protocol/records/varint-size.js";
import type { SerializedBytes } from "../serializers.js";

export interface SerializedHeader {
  key: string;
  value: SerializedBytes;
}

/** Smallest buffer a batch starts with; it doubles as records arrive, up to the batch limit. */
const MIN_CAPACITY = 16 * 1024;
/** A finished batch whose buffer is this much larger than its bytes is copied to a snug one. */
const MAX_SLACK_BYTES = 32 * 1024;

function byteLength(bytes: SerializedBytes): number {
  if (bytes === null) return -1;
  return typeof bytes === "string" ? Buffer.byteLength(bytes, "utf8") : bytes.length;
}

/** The bytes a length-prefixed field takes: its zig-zag length, then the bytes (none for null). */
function fieldSize(length: number): number {
  return sizeOfVarint(length) + Math.max(length, 0);
}

/**
 * Keeps buffers of exactly one batch size (batchBytes) once their batch is acknowledged, for
 * the next batches: a full batch then neither allocates nor touches fresh memory pages, which
 * costs more than encoding its records.
 */
export class BatchBufferPool {
  private readonly free: Buffer[] = [];

  constructor(
    readonly bufferSize: number,
    private readonly maxPooled: number,
  ) {}

  take(): Buffer | undefined {
    return this.free.pop();
  }

  give(buffer: Buffer): void {
    if (buffer.length === this.bufferSize && this.free.length < this.maxPooled) this.free.push(buffer);
  }
}

/**
 * Encodes records straight into one growing buffer as the producer accepts them, leaving room
 * for the 61-byte batch header in front: each record is encoded once, no per-record object is
 * kept, and an uncompressed batch is sent from this very buffer. The header (producer id,
 * sequence, CRC) is written when the batch is sent, and again if it must be re-stamped.
 */
export class RecordBatchBuilder {
  private buf: Buffer;
  private pos = BATCH_HEADER_SIZE;
  recordCount = 0;
  baseTimestamp = 0;
  maxTimestamp = -1;

  constructor(
    /** Records stop fitting past this many bytes (header included), except the first one. */
    private readonly maxBytes: number,
    firstRecordBytes: number,
    private readonly pool?: BatchBufferPool,
  ) {
    const pooled = BATCH_HEADER_SIZE + firstRecordBytes <= maxBytes ? pool?.take() : undefined;
    this.buf =
      pooled ?? Buffer.allocUnsafe(Math.max(Math.min(MIN_CAPACITY, maxBytes), BATCH_HEADER_SIZE + firstRecordBytes));
  }

  /** Bytes of the batch so far, header included. */
  get sizeBytes(): number {
    return this.pos;
  }

  /**
   * About the bytes `append` will take for a record (the exact count depends on the batch it
   * goes to), known before a partition is chosen.
   */
  static estimateRecordBytes(
    key: SerializedBytes,
    value: SerializedBytes,
    headers: readonly SerializedHeader[],
  ): number {
    let size = 12 + fieldSize(byteLength(key)) + fieldSize(byteLength(value));
    for (const header of headers)
      size += fieldSize(Buffer.byteLength(header.key, "utf8")) + fieldSize(byteLength(header.value));
    return size;
  }

  /**
   * Appends a record; returns the bytes it took, or 0 without appending when the batch is not
   * empty and the record would take it past maxBytes.
   */
  append(
    key: SerializedBytes,
    value: SerializedBytes,
    headers: readonly SerializedHeader[],
    timestamp: number,
  ): number {
    if (this.recordCount === 0) this.baseTimestamp = timestamp;
    const timestampDelta = timestamp - this.baseTimestamp;
    const offsetDelta = this.recordCount;
    const keyLength = byteLength(key);
    const valueLength = byteLength(value);
    let bodySize =
      1 + // attributes
      sizeOfVarlong(timestampDelta) +
      sizeOfVarint(offsetDelta) +
      fieldSize(keyLength) +
      fieldSize(valueLength) +
      sizeOfVarint(headers.length);
    let headerLengths: number[] | undefined;
    if (headers.length > 0) {
      headerLengths = new Array<number>(headers.length * 2);
      for (let i = 0; i < headers.length; i++) {
        const header = headers[i] as SerializedHeader;
        const headerKeyLength = Buffer.byteLength(header.key, "utf8");
        const headerValueLength = byteLength(header.value);
        headerLengths[2 * i] = headerKeyLength;
        headerLengths[2 * i + 1] = headerValueLength;
        bodySize += fieldSize(headerKeyLength) + fieldSize(headerValueLength);
      }
    }
    const recordSize = sizeOfVarint(bodySize) + bodySize;
    if (this.recordCount > 0 && this.pos + recordSize > this.maxBytes) return 0;
    this.ensure(recordSize);

    let pos = this.writeVarint(bodySize, this.pos);
    this.buf[pos++] = 0; // record attributes: no bit is defined
    pos = this.writeVarlong(timestampDelta, pos);
    pos = this.writeVarint(offsetDelta, pos);
    pos = this.writeBytes(key, keyLength, pos);
    pos = this.writeBytes(value, valueLength, pos);
    pos = this.writeVarint(headers.length, pos);
    if (headerLengths) {
      for (let i = 0; i < headers.length; i++) {
        const header = headers[i] as SerializedHeader;
        pos = this.writeBytes(header.key, headerLengths[2 * i] as number, pos);
        pos = this.writeBytes(header.value, headerLengths[2 * i + 1] as number, pos);
      }
    }
    this.pos = pos;
    this.recordCount++;
    if (timestamp > this.maxTimestamp) this.maxTimestamp = timestamp;
    return recordSize;
  }

  /**
   * The batch's bytes with the header still blank, and the buffer they live in if it is worth
   * pooling once the batch is done; the builder must not be used afterwards.
   */
  finish(): { bytes: Buffer; backing: Buffer | undefined } {
    const batch = this.buf.subarray(0, this.pos);
    if (this.buf.length - this.pos <= MAX_SLACK_BYTES) return { bytes: batch, backing: this.buf };
    // A batch sealed early (lingerMs) would pin a mostly empty buffer: copy it, reuse the buffer.
    const snug = Buffer.from(batch);
    this.pool?.give(this.buf);
    return { bytes: snug, backing: undefined };
  }

  /** Gives the buffer back to the pool once its records are copied elsewhere (compressed). */
  release(): void {
    this.pool?.give(this.buf);
  }

  /** Just the records section, for compression. */
  records(): Buffer {
    return this.buf.subarray(BATCH_HEADER_SIZE, this.pos);
  }

  private ensure(bytes: number): void {
    const needed = this.pos + bytes;
    if (needed <= this.buf.length) return;
    const size = Math.max(needed, Math.min(this.maxBytes, this.buf.length * 2));
    const grown = (size === this.maxBytes ? this.pool?.take() : undefined) ?? Buffer.allocUnsafe(size);
    grown.set(this.buf.subarray(0, this.pos));
    this.buf = grown;
  }

  private writeVarint(value: number, pos: number): number {
    let zigzag = ((value << 1) ^ (value >> 31)) >>> 0;
    const buf = this.buf;
    while (zigzag >= 0x80) {
      buf[pos++] = (zigzag & 0x7f) | 0x80;
      zigzag >>>= 7;
    }
    buf[pos++] = zigzag;
    return pos;
  }

  private writeVarlong(value: number, pos: number): number {
    if (value >= -0x40000000 && value < 0x40000000) return this.writeVarint(value, pos);
    let zigzag = value >= 0 ? value * 2 : -value * 2 - 1;
    const buf = this.buf;
    while (zigzag >= 0x80) {
      buf[pos++] = (zigzag % 0x80) | 0x80;
      zigzag = Math.floor(zigzag / 0x80);
    }
    buf[pos++] = zigzag;
    return pos;
  }

  private writeBytes(bytes: SerializedBytes, length: number, pos: number): number {
    pos = this.writeVarint(length, pos);
    if (bytes === null || length === 0) return pos;
    if (typeof bytes === "string") return pos + this.buf.write(bytes, pos, length, "utf8");
    // TypedArray#set: Buffer#copy's argument checks cost more than the copy of a small value.
    this.buf.set(bytes, pos);
    return pos + length;
  }
}

/** A finished batch: its records encoded (and compressed) once, its header written per send. */
export interface SealedBatch {
  /** The whole batch; bytes 0–60 are the header, filled in by `stampBatch`. */
  bytes: Buffer;
  /** The pooled buffer `bytes` lies in, to give back once the batch is acknowledged. */
  backing: Buffer | undefined;
  codec: number;
  recordCount: number;
  baseTimestamp: number;
  maxTimestamp: number;
}

/**
 * Closes a builder into a batch, compressing its records with `codec` (a Kafka codec id);
 * synchronous without compression.
 */
export function sealBatch(builder: RecordBatchBuilder, codec: number): SealedBatch | Promise<SealedBatch> {
  const summary = {
    codec,
    recordCount: builder.recordCount,
    baseTimestamp: builder.baseTimestamp,
    maxTimestamp: builder.maxTimestamp,
  };
  if (codec === 0) return { ...summary, ...builder.finish() };
  return codecById(codec)
    .compress(builder.records())
    .then((compressed) => {
      builder.release();
      const bytes = Buffer.allocUnsafe(BATCH_HEADER_SIZE + compressed.length);
      compressed.copy(bytes, BATCH_HEADER_SIZE);
      return { ...summary, bytes, backing: undefined };
    });
}

/** Writes the header of `batch` for a producer id, epoch and first sequence (-1s when not idempotent), and its CRC. */
export function stampBatch(batch: SealedBatch, producerId: number, producerEpoch: number, baseSequence: number): void {
  writeBatchHeader(batch.bytes, 0, {
    baseOffset: 0,
    size: batch.bytes.length,
    partitionLeaderEpoch: -1,
    magic: 2,
    attributes: batch.codec,
    lastOffsetDelta: batch.recordCount - 1,
    baseTimestamp: batch.baseTimestamp,
    maxTimestamp: batch.maxTimestamp,
    producerId,
    producerEpoch,
    baseSequence,
    recordsCount: batch.recordCount,
  });
  batch.bytes.writeUInt32BE(computeBatchCrc(batch.bytes, 0, batch.bytes.length), BATCH_OFFSETS.crc);
}
