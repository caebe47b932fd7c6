import { type Codec, loadOnFirstUse } from "./codec.js";
import { badCompressedData, checkOutputBound, decompressedTooLarge, errorMessage } from "./compression-errors.js";
import { needBytes, sumFrameBounds } from "./frame-walk.js";

/**
 * Zstandard (RFC 8878), codec 4; Kafka allows it from Produce v7 / Fetch v10. The binding
 * takes no output limit and producers stream frames without a content size, so before
 * decoding we walk the block headers: raw and RLE blocks state their output size, and a
 * compressed block yields at most min(window, 128 KiB). We also refuse frames whose window
 * (the buffer the decoder allocates up front) is larger than the output we would accept.
 */

const zstd = loadOnFirstUse(() => import("@mongodb-js/zstd"));

const FRAME_MAGIC = 0xfd2fb528;
const MAX_BLOCK_SIZE = 128 * 1024;
/** Windows up to this size are always accepted: zstd's own levels ≤ 19 never ask for more. */
const ALWAYS_ALLOWED_WINDOW = 8 * 1024 * 1024;
const BLOCK_RAW = 0;
const BLOCK_RLE = 1;
const BLOCK_COMPRESSED = 2;
const DICTIONARY_ID_SIZES = [0, 1, 2, 4] as const;

const need = (data: Buffer, at: number, n: number) => needBytes("zstd", data, at, n);

/** Frame_Content_Size field: 1, 2 (plus 256), 4 or 8 bytes, little-endian. */
function readContentSize(data: Buffer, at: number, size: number): number {
  if (size === 1) return data[at] as number;
  if (size === 2) return data.readUInt16LE(at) + 256;
  if (size === 4) return data.readUInt32LE(at);
  return data.readUInt32LE(at) + data.readUInt32LE(at + 4) * 2 ** 32;
}

/**
 * The most bytes the frames in `data` can decompress to, from frame and block headers
 * alone. Throws when a frame announces more content than `maxOutputBytes`, or needs a
 * window larger than that (and larger than what ordinary compression levels use).
 */
export function zstdOutputBound(data: Buffer, maxOutputBytes: number): number {
  return sumFrameBounds("zstd", data, FRAME_MAGIC, (start) => {
    let at = start;
    let bound = 0;
    need(data, at, 1);
    const descriptor = data[at++] as number;
    if (descriptor & 0x08) throw badCompressedData("zstd", "reserved frame header bit set");
    const singleSegment = (descriptor & 0x20) !== 0;
    const contentSizeFlag = descriptor >> 6;
    const contentSizeBytes = contentSizeFlag === 0 ? (singleSegment ? 1 : 0) : 1 << contentSizeFlag;
    const dictionaryIdBytes = DICTIONARY_ID_SIZES[descriptor & 0x03] as number;
    let window = 0;
    if (!singleSegment) {
      need(data, at, 1);
      const windowDescriptor = data[at++] as number;
      const base = 2 ** (10 + (windowDescriptor >> 3));
      window = base + (base / 8) * (windowDescriptor & 0x07);
    }
    need(data, at, dictionaryIdBytes + contentSizeBytes);
    at += dictionaryIdBytes;
    if (contentSizeBytes > 0) {
      const contentSize = readContentSize(data, at, contentSizeBytes);
      // A single-segment frame's window is its whole content, allocated at once.
      if (singleSegment) window = contentSize;
      if (contentSize > maxOutputBytes) throw decompressedTooLarge("zstd", contentSize, maxOutputBytes);
      at += contentSizeBytes;
    }
    if (window > Math.max(maxOutputBytes, ALWAYS_ALLOWED_WINDOW)) {
      throw decompressedTooLarge("zstd", window, maxOutputBytes);
    }
    const blockMax = Math.min(window, MAX_BLOCK_SIZE);
    let last = false;
    while (!last) {
      need(data, at, 3);
      const header = data.readUIntLE(at, 3);
      at += 3;
      last = (header & 1) === 1;
      const type = (header >> 1) & 0x03;
      const size = header >>> 3;
      if (type === BLOCK_RAW) {
        need(data, at, size);
        at += size;
        bound += size;
      } else if (type === BLOCK_RLE) {
        need(data, at, 1);
        at += 1;
        bound += size;
      } else if (type === BLOCK_COMPRESSED) {
        need(data, at, size);
        at += size;
        bound += blockMax;
      } else {
        throw badCompressedData("zstd", "reserved block type");
      }
    }
    if (descriptor & 0x04) {
      need(data, at, 4);
      at += 4; // content checksum
    }
    return { end: at, bound };
  });
}

export const zstdCodec: Codec = {
  id: 4,
  name: "zstd",
  compress: async (data) => (await zstd()).compress(data),
  async decompress(data, maxOutputBytes) {
    checkOutputBound("zstd", zstdOutputBound(data, maxOutputBytes), maxOutputBytes);
    try {
      return await (await zstd()).decompress(data);
    } catch (error) {
      throw badCompressedData("zstd", errorMessage(error), error);
    }
  },
};
