import { CodecId } from "../compression/codec.js";
import { DEFAULT_MAX_DECOMPRESSED_BYTES } from "../compression/codecs.js";
import { DecompressionBudget } from "../compression/decompression-budget.js";
import { ProtocolError } from "../protocol-error.js";
import { Reader } from "../reader.js";
import { ATTRIBUTE_CODEC_MASK, ATTRIBUTE_LOG_APPEND_TIME, readInt64At } from "./batch-header.js";
import { computeLegacyMessageCrc } from "./checksums.js";
import { encodeRecordBatch } from "./encode-record-batch.js";
import type { RecordInput } from "./record.js";
import type { RecordBatch } from "./record-batch.js";

/**
 * Legacy message sets (magic 0 and 1): reading them, and turning a produced set into one v2
 * batch so the log only ever stores v2. Only old clients (sarama with an old
 * config.Version) send these; Kafka 4.0 refuses them outright.
 *
 * Set = repeated `int64 offset, int32 size, message`; message = `uint32 crc` (CRC-32 over
 * the rest), `int8 magic`, `int8 attributes`, `int64 timestamp` (magic 1 only), `bytes key`,
 * `bytes value`. A compressed message is a wrapper whose value is a compressed inner set.
 */

/** int64 offset + int32 size in front of every message. */
const ENTRY_OVERHEAD = 12;
/** crc, magic, attributes, key length, value length: the smallest magic-0 message. */
const MIN_MESSAGE_SIZE = 14;
const CRC_SIZE = 4;
const NO_TIMESTAMP = -1;

export interface LegacyMessage {
  /** Absolute offset (inner offsets of compressed sets already resolved). */
  offset: number;
  magic: 0 | 1;
  attributes: number;
  /** -1 for magic 0, which has no timestamps. */
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
}

/** One top-level entry: a plain message, or a compressed wrapper and the messages inside. */
export interface LegacyEntry {
  offset: number;
  /** Bytes the entry takes in the set, offset and size fields included. */
  size: number;
  magic: 0 | 1;
  crc: number;
  attributes: number;
  codec: number;
  logAppendTime: boolean;
  timestamp: number;
  /** The message itself when uncompressed, else the wrapper's inner messages. */
  messages: LegacyMessage[];
}

export interface LegacyReadOptions {
  /** Most bytes all compressed wrappers of the input may decompress to, together. */
  maxDecompressedBytes?: number;
}

interface ParsedMessage {
  crc: number;
  magic: 0 | 1;
  attributes: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
}

function badMessage(detail: string): ProtocolError {
  return new ProtocolError("PROTOCOL_BAD_RECORD", `malformed legacy message: ${detail}`);
}

/** Parses the `size`-byte message whose CRC field is at `at`, verifying the CRC. */
function parseMessage(buf: Buffer, at: number, size: number): ParsedMessage {
  const end = at + size;
  const reader = new Reader(buf, at, end);
  const crc = reader.readUInt32();
  const magic = reader.readInt8();
  if (magic !== 0 && magic !== 1) {
    throw new ProtocolError("PROTOCOL_BAD_MAGIC", `magic byte ${magic} in a legacy message set`);
  }
  const computed = computeLegacyMessageCrc(buf, at + CRC_SIZE, end);
  if (computed !== crc) {
    throw new ProtocolError(
      "PROTOCOL_CRC_MISMATCH",
      `legacy message: stored CRC 0x${crc.toString(16)}, computed 0x${computed.toString(16)}`,
    );
  }
  const attributes = reader.readInt8();
  const timestamp = magic === 1 ? reader.readInt64() : NO_TIMESTAMP;
  const key = reader.readNullableBytes();
  const value = reader.readNullableBytes();
  if (reader.remaining !== 0) throw badMessage(`${reader.remaining} bytes after the value`);
  return { crc, magic, attributes, timestamp, key, value };
}

/** Reads the message size at `at` and checks it can hold a message at all. */
function messageSizeAt(buf: Buffer, at: number): number {
  const size = buf.readInt32BE(at + 8);
  if (size < MIN_MESSAGE_SIZE) throw badMessage(`size ${size}`);
  return size;
}

/**
 * The messages inside a compressed wrapper. Nested compression is refused, as Kafka does
 * (and it would let one wrapper recurse). Inner offsets follow the wrapper's magic: with
 * magic 1 they are relative and the wrapper carries the absolute offset of the last one;
 * with magic 0 they are absolute already.
 */
async function unwrap(
  wrapper: ParsedMessage,
  wrapperOffset: number,
  budget: DecompressionBudget,
): Promise<LegacyMessage[]> {
  if (wrapper.value === null) throw badMessage("compressed wrapper without a value");
  const inner = await budget.decompress(wrapper.attributes & ATTRIBUTE_CODEC_MASK, wrapper.value);
  const logAppendTime = wrapper.magic === 1 && (wrapper.attributes & ATTRIBUTE_LOG_APPEND_TIME) !== 0;
  const messages: LegacyMessage[] = [];
  let at = 0;
  while (at < inner.length) {
    // Unlike the outer set, nothing cuts an inner set short: a partial message is corrupt.
    if (inner.length - at < ENTRY_OVERHEAD) throw badMessage("truncated inner message set");
    const size = messageSizeAt(inner, at);
    if (size > inner.length - at - ENTRY_OVERHEAD) throw badMessage("truncated inner message set");
    const message = parseMessage(inner, at + ENTRY_OVERHEAD, size);
    if ((message.attributes & ATTRIBUTE_CODEC_MASK) !== 0) {
      throw new ProtocolError("PROTOCOL_NESTED_COMPRESSION", "compressed message inside a compressed message");
    }
    messages.push({
      offset: readInt64At(inner, at),
      magic: message.magic,
      attributes: message.attributes,
      // A LogAppendTime wrapper's timestamp is the one that counts for every inner message.
      timestamp: logAppendTime ? wrapper.timestamp : message.timestamp,
      key: message.key,
      value: message.value,
    });
    at += ENTRY_OVERHEAD + size;
  }
  const last = messages[messages.length - 1];
  if (!last) throw badMessage("compressed wrapper with no messages inside");
  if (wrapper.magic > 0) {
    const shift = wrapperOffset - last.offset;
    for (const message of messages) message.offset += shift;
  }
  return messages;
}

/**
 * Reads the top-level entry at `at`, decompressing a wrapper within `budget`. Returns
 * undefined when the input ends before the entry does (a Fetch response cut short).
 */
export async function decodeLegacyEntry(
  buf: Buffer,
  at: number,
  budget: DecompressionBudget,
): Promise<LegacyEntry | undefined> {
  if (buf.length - at < ENTRY_OVERHEAD) return undefined;
  const size = messageSizeAt(buf, at);
  if (size > buf.length - at - ENTRY_OVERHEAD) return undefined;
  const offset = readInt64At(buf, at);
  const message = parseMessage(buf, at + ENTRY_OVERHEAD, size);
  const codec = message.attributes & ATTRIBUTE_CODEC_MASK;
  const messages =
    codec === CodecId.none
      ? [
          {
            offset,
            magic: message.magic,
            attributes: message.attributes,
            timestamp: message.timestamp,
            key: message.key,
            value: message.value,
          },
        ]
      : await unwrap(message, offset, budget);
  return {
    offset,
    size: ENTRY_OVERHEAD + size,
    magic: message.magic,
    crc: message.crc,
    attributes: message.attributes,
    codec,
    logAppendTime: message.magic === 1 && (message.attributes & ATTRIBUTE_LOG_APPEND_TIME) !== 0,
    timestamp: message.timestamp,
    messages,
  };
}

/** Reads a whole message set; a truncated trailing entry is dropped, as clients do. */
export async function readLegacyMessageSet(buf: Buffer, options: LegacyReadOptions = {}): Promise<LegacyEntry[]> {
  const budget = new DecompressionBudget(options.maxDecompressedBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES);
  const entries: LegacyEntry[] = [];
  let at = 0;
  for (;;) {
    const entry = await decodeLegacyEntry(buf, at, budget);
    if (!entry) return entries;
    entries.push(entry);
    at += entry.size;
  }
}

/** Presents a legacy entry as a RecordBatch, so fetch decoding returns one shape for every magic. */
export function legacyEntryToBatch(entry: LegacyEntry): RecordBatch {
  const { messages } = entry;
  const first = messages[0] as LegacyMessage;
  let maxTimestamp = NO_TIMESTAMP;
  for (const message of messages) if (message.timestamp > maxTimestamp) maxTimestamp = message.timestamp;
  return {
    baseOffset: first.offset,
    size: entry.size,
    partitionLeaderEpoch: -1,
    magic: entry.magic,
    crc: entry.crc,
    attributes: entry.attributes,
    lastOffsetDelta: (messages[messages.length - 1] as LegacyMessage).offset - first.offset,
    baseTimestamp: first.timestamp,
    maxTimestamp,
    producerId: -1,
    producerEpoch: -1,
    baseSequence: -1,
    recordsCount: messages.length,
    codec: entry.codec,
    logAppendTime: entry.logAppendTime,
    transactional: false,
    control: false,
    records: messages.map((message) => ({
      offset: message.offset,
      offsetDelta: message.offset - first.offset,
      timestamp: message.timestamp,
      key: message.key,
      value: message.value,
      headers: [],
    })),
  };
}

export interface UpConvertOptions extends LegacyReadOptions {
  /** Codec of the v2 batch; default: the codec the producer used (its first wrapper's). */
  codec?: number;
}

/**
 * Turns a legacy message set from Produce v0–2 into one v2 batch with the same records, in
 * order, with CreateTime timestamps (-1 for magic 0, which has none) and no producer id.
 * Offsets are dropped: the broker assigns them. Returns an empty buffer for an empty set.
 */
export async function upConvertToV2(buf: Buffer, options: UpConvertOptions = {}): Promise<Buffer> {
  const entries = await readLegacyMessageSet(buf, options);
  const records: RecordInput[] = [];
  for (const entry of entries) {
    for (const message of entry.messages) {
      records.push({ timestamp: message.timestamp, key: message.key, value: message.value });
    }
  }
  if (records.length === 0) return Buffer.alloc(0);
  const codec = options.codec ?? entries.find((entry) => entry.codec !== CodecId.none)?.codec ?? CodecId.none;
  return encodeRecordBatch({ records, codec });
}
