import { BrookError } from "./errors.js";

/**
 * Bytes as the producer takes them: a Buffer as is, a string as its UTF-8 bytes (written
 * straight into the batch, without an intermediate Buffer), null for no bytes at all.
 */
export type SerializedBytes = Buffer | string | null;

/** Turns a message's key or value into bytes. Throwing rejects the send() it is part of. */
export type Serializer<T = unknown> = (value: T, topic: string) => SerializedBytes;

function serializationError(what: string, expected: string, value: unknown): BrookError {
  const type = value === null ? "null" : Array.isArray(value) ? "array" : typeof value;
  return new BrookError("BROOK_SERIALIZATION", `the ${what} serializer takes ${expected}, not ${type}`);
}

/**
 * The built-in serializers. `auto` (the default) passes Buffers and strings through and
 * writes anything else as JSON; null and undefined stay null (a tombstone for a value).
 */
export const serializers = {
  auto: ((value: unknown): SerializedBytes => {
    if (value === null || value === undefined) return null;
    if (typeof value === "string" || Buffer.isBuffer(value)) return value;
    if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    return JSON.stringify(value);
  }) as Serializer<unknown>,

  string: ((value: string | null | undefined): SerializedBytes => {
    if (value === null || value === undefined) return null;
    if (typeof value !== "string") throw serializationError("string", "strings", value);
    return value;
  }) as Serializer<string | null | undefined>,

  json: ((value: unknown): SerializedBytes => {
    if (value === undefined || value === null) return null;
    const text = JSON.stringify(value);
    if (text === undefined) throw serializationError("json", "JSON-serializable values", value);
    return text;
  }) as Serializer<unknown>,

  buffer: ((value: Buffer | Uint8Array | null | undefined): SerializedBytes => {
    if (value === null || value === undefined) return null;
    if (Buffer.isBuffer(value)) return value;
    if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    throw serializationError("buffer", "Buffers", value);
  }) as Serializer<Buffer | Uint8Array | null | undefined>,
};

export type SerializerName = keyof typeof serializers;
