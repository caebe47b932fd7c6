import type { RecordHeader } from "../../protocol/records/record.js";

/** A header as stored: its name, and its bytes (null when the producer sent none). */
export type MessageHeader = RecordHeader;

/**
 * One message as the consumer delivers it. `key` and `value` went through the deserializers;
 * `headers` keep their order and repeated names; `timestamp` is in ms since the epoch
 * (CreateTime, or LogAppendTime when the topic says so).
 */
export class ConsumerMessage<Value = Buffer | null, Key = Buffer | null> {
  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly offset: number,
    readonly timestamp: number,
    readonly key: Key,
    readonly value: Value,
    readonly headers: readonly MessageHeader[],
  ) {}
}
