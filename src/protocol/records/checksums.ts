import { crc32, crc32c } from "@node-rs/crc32";
import { CRC_START } from "./batch-header.js";

/**
 * The two checksums of Kafka's record formats. Both return the unsigned 32-bit value, as
 * `readUInt32BE` reads the stored one.
 */

/** CRC-32C (Castagnoli) of a v2 batch: from the attributes field to the end of the batch. */
export function computeBatchCrc(buf: Buffer, batchStart: number, batchSize: number): number {
  return crc32c(buf.subarray(batchStart + CRC_START, batchStart + batchSize));
}

/** CRC-32 (IEEE) of a legacy message: from its magic byte (just after the CRC) to its end. */
export function computeLegacyMessageCrc(buf: Buffer, magicAt: number, messageEnd: number): number {
  return crc32(buf.subarray(magicAt, messageEnd));
}
