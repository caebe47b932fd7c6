import { badCompressedData } from "./compression-errors.js";

/** Skippable frames, common to the LZ4 and zstd formats: magics 0x184D2A50..0x184D2A5F, then a 32-bit size. */
const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;

export type FramedCodec = "lz4" | "zstd";

/** Fails on a truncated frame before any read would run past the end of the input. */
export function needBytes(codec: FramedCodec, data: Buffer, at: number, n: number): void {
  if (at + n > data.length) throw badCompressedData(codec, "truncated frame");
}

/**
 * Walks the concatenated frames of an LZ4 or zstd stream from their headers alone. Skippable
 * frames are stepped over; every other frame must start with `frameMagic` and is read by
 * `readFrame`, given the position after the magic, which returns where the frame ends and the
 * most bytes it can decompress to. Returns the sum of those bounds.
 */
export function sumFrameBounds(
  codec: FramedCodec,
  data: Buffer,
  frameMagic: number,
  readFrame: (at: number) => { end: number; bound: number },
): number {
  let bound = 0;
  let at = 0;
  while (at < data.length) {
    needBytes(codec, data, at, 4);
    const magic = data.readUInt32LE(at);
    at += 4;
    if ((magic & SKIPPABLE_MASK) >>> 0 === SKIPPABLE_MAGIC) {
      needBytes(codec, data, at, 4);
      const skip = data.readUInt32LE(at);
      needBytes(codec, data, at + 4, skip);
      at += 4 + skip;
      continue;
    }
    if (magic !== frameMagic) throw badCompressedData(codec, `bad frame magic 0x${magic.toString(16)}`);
    const frame = readFrame(at);
    at = frame.end;
    bound += frame.bound;
  }
  return bound;
}
