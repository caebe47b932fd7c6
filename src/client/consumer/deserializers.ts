/** Turns a message's key or value bytes (null when absent) into what the application reads. */
export type Deserializer<T = unknown> = (bytes: Buffer | null, topic: string) => T;

/**
 * The built-in deserializers. `buffer` (the default) hands out the bytes as they arrived — a
 * slice of the fetched data, no copy; `string` decodes UTF-8; `json` parses UTF-8 JSON. All
 * three keep null as null (a tombstone's value, a message without a key).
 */
export const deserializers = {
  buffer: ((bytes: Buffer | null) => bytes) as Deserializer<Buffer | null>,
  string: ((bytes: Buffer | null) => (bytes === null ? null : bytes.toString("utf8"))) as Deserializer<string | null>,
  json: ((bytes: Buffer | null) =>
    bytes === null ? null : JSON.parse(bytes.toString("utf8"))) as Deserializer<unknown>,
};

export type DeserializerName = keyof typeof deserializers;
