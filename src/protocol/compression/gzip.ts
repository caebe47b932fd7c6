import { constants as bufferConstants } from "node:buffer";
import { promisify } from "node:util";
import { gunzip, gzip } from "node:zlib";
import type { Codec } from "./codec.js";
import { badCompressedData, decompressedTooLarge, errorMessage } from "./compression-errors.js";

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

/**
 * gzip (RFC 1952), codec 1. zlib cannot know the output size in advance, but its
 * `maxOutputLength` stops inflating as soon as the limit is crossed, so a bomb never
 * materialises.
 */
export const gzipCodec: Codec = {
  id: 1,
  name: "gzip",
  compress: (data) => gzipAsync(data),
  async decompress(data, maxOutputBytes) {
    // zlib rejects a limit of 0 or one beyond the largest Buffer; clamp and re-check below.
    const zlibLimit = Math.min(Math.max(1, maxOutputBytes), bufferConstants.MAX_LENGTH);
    let output: Buffer;
    try {
      output = await gunzipAsync(data, { maxOutputLength: zlibLimit });
    } catch (error) {
      if ((error as { code?: unknown }).code === "ERR_BUFFER_TOO_LARGE") {
        throw decompressedTooLarge("gzip", zlibLimit + 1, maxOutputBytes);
      }
      throw badCompressedData("gzip", errorMessage(error), error);
    }
    if (output.length > maxOutputBytes) throw decompressedTooLarge("gzip", output.length, maxOutputBytes);
    return output;
  },
};
