import { type Codec, loadOnFirstUse } from "./codec.js";
import { badCompressedData, checkOutputBound, errorMessage } from "./compression-errors.js";
import { needBytes, sumFrameBounds } from "./frame-walk.js";

/**
 * LZ4, codec 3, in the standard LZ4 frame format (Kafka ≥ 0.10 / magic ≥ 1). lz4-napi writes
 * exactly what Kafka's Java producer does: version 1, independent blocks, 64 KiB blocks, no
 * checksums, no content size. Its decoder takes no output limit, so before calling it we
 * walk the frame's block headers (cheap: no decoding) and add up the most each block can
 * produce. The bound is at most one block (≤ 4 MiB) above the real size.
 *
 * Not handled: magic-0 messages from pre-0.10 Java clients, whose frame-header checksum was
 * computed wrongly (KAFKA-3160); the decoder rejects them as corrupt.
 */

const lz4 = loadOnFirstUse(() => import("lz4-napi"));

const FRAME_MAGIC = 0x184d2204;
const FLAG_VERSION_MASK = 0xc0;
const FLAG_VERSION_1 = 0x40;
const FLAG_BLOCK_CHECKSUM = 0x10;
const FLAG_CONTENT_SIZE = 0x08;
const FLAG_CONTENT_CHECKSUM = 0x04;
const FLAG_DICTIONARY_ID = 0x01;
/** High bit of a block size: the block is stored uncompressed. */
const BLOCK_UNCOMPRESSED = 0x80000000;

/** Block maximum sizes by the id in bits 4–6 of the BD byte; ids 0–3 are reserved. */
function blockMaxSize(bd: number): number {
  const id = (bd >> 4) & 0x07;
  if (id < 4) throw badCompressedData("lz4", `reserved block size id ${id}`);
  return 1 << (8 + 2 * id); // 4 → 64 KiB, 5 → 256 KiB, 6 → 1 MiB, 7 → 4 MiB
}

const need = (data: Buffer, at: number, n: number) => needBytes("lz4", data, at, n);

/** The most bytes the frames in `data` can decompress to, found from block headers alone. */
export function lz4OutputBound(data: Buffer): number {
  return sumFrameBounds("lz4", data, FRAME_MAGIC, (start) => {
    let at = start;
    let bound = 0;
    need(data, at, 2);
    const flags = data[at] as number;
    const maxBlock = blockMaxSize(data[at + 1] as number);
    if ((flags & FLAG_VERSION_MASK) !== FLAG_VERSION_1) throw badCompressedData("lz4", "unsupported frame version");
    // FLG, BD, optional content size and dictionary id, header checksum.
    at += 2 + (flags & FLAG_CONTENT_SIZE ? 8 : 0) + (flags & FLAG_DICTIONARY_ID ? 4 : 0) + 1;
    const blockTrailer = flags & FLAG_BLOCK_CHECKSUM ? 4 : 0;
    for (;;) {
      need(data, at, 4);
      const word = data.readUInt32LE(at);
      at += 4;
      if (word === 0) break; // end mark
      const size = (word & ~BLOCK_UNCOMPRESSED) >>> 0;
      if (size > maxBlock) throw badCompressedData("lz4", `block of ${size} bytes over the ${maxBlock} maximum`);
      need(data, at, size + blockTrailer);
      at += size + blockTrailer;
      bound += word & BLOCK_UNCOMPRESSED ? size : maxBlock;
    }
    at += flags & FLAG_CONTENT_CHECKSUM ? 4 : 0;
    return { end: at, bound };
  });
}

export const lz4Codec: Codec = {
  id: 3,
  name: "lz4",
  compress: async (data) => (await lz4()).compressFrame(data),
  async decompress(data, maxOutputBytes) {
    checkOutputBound("lz4", lz4OutputBound(data), maxOutputBytes);
    try {
      return await (await lz4()).decompressFrame(data);
    } catch (error) {
      throw badCompressedData("lz4", errorMessage(error), error);
    }
  },
};
