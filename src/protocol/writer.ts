import type { UnknownTaggedField } from "./reader.js";

const TWO_POW_32 = 4294967296;
/** Byte fields at least this large are referenced, not copied, in the output chunk list. */
const ZERO_COPY_THRESHOLD = 1024;
/** Just under Node's pooling threshold (half of Buffer.poolSize), so a small message allocates no ArrayBuffer. */
const INITIAL_SCRATCH = 4095;

/**
 * Writes Kafka primitives. Small values go into a growing scratch buffer; large byte fields
 * (record batches) are kept as references in a chunk list, so encoding a Fetch response
 * never copies the record bytes. `finish()` returns the chunks, ready for a vectored write.
 */
export class Writer {
  private scratch: Buffer;
  private pos = 0;
  /** Start of the part of `scratch` not yet moved to `chunks`. */
  private flushedUpTo = 0;
  private readonly chunks: Buffer[] = [];
  private chunksLength = 0;

  constructor(initialSize = INITIAL_SCRATCH) {
    this.scratch = Buffer.allocUnsafe(initialSize);
  }

  /** Total bytes written so far. */
  get length(): number {
    return this.chunksLength + (this.pos - this.flushedUpTo);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.scratch.length) return;
    // Move what is pending to the chunk list and start a fresh scratch buffer; the old one
    // stays referenced by the chunk, so it is never overwritten.
    this.flushScratch();
    this.scratch = Buffer.allocUnsafe(Math.max(INITIAL_SCRATCH, n, this.scratch.length * 2));
    this.pos = 0;
    this.flushedUpTo = 0;
  }

  private flushScratch(): void {
    if (this.pos > this.flushedUpTo) {
      const chunk = this.scratch.subarray(this.flushedUpTo, this.pos);
      this.chunks.push(chunk);
      this.chunksLength += chunk.length;
      this.flushedUpTo = this.pos;
    }
  }

  writeInt8(v: number): this {
    this.ensure(1);
    this.scratch.writeInt8(v, this.pos);
    this.pos += 1;
    return this;
  }

  writeUInt8(v: number): this {
    this.ensure(1);
    this.scratch[this.pos++] = v;
    return this;
  }

  writeInt16(v: number): this {
    this.ensure(2);
    this.scratch.writeInt16BE(v, this.pos);
    this.pos += 2;
    return this;
  }

  writeUInt16(v: number): this {
    this.ensure(2);
    this.scratch.writeUInt16BE(v, this.pos);
    this.pos += 2;
    return this;
  }

  writeInt32(v: number): this {
    this.ensure(4);
    this.scratch.writeInt32BE(v, this.pos);
    this.pos += 4;
    return this;
  }

  writeUInt32(v: number): this {
    this.ensure(4);
    this.scratch.writeUInt32BE(v, this.pos);
    this.pos += 4;
    return this;
  }

  writeInt64(v: number): this {
    this.ensure(8);
    const high = Math.floor(v / TWO_POW_32);
    this.scratch.writeInt32BE(high | 0, this.pos);
    this.scratch.writeUInt32BE((v - high * TWO_POW_32) >>> 0, this.pos + 4);
    this.pos += 8;
    return this;
  }

  writeFloat64(v: number): this {
    this.ensure(8);
    this.scratch.writeDoubleBE(v, this.pos);
    this.pos += 8;
    return this;
  }

  writeBool(v: boolean): this {
    return this.writeUInt8(v ? 1 : 0);
  }

  writeUuid(uuid: string): this {
    const hex = uuid.replace(/-/g, "");
    if (hex.length !== 32 || !/^[0-9a-fA-F]+$/.test(hex)) throw new RangeError(`not a UUID: ${uuid}`);
    this.ensure(16);
    this.scratch.write(hex, this.pos, 16, "hex");
    this.pos += 16;
    return this;
  }

  writeUVarint(v: number): this {
    this.ensure(5);
    let value = v >>> 0;
    while (value >= 0x80) {
      this.scratch[this.pos++] = (value & 0x7f) | 0x80;
      value >>>= 7;
    }
    this.scratch[this.pos++] = value;
    return this;
  }

  writeVarint(v: number): this {
    return this.writeUVarint(((v << 1) ^ (v >> 31)) >>> 0);
  }

  writeVarlong(v: number): this {
    if (v >= -0x40000000 && v < 0x40000000) return this.writeVarint(v);
    this.ensure(10);
    let value = v >= 0 ? v * 2 : -v * 2 - 1;
    while (value >= 0x80) {
      this.scratch[this.pos++] = (value % 0x80) | 0x80;
      value = Math.floor(value / 0x80);
    }
    this.scratch[this.pos++] = value;
    return this;
  }

  /** Raw bytes with no length prefix; large buffers are referenced, not copied. */
  writeRaw(data: Buffer): this {
    if (data.length >= ZERO_COPY_THRESHOLD) {
      this.flushScratch();
      this.chunks.push(data);
      this.chunksLength += data.length;
      return this;
    }
    this.ensure(data.length);
    data.copy(this.scratch, this.pos);
    this.pos += data.length;
    return this;
  }

  private writeUtf8(s: string, length: number): void {
    this.ensure(length);
    this.scratch.write(s, this.pos, length, "utf8");
    this.pos += length;
  }

  writeString(s: string): this {
    const length = Buffer.byteLength(s, "utf8");
    if (length > 0x7fff) throw new RangeError(`string of ${length} bytes is too long for an int16 length`);
    this.writeInt16(length);
    this.writeUtf8(s, length);
    return this;
  }

  writeNullableString(s: string | null | undefined): this {
    if (s == null) return this.writeInt16(-1);
    return this.writeString(s);
  }

  writeCompactString(s: string): this {
    const length = Buffer.byteLength(s, "utf8");
    this.writeUVarint(length + 1);
    this.writeUtf8(s, length);
    return this;
  }

  writeCompactNullableString(s: string | null | undefined): this {
    if (s == null) return this.writeUVarint(0);
    return this.writeCompactString(s);
  }

  writeBytes(data: Buffer): this {
    this.writeInt32(data.length);
    return this.writeRaw(data);
  }

  writeNullableBytes(data: Buffer | null | undefined): this {
    if (data == null) return this.writeInt32(-1);
    return this.writeBytes(data);
  }

  writeCompactBytes(data: Buffer): this {
    this.writeUVarint(data.length + 1);
    return this.writeRaw(data);
  }

  writeCompactNullableBytes(data: Buffer | null | undefined): this {
    if (data == null) return this.writeUVarint(0);
    return this.writeCompactBytes(data);
  }

  /** A records field: record batches given as one buffer or several, written back to back. */
  writeRecords(records: Buffer | readonly Buffer[] | null | undefined): this {
    if (records == null) return this.writeInt32(-1);
    if (Buffer.isBuffer(records)) return this.writeBytes(records);
    this.writeInt32(totalLength(records));
    for (const chunk of records) this.writeRaw(chunk);
    return this;
  }

  writeCompactRecords(records: Buffer | readonly Buffer[] | null | undefined): this {
    if (records == null) return this.writeUVarint(0);
    if (Buffer.isBuffer(records)) return this.writeCompactBytes(records);
    this.writeUVarint(totalLength(records) + 1);
    for (const chunk of records) this.writeRaw(chunk);
    return this;
  }

  writeArray<T>(items: readonly T[], writeElement: (writer: Writer, item: T) => void): this {
    this.writeInt32(items.length);
    for (const item of items) writeElement(this, item);
    return this;
  }

  writeNullableArray<T>(items: readonly T[] | null | undefined, writeElement: (writer: Writer, item: T) => void): this {
    if (items == null) return this.writeInt32(-1);
    return this.writeArray(items, writeElement);
  }

  writeCompactArray<T>(items: readonly T[], writeElement: (writer: Writer, item: T) => void): this {
    this.writeUVarint(items.length + 1);
    for (const item of items) writeElement(this, item);
    return this;
  }

  writeCompactNullableArray<T>(
    items: readonly T[] | null | undefined,
    writeElement: (writer: Writer, item: T) => void,
  ): this {
    if (items == null) return this.writeUVarint(0);
    return this.writeCompactArray(items, writeElement);
  }

  /**
   * Writes a tagged-field section: the known fields (already encoded, by tag) merged with the
   * unknown ones kept from decoding, in ascending tag order as the format requires.
   */
  writeTaggedFields(known: UnknownTaggedField[] | undefined, unknown: UnknownTaggedField[] | undefined): this {
    const fields = known && unknown ? [...known, ...unknown].sort((a, b) => a.tag - b.tag) : (known ?? unknown);
    if (!fields || fields.length === 0) return this.writeUVarint(0);
    this.writeUVarint(fields.length);
    for (const field of fields) {
      this.writeUVarint(field.tag);
      this.writeUVarint(field.data.length);
      this.writeRaw(field.data);
    }
    return this;
  }

  /** The output as a list of buffers (zero-copy for large byte fields). */
  finish(): Buffer[] {
    this.flushScratch();
    return this.chunks;
  }

  /** The output as one buffer (copies once; fine for small messages). */
  toBuffer(): Buffer {
    const chunks = this.finish();
    return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, this.chunksLength);
  }
}

function totalLength(chunks: readonly Buffer[]): number {
  let length = 0;
  for (const chunk of chunks) length += chunk.length;
  return length;
}
