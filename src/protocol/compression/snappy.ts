import { type Codec, loadOnFirstUse } from "./codec.js";
import { badCompressedData, checkOutputBound, errorMessage } from "./compression-errors.js";

/**
 * Snappy, codec 2. Kafka clients disagree on the container: librdkafka writes one raw
 * snappy block, while the Java client and kafka-python write snappy-java's "xerial"
 * framing: an 8-byte magic, two int32 versions, then chunks of `int32 length + raw block`.
 * We read both (told apart by the magic, as librdkafka and Kafka do) and write xerial,
 * because the Java consumer only understands that one while librdkafka reads it too.
 */

const snappy = loadOnFirstUse(() => import("snappy"));

const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]); // "\x82SNAPPY\0"
/** Magic, then int32 version and int32 minimum compatible version. */
const XERIAL_HEADER_SIZE = 16;
/** snappy-java writes version 1, readable by version 1 readers. */
const XERIAL_VERSION = 1;
/** snappy-java's default block size: what the Java producer emits, so every reader is used to it. */
const XERIAL_CHUNK_SIZE = 32 * 1024;
/** The most output one input byte can yield: a 3-byte copy element emits at most 64 bytes. */
const MAX_EXPANSION = 64 / 3;

function isXerial(data: Buffer): boolean {
  return data.length >= XERIAL_MAGIC.length && XERIAL_MAGIC.equals(data.subarray(0, XERIAL_MAGIC.length));
}

/**
 * The uncompressed length a raw block announces in its varint preamble. The decoder
 * allocates that much up front, so it is checked here: against what the block could
 * possibly encode (a forged length on a tiny block) and, by the caller, against the limit.
 */
function announcedLength(block: Buffer): number {
  let length = 0;
  for (let i = 0; i < 5 && i < block.length; i++) {
    const byte = block[i] as number;
    length += (byte & 0x7f) * 2 ** (7 * i);
    if ((byte & 0x80) === 0) {
      if (length > block.length * MAX_EXPANSION) {
        throw badCompressedData("snappy", `block of ${block.length} bytes claims ${length} bytes of output`);
      }
      return length;
    }
  }
  throw badCompressedData("snappy", "missing or overlong length preamble");
}

async function uncompressRaw(block: Buffer): Promise<Buffer> {
  try {
    return (await (await snappy()).uncompress(block, { asBuffer: true })) as Buffer;
  } catch (error) {
    throw badCompressedData("snappy", errorMessage(error), error);
  }
}

/** Splits a xerial stream into its raw blocks, checking every chunk length against the input. */
function xerialBlocks(data: Buffer): Buffer[] {
  if (data.length < XERIAL_HEADER_SIZE) throw badCompressedData("snappy", "truncated xerial header");
  const blocks: Buffer[] = [];
  let at = XERIAL_HEADER_SIZE;
  while (at < data.length) {
    if (data.length - at < 4) throw badCompressedData("snappy", "truncated xerial chunk length");
    const length = data.readInt32BE(at);
    at += 4;
    if (length < 0 || length > data.length - at) {
      throw badCompressedData("snappy", `xerial chunk length ${length} with ${data.length - at} bytes left`);
    }
    blocks.push(data.subarray(at, at + length));
    at += length;
  }
  return blocks;
}

async function compressXerial(data: Buffer): Promise<Buffer> {
  const chunkCount = Math.ceil(data.length / XERIAL_CHUNK_SIZE);
  const { compress: compressBlock } = await snappy();
  const chunks = await Promise.all(
    Array.from({ length: chunkCount }, (_, i) =>
      compressBlock(data.subarray(i * XERIAL_CHUNK_SIZE, (i + 1) * XERIAL_CHUNK_SIZE)),
    ),
  );
  let size = XERIAL_HEADER_SIZE;
  for (const chunk of chunks) size += 4 + chunk.length;
  const out = Buffer.allocUnsafe(size);
  XERIAL_MAGIC.copy(out, 0);
  out.writeInt32BE(XERIAL_VERSION, 8);
  out.writeInt32BE(XERIAL_VERSION, 12);
  let at = XERIAL_HEADER_SIZE;
  for (const chunk of chunks) {
    out.writeInt32BE(chunk.length, at);
    chunk.copy(out, at + 4);
    at += 4 + chunk.length;
  }
  return out;
}

export const snappyCodec: Codec = {
  id: 2,
  name: "snappy",
  compress: compressXerial,
  async decompress(data, maxOutputBytes) {
    if (!isXerial(data)) {
      checkOutputBound("snappy", announcedLength(data), maxOutputBytes);
      return uncompressRaw(data);
    }
    const blocks = xerialBlocks(data);
    let total = 0;
    for (const block of blocks) total += announcedLength(block);
    checkOutputBound("snappy", total, maxOutputBytes);
    // Blocks are independent, so they decompress in parallel on the libuv pool.
    const parts = await Promise.all(blocks.map(uncompressRaw));
    return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, total);
  },
};
