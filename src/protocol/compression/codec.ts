/** Kafka's compression codec ids, as stored in bits 0–2 of a batch's or message's attributes. */
export const CodecId = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const;
export type CodecId = (typeof CodecId)[keyof typeof CodecId];

/** One compression format, as Kafka clients put it on the wire. */
export interface Codec {
  readonly id: CodecId;
  readonly name: string;
  compress(data: Buffer): Promise<Buffer>;
  /**
   * Decompresses `data`, throwing a ProtocolError (never allocating the output) when the
   * result would be larger than `maxOutputBytes`, and a ProtocolError for corrupt input.
   */
  decompress(data: Buffer, maxOutputBytes: number): Promise<Buffer>;
}
