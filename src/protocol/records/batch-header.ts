/**
 * Field positions of a v2 record batch header (magic 2), and accessors that read or patch
 * them in place. The broker stores and serves batches as opaque bytes; these are the only
 * fields it ever needs to look at.
 */
export const BATCH_OFFSETS = {
  baseOffset: 0,
  batchLength: 8,
  partitionLeaderEpoch: 12,
  magic: 16,
  crc: 17,
  attributes: 21,
  lastOffsetDelta: 23,
  baseTimestamp: 27,
  maxTimestamp: 35,
  producerId: 43,
  producerEpoch: 51,
  baseSequence: 53,
  recordsCount: 57,
} as const;

/** Size of the v2 batch header; records start here. */
export const BATCH_HEADER_SIZE = 61;
/** baseOffset + batchLength: the part of a batch not counted by batchLength. */
export const BATCH_LOG_OVERHEAD = 12;
/** The CRC covers everything from the attributes to the end of the batch. */
export const CRC_START = BATCH_OFFSETS.attributes;

export const ATTRIBUTE_CODEC_MASK = 0x07;
export const ATTRIBUTE_LOG_APPEND_TIME = 0x08;
export const ATTRIBUTE_TRANSACTIONAL = 0x10;
export const ATTRIBUTE_CONTROL = 0x20;

const TWO_POW_32 = 4294967296;

export function readInt64At(buf: Buffer, at: number): number {
  return buf.readInt32BE(at) * TWO_POW_32 + buf.readUInt32BE(at + 4);
}

export function writeInt64At(buf: Buffer, at: number, value: number): void {
  const high = Math.floor(value / TWO_POW_32);
  buf.writeInt32BE(high | 0, at);
  buf.writeUInt32BE((value - high * TWO_POW_32) >>> 0, at + 4);
}

/** The summary of a batch header that the log and the produce path need. */
export interface BatchHeader {
  baseOffset: number;
  /** Total size in bytes of the batch, header included (batchLength + 12). */
  size: number;
  partitionLeaderEpoch: number;
  magic: number;
  crc: number;
  attributes: number;
  lastOffsetDelta: number;
  baseTimestamp: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  recordsCount: number;
}

/** Reads the header of the v2 batch starting at `at`; the caller checks that 61 bytes are there. */
export function readBatchHeader(buf: Buffer, at = 0): BatchHeader {
  return {
    baseOffset: readInt64At(buf, at),
    size: buf.readInt32BE(at + BATCH_OFFSETS.batchLength) + BATCH_LOG_OVERHEAD,
    partitionLeaderEpoch: buf.readInt32BE(at + BATCH_OFFSETS.partitionLeaderEpoch),
    magic: buf.readInt8(at + BATCH_OFFSETS.magic),
    crc: buf.readUInt32BE(at + BATCH_OFFSETS.crc),
    attributes: buf.readInt16BE(at + BATCH_OFFSETS.attributes),
    lastOffsetDelta: buf.readInt32BE(at + BATCH_OFFSETS.lastOffsetDelta),
    baseTimestamp: readInt64At(buf, at + BATCH_OFFSETS.baseTimestamp),
    maxTimestamp: readInt64At(buf, at + BATCH_OFFSETS.maxTimestamp),
    producerId: readInt64At(buf, at + BATCH_OFFSETS.producerId),
    producerEpoch: buf.readInt16BE(at + BATCH_OFFSETS.producerEpoch),
    baseSequence: buf.readInt32BE(at + BATCH_OFFSETS.baseSequence),
    recordsCount: buf.readInt32BE(at + BATCH_OFFSETS.recordsCount),
  };
}

/**
 * Writes every header field of the batch starting at `at` except the CRC, which covers the
 * finished batch and so is computed last (see computeBatchCrc). `size` becomes batchLength.
 */
export function writeBatchHeader(buf: Buffer, at: number, header: Omit<BatchHeader, "crc">): void {
  writeInt64At(buf, at, header.baseOffset);
  buf.writeInt32BE(header.size - BATCH_LOG_OVERHEAD, at + BATCH_OFFSETS.batchLength);
  buf.writeInt32BE(header.partitionLeaderEpoch, at + BATCH_OFFSETS.partitionLeaderEpoch);
  buf.writeInt8(header.magic, at + BATCH_OFFSETS.magic);
  buf.writeInt16BE(header.attributes, at + BATCH_OFFSETS.attributes);
  buf.writeInt32BE(header.lastOffsetDelta, at + BATCH_OFFSETS.lastOffsetDelta);
  writeInt64At(buf, at + BATCH_OFFSETS.baseTimestamp, header.baseTimestamp);
  writeInt64At(buf, at + BATCH_OFFSETS.maxTimestamp, header.maxTimestamp);
  writeInt64At(buf, at + BATCH_OFFSETS.producerId, header.producerId);
  buf.writeInt16BE(header.producerEpoch, at + BATCH_OFFSETS.producerEpoch);
  buf.writeInt32BE(header.baseSequence, at + BATCH_OFFSETS.baseSequence);
  buf.writeInt32BE(header.recordsCount, at + BATCH_OFFSETS.recordsCount);
}

/** The meaning of the attribute bits, as decoders and encoders use them. */
export interface BatchFlags {
  /** Compression codec id (bits 0–2); 0 = none. */
  codec: number;
  /** Bit 3: timestamps were set by the broker; every record's timestamp is maxTimestamp. */
  logAppendTime: boolean;
  /** Bit 4: part of a transaction. */
  transactional: boolean;
  /** Bit 5: a control batch (transaction commit or abort marker). */
  control: boolean;
}

export function batchFlags(attributes: number): BatchFlags {
  return {
    codec: attributes & ATTRIBUTE_CODEC_MASK,
    logAppendTime: (attributes & ATTRIBUTE_LOG_APPEND_TIME) !== 0,
    transactional: (attributes & ATTRIBUTE_TRANSACTIONAL) !== 0,
    control: (attributes & ATTRIBUTE_CONTROL) !== 0,
  };
}

export function batchAttributes(flags: Partial<BatchFlags>): number {
  return (
    ((flags.codec ?? 0) & ATTRIBUTE_CODEC_MASK) |
    (flags.logAppendTime ? ATTRIBUTE_LOG_APPEND_TIME : 0) |
    (flags.transactional ? ATTRIBUTE_TRANSACTIONAL : 0) |
    (flags.control ? ATTRIBUTE_CONTROL : 0)
  );
}
