import { ProtocolError } from "../protocol-error.js";
import type { Reader } from "../reader.js";
import type { Writer } from "../writer.js";
import { sizeOfVarint, sizeOfVarlong } from "./varint-size.js";

export interface RecordHeader {
  key: string;
  value: Buffer | null;
}

/**
 * A record decoded from a batch. Named KafkaRecord so it does not shadow TypeScript's
 * `Record<K, V>`. Keys, values and header values are slices of the bytes they were decoded
 * from (the fetched buffer or the decompressed records), never copies.
 */
export interface KafkaRecord {
  /** Absolute offset: the batch's baseOffset + offsetDelta. */
  offset: number;
  offsetDelta: number;
  /** Absolute timestamp in ms (for LogAppendTime batches, the batch's maxTimestamp). */
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
}

/** A record to encode. A decoded KafkaRecord is one too, so batches can be re-encoded. */
export interface RecordInput {
  key?: Buffer | null;
  value?: Buffer | null;
  headers?: readonly RecordHeader[];
  /** ms since the epoch; defaults to the batch's base timestamp (or now). */
  timestamp?: number;
  /** Defaults to the record's position in the batch. */
  offsetDelta?: number;
}

/**
 * The smallest encoded record: length, attributes, timestamp delta, offset delta, key length,
 * value length and header count, one byte each. Bounds record counts against input size.
 */
export const MIN_RECORD_SIZE = 7;
/** A header with an empty key and a null value: two one-byte varints. */
const MIN_HEADER_SIZE = 2;
const NULL_LENGTH = -1;

function badRecord(detail: string): ProtocolError {
  return new ProtocolError("PROTOCOL_BAD_RECORD", `malformed record: ${detail}`);
}

/** What the sizing pass learns about a record, so the writing pass does not measure again. */
export interface MeasuredRecord {
  readonly timestampDelta: number;
  readonly offsetDelta: number;
  /** Bytes after the length prefix. */
  readonly bodySize: number;
  /** Header keys encoded to UTF-8 once, for both measuring and writing. */
  readonly headerKeys: Buffer[] | undefined;
}

function sizeOfNullableBytes(data: Buffer | null | undefined): number {
  return data == null ? 1 : sizeOfVarint(data.length) + data.length;
}

export function measureRecord(record: RecordInput, timestampDelta: number, offsetDelta: number): MeasuredRecord {
  const headers = record.headers;
  const headerCount = headers?.length ?? 0;
  let bodySize =
    1 + // attributes
    sizeOfVarlong(timestampDelta) +
    sizeOfVarint(offsetDelta) +
    sizeOfNullableBytes(record.key) +
    sizeOfNullableBytes(record.value) +
    sizeOfVarint(headerCount);
  let headerKeys: Buffer[] | undefined;
  if (headers && headerCount > 0) {
    headerKeys = new Array<Buffer>(headerCount);
    for (let i = 0; i < headerCount; i++) {
      const header = headers[i] as RecordHeader;
      const key = Buffer.from(header.key, "utf8");
      headerKeys[i] = key;
      bodySize += sizeOfVarint(key.length) + key.length + sizeOfNullableBytes(header.value);
    }
  }
  return { timestampDelta, offsetDelta, bodySize, headerKeys };
}

/** Size of the record on the wire, length prefix included. */
export function encodedRecordSize(measured: MeasuredRecord): number {
  return sizeOfVarint(measured.bodySize) + measured.bodySize;
}

function writeNullableBytes(writer: Writer, data: Buffer | null | undefined): void {
  if (data == null) writer.writeVarint(NULL_LENGTH);
  else writer.writeVarint(data.length).writeRaw(data);
}

export function writeRecord(writer: Writer, record: RecordInput, measured: MeasuredRecord): void {
  writer
    .writeVarint(measured.bodySize)
    .writeInt8(0) // record attributes: no bit is defined
    .writeVarlong(measured.timestampDelta)
    .writeVarint(measured.offsetDelta);
  writeNullableBytes(writer, record.key);
  writeNullableBytes(writer, record.value);
  const keys = measured.headerKeys;
  writer.writeVarint(keys?.length ?? 0);
  if (!keys) return;
  const headers = record.headers as readonly RecordHeader[];
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as Buffer;
    writer.writeVarint(key.length).writeRaw(key);
    writeNullableBytes(writer, (headers[i] as RecordHeader).value);
  }
}

function readNullableBytes(reader: Reader, what: string): Buffer | null {
  const length = reader.readVarint();
  if (length >= 0) return reader.readRaw(length, what);
  if (length === NULL_LENGTH) return null;
  throw badRecord(`${what} length ${length}`);
}

/**
 * Reads the record at the reader's position. `fixedTimestamp`, when given, replaces the
 * record's own timestamp: Kafka consumers give every record of a LogAppendTime batch the
 * batch's maxTimestamp.
 */
export function readRecord(
  reader: Reader,
  baseOffset: number,
  baseTimestamp: number,
  fixedTimestamp: number | undefined,
): KafkaRecord {
  const length = reader.readVarint();
  if (length < MIN_RECORD_SIZE - 1 || length > reader.remaining) throw badRecord(`record length ${length}`);
  const end = reader.offset + length;
  reader.readInt8(); // attributes
  const timestampDelta = reader.readVarlong();
  const offsetDelta = reader.readVarint();
  const key = readNullableBytes(reader, "key");
  const value = readNullableBytes(reader, "value");
  const headerCount = reader.readVarint();
  // Checked against the bytes left in this record before allocating the array.
  if (headerCount < 0 || headerCount * MIN_HEADER_SIZE > end - reader.offset) {
    throw badRecord(`header count ${headerCount}`);
  }
  const headers = new Array<RecordHeader>(headerCount);
  for (let i = 0; i < headerCount; i++) {
    const keyLength = reader.readVarint();
    if (keyLength < 0) throw badRecord(`header key length ${keyLength}`);
    const headerKey = reader.readRaw(keyLength, "header key").toString("utf8");
    headers[i] = { key: headerKey, value: readNullableBytes(reader, "header value") };
  }
  // Fields may run past the declared length before we notice; they stay inside the
  // reader's bounds, and the record is rejected here.
  if (reader.offset !== end) throw badRecord(`length ${length} disagrees with its fields`);
  return {
    offset: baseOffset + offsetDelta,
    offsetDelta,
    timestamp: fixedTimestamp ?? baseTimestamp + timestampDelta,
    key,
    value,
    headers,
  };
}
