import { ProtocolError } from "../protocol-error.js";

/**
 * The errors every codec raises, in one place so that a zip bomb and a corrupt payload look
 * the same to callers whichever codec carried them.
 */

/** Thrown before decompressing when the output would exceed the caller's limit. */
export function decompressedTooLarge(codec: string, size: number, limit: number): ProtocolError {
  return new ProtocolError(
    "PROTOCOL_DECOMPRESSED_TOO_LARGE",
    `${codec} payload would decompress to ${size} bytes or more, over the limit of ${limit}`,
  );
}

/** Wraps whatever a compression library threw on bad input, so only ProtocolError escapes. */
export function badCompressedData(codec: string, detail: string, cause?: unknown): ProtocolError {
  return new ProtocolError("PROTOCOL_BAD_COMPRESSED_DATA", `invalid ${codec} data: ${detail}`, { cause });
}

/** Checks an upper bound on the output size, known before any decompression happens. */
export function checkOutputBound(codec: string, bound: number, limit: number): void {
  if (bound > limit) throw decompressedTooLarge(codec, bound, limit);
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
