import { decompress } from "./codecs.js";

/**
 * A decompression allowance shared by everything decoded from one input. A per-payload cap
 * alone is not enough: one fetch response or produce request can hold many small batches
 * that each expand to the cap, so every payload draws on what the earlier ones left.
 */
export class DecompressionBudget {
  private remaining: number;

  constructor(maxOutputBytes: number) {
    this.remaining = maxOutputBytes;
  }

  get remainingBytes(): number {
    return this.remaining;
  }

  async decompress(codec: number, data: Buffer): Promise<Buffer> {
    const output = await decompress(codec, data, this.remaining);
    this.remaining -= output.length;
    return output;
  }
}
