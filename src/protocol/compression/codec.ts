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

/**
 * A native codec library, loaded on first use rather than at start-up: loading a native addon
 * costs a process tens of milliseconds, and most brokers and clients never meet most codecs
 * (the broker stores compressed batches without opening them).
 */
export function loadOnFirstUse<T>(load: () => Promise<T>): () => Promise<T> {
  let loaded: Promise<T> | undefined;
  return () => {
    loaded ??= load();
    return loaded;
  };
}
