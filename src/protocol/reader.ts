import { ProtocolError, truncated } from "./protocol-error.js";

const TWO_POW_32 = 4294967296;
const EMPTY_BYTES = Buffer.alloc(0);

/** A tagged field whose tag this codec does not know; kept so it can be re-emitted. */
export interface UnknownTaggedField {
  tag: number;
  data: Buffer;
}

/**
 * Reads Kafka primitives from one buffer. Every read is bounds-checked and throws a
 * ProtocolError rather than reading past the end, and every length is checked against the
 * bytes that remain before anything is allocated, so a hostile length cannot make us
 * allocate more than the frame holds. Byte fields are returned as slices of the input,
 * never copies.
 */
export class Reader {
  readonly buf: Buffer;
  offset: number;
  private readonly end: number;
  private readonly nullAsEmpty: boolean;

  /**
   * `nullAsEmpty`: a null where the schema says a string or bytes cannot be null reads as empty
   * instead of failing. For responses: librdkafka's mock cluster, for one, answers a failed
   * SyncGroup with a null assignment, which librdkafka's own client reads as empty. Requests
   * (what the broker decodes) stay strict.
   */
  constructor(buf: Buffer, offset = 0, end = buf.length, { nullAsEmpty = false } = {}) {
    this.buf = buf;
    this.offset = offset;
    this.end = end;
    this.nullAsEmpty = nullAsEmpty;
  }

  get remaining(): number {
    return this.end - this.offset;
  }

  private need(n: number, what: string): number {
    const at = this.offset;
    if (at + n > this.end) throw truncated(what, n, this.end - at);
    this.offset = at + n;
    return at;
  }

  readInt8(): number {
    return this.buf.readInt8(this.need(1, "int8"));
  }

  readUInt8(): number {
    return this.buf[this.need(1, "uint8")] as number;
  }

  readInt16(): number {
    return this.buf.readInt16BE(this.need(2, "int16"));
  }

  readUInt16(): number {
    return this.buf.readUInt16BE(this.need(2, "uint16"));
  }

  readInt32(): number {
    return this.buf.readInt32BE(this.need(4, "int32"));
  }

  readUInt32(): number {
    return this.buf.readUInt32BE(this.need(4, "uint32"));
  }

  /** int64 as a JS number: exact for |v| <= 2^53, which covers offsets, timestamps and ids in practice. */
  readInt64(): number {
    const at = this.need(8, "int64");
    return this.buf.readInt32BE(at) * TWO_POW_32 + this.buf.readUInt32BE(at + 4);
  }

  readFloat64(): number {
    return this.buf.readDoubleBE(this.need(8, "float64"));
  }

  readBool(): boolean {
    return this.buf[this.need(1, "bool")] !== 0;
  }

  /** A UUID as 32 lowercase hex digits without dashes' ambiguity: the canonical 8-4-4-4-12 form. */
  readUuid(): string {
    const at = this.need(16, "uuid");
    const hex = this.buf.toString("hex", at, at + 16);
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  /**
   * LEB128 unsigned varint, at most 5 bytes (32 bits). Written for speed (the record decoder
   * reads six of these per record): local position, multiplication instead of `2 ** shift`.
   */
  readUVarint(): number {
    const buf = this.buf;
    let at = this.offset;
    let result = 0;
    let multiplier = 1;
    for (let i = 0; i < 5; i++) {
      if (at >= this.end) throw truncated("unsigned varint", 1, 0);
      const byte = buf[at++] as number;
      result += (byte & 0x7f) * multiplier;
      if (byte < 0x80) {
        if (result > 0xffffffff) break;
        this.offset = at;
        return result;
      }
      multiplier *= 128;
    }
    this.offset = at;
    throw new ProtocolError("PROTOCOL_BAD_VARINT", "unsigned varint longer than 32 bits");
  }

  /** Zig-zag signed varint (32 bits), as used inside record batches. */
  readVarint(): number {
    const raw = this.readUVarint();
    return raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
  }

  /** Zig-zag signed varlong (64 bits, exact up to 2^53). */
  readVarlong(): number {
    let result = 0;
    let multiplier = 1;
    for (let i = 0; i < 10; i++) {
      if (this.offset >= this.end) throw truncated("varlong", 1, 0);
      const byte = this.buf[this.offset++] as number;
      result += (byte & 0x7f) * multiplier;
      if ((byte & 0x80) === 0) return result % 2 === 0 ? result / 2 : -(result + 1) / 2;
      multiplier *= 128;
    }
    throw new ProtocolError("PROTOCOL_BAD_VARINT", "varlong longer than 64 bits");
  }

  private checkLength(length: number, what: string): void {
    if (length > this.end - this.offset) throw truncated(what, length, this.end - this.offset);
  }

  /** What a null read where none is allowed gives: empty with nullAsEmpty, else a ProtocolError thrown. */
  private nullOrThrow<T>(empty: T, what: string, length: number): T {
    if (length === -1 && this.nullAsEmpty) return empty;
    throw this.negativeLength(what, length);
  }

  private negativeLength(what: string, length: number): ProtocolError {
    return new ProtocolError("PROTOCOL_NEGATIVE_LENGTH", `negative length ${length} for non-nullable ${what}`);
  }

  private utf8(length: number): string {
    const at = this.offset;
    this.offset += length;
    return this.buf.toString("utf8", at, at + length);
  }

  readString(): string {
    const length = this.readInt16();
    if (length < 0) return this.nullOrThrow("", "string", length);
    this.checkLength(length, "string");
    return this.utf8(length);
  }

  readNullableString(): string | null {
    const length = this.readInt16();
    if (length < 0) {
      if (length === -1) return null;
      throw this.negativeLength("nullable string", length);
    }
    this.checkLength(length, "string");
    return this.utf8(length);
  }

  readCompactString(): string {
    const value = this.readCompactNullableString();
    if (value === null) return this.nullOrThrow("", "compact string", -1);
    return value;
  }

  readCompactNullableString(): string | null {
    const lengthPlusOne = this.readUVarint();
    if (lengthPlusOne === 0) return null;
    this.checkLength(lengthPlusOne - 1, "compact string");
    return this.utf8(lengthPlusOne - 1);
  }

  /** A slice of `length` raw bytes (no copy). */
  readRaw(length: number, what = "bytes"): Buffer {
    this.checkLength(length, what);
    const at = this.offset;
    this.offset += length;
    return this.buf.subarray(at, at + length);
  }

  readBytes(): Buffer {
    const length = this.readInt32();
    if (length < 0) return this.nullOrThrow(EMPTY_BYTES, "bytes", length);
    return this.readRaw(length);
  }

  readNullableBytes(): Buffer | null {
    const length = this.readInt32();
    if (length < 0) {
      if (length === -1) return null;
      throw this.negativeLength("nullable bytes", length);
    }
    return this.readRaw(length);
  }

  readCompactBytes(): Buffer {
    const value = this.readCompactNullableBytes();
    if (value === null) return this.nullOrThrow(EMPTY_BYTES, "compact bytes", -1);
    return value;
  }

  readCompactNullableBytes(): Buffer | null {
    const lengthPlusOne = this.readUVarint();
    if (lengthPlusOne === 0) return null;
    return this.readRaw(lengthPlusOne - 1);
  }

  /**
   * An array count, checked against the bytes left assuming each element takes at least
   * `minElementSize` bytes, so a forged count cannot make a decoder loop or allocate for long.
   */
  readArrayLength(minElementSize = 1): number {
    const count = this.readInt32();
    if (count < -1) throw this.negativeLength("array", count);
    if (count > 0) this.checkLength(count * minElementSize, "array");
    return count;
  }

  /** Compact array count (-1 = null). */
  readCompactArrayLength(minElementSize = 1): number {
    const count = this.readUVarint() - 1;
    if (count > 0) this.checkLength(count * minElementSize, "compact array");
    return count;
  }

  readArray<T>(readElement: (reader: Reader) => T): T[] {
    const count = this.readArrayLength();
    if (count < 0) throw this.negativeLength("array", count);
    return this.readElements(count, readElement);
  }

  readNullableArray<T>(readElement: (reader: Reader) => T): T[] | null {
    const count = this.readArrayLength();
    return count < 0 ? null : this.readElements(count, readElement);
  }

  readCompactArray<T>(readElement: (reader: Reader) => T): T[] {
    const count = this.readCompactArrayLength();
    if (count < 0) throw this.negativeLength("compact array", count);
    return this.readElements(count, readElement);
  }

  readCompactNullableArray<T>(readElement: (reader: Reader) => T): T[] | null {
    const count = this.readCompactArrayLength();
    return count < 0 ? null : this.readElements(count, readElement);
  }

  private readElements<T>(count: number, readElement: (reader: Reader) => T): T[] {
    const out = new Array<T>(count);
    for (let i = 0; i < count; i++) out[i] = readElement(this);
    return out;
  }

  /**
   * Reads a tagged-field section. `onKnown` consumes a known tag from a sub-reader and
   * returns true; unknown tags are returned so they can be re-emitted unchanged.
   */
  readTaggedFields(onKnown?: (tag: number, reader: Reader) => boolean): UnknownTaggedField[] | undefined {
    const count = this.readUVarint();
    let unknown: UnknownTaggedField[] | undefined;
    let previous = -1;
    for (let i = 0; i < count; i++) {
      const tag = this.readUVarint();
      if (tag <= previous) {
        throw new ProtocolError("PROTOCOL_BAD_TAG_ORDER", `tagged field ${tag} after ${previous}`);
      }
      previous = tag;
      const size = this.readUVarint();
      const data = this.readRaw(size, "tagged field");
      if (onKnown?.(tag, new Reader(data))) continue;
      (unknown ??= []).push({ tag, data });
    }
    return unknown;
  }
}
