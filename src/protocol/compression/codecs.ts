import { ProtocolError } from "../protocol-error.js";
import type { Codec } from "./codec.js";
import { checkOutputBound } from "./compression-errors.js";
import { gzipCodec } from "./gzip.js";
import { lz4Codec } from "./lz4.js";
import { snappyCodec } from "./snappy.js";
import { zstdCodec } from "./zstd.js";

/**
 * Default cap on decompressed output: far above any real batch (the broker's default
 * max.message.bytes is 1 MiB), far below what would hurt the process.
 */
export const DEFAULT_MAX_DECOMPRESSED_BYTES = 128 * 1024 * 1024;

const noCompression: Codec = {
  id: 0,
  name: "none",
  compress: async (data) => data,
  async decompress(data, maxOutputBytes) {
    checkOutputBound("uncompressed", data.length, maxOutputBytes);
    return data;
  },
};

/** Every codec, indexed by its Kafka id. */
export const CODECS: readonly Codec[] = [noCompression, gzipCodec, snappyCodec, lz4Codec, zstdCodec];

export function isKnownCodec(id: number): boolean {
  return Number.isInteger(id) && id >= 0 && id < CODECS.length;
}

/** The codec for a Kafka codec id; ids 5–7 (and anything else) are a ProtocolError. */
export function codecById(id: number): Codec {
  if (!isKnownCodec(id)) throw new ProtocolError("PROTOCOL_UNKNOWN_CODEC", `unknown compression codec id ${id}`);
  return CODECS[id] as Codec;
}

export async function compress(codec: number, data: Buffer): Promise<Buffer> {
  return codecById(codec).compress(data);
}

/**
 * Decompresses `data`; refuses with a ProtocolError, before allocating, to produce more than
 * `maxOutputBytes`, and turns any library failure on corrupt input into a ProtocolError.
 */
export async function decompress(
  codec: number,
  data: Buffer,
  maxOutputBytes: number = DEFAULT_MAX_DECOMPRESSED_BYTES,
): Promise<Buffer> {
  return codecById(codec).decompress(data, maxOutputBytes);
}
