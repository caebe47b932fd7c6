import { CodecId } from "../protocol/compression/codec.js";
import { Cluster } from "./cluster.js";
import { BrookError, invalidOption } from "./errors.js";
import type { TopicInfo } from "./metadata.js";
import { type ClientOptions, checkPositiveInteger } from "./options.js";
import { createDefaultPartitioner, type Partitioner } from "./partitioners.js";
import { RecordBatchBuilder, type SerializedHeader } from "./producer/batch-builder.js";
import { type RecordMetadata, SendCall } from "./producer/batches.js";
import { Sender } from "./producer/sender.js";
import { type SerializedBytes, type Serializer, type SerializerName, serializers } from "./serializers.js";

export type { RecordMetadata } from "./producer/batches.js";

export type CompressionName = "none" | "gzip" | "snappy" | "lz4" | "zstd";

export type MessageHeaders =
  | Readonly<Record<string, string | Buffer | null | undefined>>
  | ReadonlyArray<{ key: string; value: string | Buffer | null }>;

export interface ProducerMessage<Value = unknown, Key = unknown> {
  /** Partitions keyed messages (murmur2 by default) and is stored with the message. */
  key?: Key | null;
  value: Value | null;
  /** An object, or an array of {key, value} when a header name repeats. */
  headers?: MessageHeaders;
  /** Sends to this partition instead of asking the partitioner. */
  partition?: number;
  /** CreateTime in ms since the epoch (or a Date); default now. */
  timestamp?: number | Date;
}

export interface ProducerRecord<Value = unknown, Key = unknown> {
  topic: string;
  messages: readonly ProducerMessage<Value, Key>[];
}

export interface ProducerOptions<Value = unknown, Key = unknown> extends ClientOptions {
  /** 0: no acknowledgement; 1: the leader's; -1 or "all": all in-sync replicas'. Default -1. */
  acks?: 0 | 1 | -1 | "all";
  /**
   * Exactly-once delivery per partition: retries never duplicate and never reorder. Default
   * true with acks -1; it requires acks -1.
   */
  idempotent?: boolean;
  compression?: CompressionName;
  /** How long a batch waits for more messages before it is sent; default 5 ms. */
  lingerMs?: number;
  /** Most bytes of one batch (one partition's share of a request); default 512 KiB. */
  batchBytes?: number;
  /** Most bytes of messages buffered and in flight; send() waits beyond it. Default 32 MiB. */
  bufferBytes?: number;
  /** How long send() may wait for buffer room or for topic metadata; default 60 s. */
  maxBlockMs?: number;
  /** How long a message may take from send() to its acknowledgement, retries included; default 120 s. */
  deliveryTimeoutMs?: number;
  /** Batches of one partition in flight at once (at most 5 with idempotence); default 5. */
  maxInFlightPerPartition?: number;
  /** Picks the partition of messages that name none; default: murmur2 for keys, uniform sticky otherwise. */
  partitioner?: Partitioner;
  /** Ask brokers to create topics on first use (if they allow it). Default true. */
  allowAutoTopicCreation?: boolean;
  /** A built-in name or a function; default "auto" (Buffers and strings as is, other values as JSON). */
  keySerializer?: SerializerName | Serializer<Key>;
  valueSerializer?: SerializerName | Serializer<Value>;
}

const CODECS: Record<CompressionName, number> = {
  none: CodecId.none,
  gzip: CodecId.gzip,
  snappy: CodecId.snappy,
  lz4: CodecId.lz4,
  zstd: CodecId.zstd,
};

/** Idempotence keeps order with at most 5 batches in flight per partition, as Kafka brokers remember 5. */
const MAX_IDEMPOTENT_IN_FLIGHT = 5;

/**
 * A send() call's messages, serialized and checked. The fields of message i are at
 * `slots[i * SLOTS + FIELD]`: one array per call instead of one object or several arrays,
 * because a producer may take hundreds of thousands of calls a second.
 */
interface PreparedRecord {
  topic: string;
  count: number;
  slots: unknown[];
  totalBytes: number;
}

const SLOTS = 6;
const KEY = 0;
const VALUE = 1;
const HEADERS = 2;
/** The partition the message names, or undefined. */
const PARTITION = 3;
const TIMESTAMP = 4;
const ESTIMATED_BYTES = 5;

interface WaitingSend {
  prepared: PreparedRecord;
  call: SendCall;
  deadline: number;
}

const NO_HEADERS: SerializedHeader[] = [];

function resolveSerializer<T>(name: string, option: SerializerName | Serializer<T> | undefined): Serializer<T> {
  if (option === undefined) return serializers.auto as Serializer<T>;
  if (typeof option === "function") return option;
  if (typeof option === "string" && option in serializers) return serializers[option] as Serializer<T>;
  throw invalidOption(`${name} must be a function or one of ${Object.keys(serializers).join(", ")}`);
}

/**
 * Sends messages to Kafka topics. Messages are batched per partition, compressed once per
 * batch, and sent to partition leaders with requests pipelined per broker; each send() call
 * resolves with where its messages were stored once all of them are acknowledged.
 *
 * ```ts
 * const producer = new Producer({ brokers: ["localhost:9092"] });
 * const [stored] = await producer.send({ topic: "orders", messages: [{ key: "42", value: { total: 9.5 } }] });
 * await producer.close();
 * ```
 */
export class Producer<Value = unknown, Key = unknown> {
  readonly cluster: Cluster;
  private readonly sender: Sender;
  private readonly partitioner: Partitioner;
  private readonly keySerializer: Serializer<Key>;
  private readonly valueSerializer: Serializer<Value>;
  private readonly bufferBytes: number;
  private readonly maxBlockMs: number;
  private readonly allowAutoTopicCreation: boolean;
  private readonly idempotent: boolean;
  private readonly waiting: WaitingSend[] = [];
  /** The loop appending waiting sends, while it runs. */
  private processing: Promise<void> | undefined;
  private wakeWaiting: (() => void) | undefined;
  private readonly availablePartitions = new WeakMap<TopicInfo, number[]>();
  private closing: Promise<void> | undefined;

  constructor(options: ProducerOptions<Value, Key>) {
    this.cluster = new Cluster(options);
    const acks = options.acks === "all" ? -1 : (options.acks ?? -1);
    if (acks !== 0 && acks !== 1 && acks !== -1) {
      throw invalidOption(`acks must be 0, 1, -1 or "all", not ${JSON.stringify(options.acks)}`);
    }
    if (options.idempotent !== undefined && typeof options.idempotent !== "boolean") {
      throw invalidOption("idempotent must be true or false");
    }
    if (options.idempotent === true && acks !== -1) {
      throw invalidOption(`idempotent: true needs acks -1 ("all"), not ${acks}`);
    }
    this.idempotent = options.idempotent ?? acks === -1;
    const compression = options.compression ?? "none";
    if (!(compression in CODECS)) {
      throw invalidOption(
        `compression must be one of ${Object.keys(CODECS).join(", ")}, not ${JSON.stringify(compression)}`,
      );
    }
    checkPositiveInteger("lingerMs", options.lingerMs, { allowZero: true });
    checkPositiveInteger("batchBytes", options.batchBytes);
    checkPositiveInteger("bufferBytes", options.bufferBytes);
    checkPositiveInteger("maxBlockMs", options.maxBlockMs, { allowZero: true });
    checkPositiveInteger("deliveryTimeoutMs", options.deliveryTimeoutMs);
    checkPositiveInteger("maxInFlightPerPartition", options.maxInFlightPerPartition);
    const maxInFlight = options.maxInFlightPerPartition ?? MAX_IDEMPOTENT_IN_FLIGHT;
    if (this.idempotent && maxInFlight > MAX_IDEMPOTENT_IN_FLIGHT) {
      throw invalidOption(`maxInFlightPerPartition must be at most ${MAX_IDEMPOTENT_IN_FLIGHT} with idempotence`);
    }
    if (options.partitioner !== undefined && typeof options.partitioner !== "function") {
      throw invalidOption("partitioner must be a function ({ topic, key, partitionCount, ... }) => partition");
    }
    const batchBytes = options.batchBytes ?? 512 * 1024;
    this.bufferBytes = options.bufferBytes ?? 32 * 1024 * 1024;
    this.maxBlockMs = options.maxBlockMs ?? 60_000;
    this.allowAutoTopicCreation = options.allowAutoTopicCreation ?? true;
    this.partitioner = options.partitioner ?? createDefaultPartitioner({ stickyBytes: batchBytes });
    this.keySerializer = resolveSerializer("keySerializer", options.keySerializer);
    this.valueSerializer = resolveSerializer("valueSerializer", options.valueSerializer);
    this.sender = new Sender(
      this.cluster,
      {
        acks,
        idempotent: this.idempotent,
        codec: CODECS[compression],
        lingerMs: options.lingerMs ?? 5,
        batchBytes,
        bufferBytes: this.bufferBytes,
        maxInFlightPerPartition: maxInFlight,
        deliveryTimeoutMs: options.deliveryTimeoutMs ?? 120_000,
        requestTimeoutMs: this.cluster.options.requestTimeoutMs,
        retry: this.cluster.options.retry,
      },
      () => this.wakeWaiting?.(),
    );
  }

  /**
   * Connects to the cluster (and gets a producer id with idempotence). Optional: send()
   * connects on first use; calling it first makes connection problems show up here.
   */
  async connect(): Promise<void> {
    this.checkOpen();
    await this.cluster.connect();
    if (this.idempotent) await this.sender.ensureProducerId();
  }

  private checkOpen(): void {
    if (this.closing) throw new BrookError("BROOK_CLOSED", "the producer is closed");
  }

  /**
   * Sends messages to one topic; resolves, in message order, with where each was stored once
   * all are acknowledged (acks 1 or -1). Rejects with a BrookError when a message is invalid
   * or cannot be delivered; with several partitions involved, some messages may have been
   * stored even so.
   */
  send(record: ProducerRecord<Value, Key>): Promise<RecordMetadata[]> {
    let prepared: PreparedRecord;
    try {
      this.checkOpen();
      prepared = this.prepare(record);
    } catch (error) {
      return Promise.reject(error);
    }
    const call = new SendCall(prepared.count);
    // Sends that had to wait go first, so messages are appended in the order send() was called.
    if (this.waiting.length === 0 && this.tryAppend(prepared, call, false) === "done") return call.promise;
    this.waiting.push({ prepared, call, deadline: Date.now() + this.maxBlockMs });
    this.processing ??= this.processWaiting();
    return call.promise;
  }

  /** Sends every buffered message now and resolves when all sent so far are acknowledged or failed. */
  async flush(): Promise<void> {
    while (this.processing) {
      // Sending what is buffered makes room for the sends still waiting.
      this.sender.sealAll();
      await this.processing;
    }
    await this.sender.flush();
  }

  /** Delivers what is buffered, then closes every connection. Later sends reject with BROOK_CLOSED. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      try {
        await this.flush();
      } finally {
        this.sender.close(new BrookError("BROOK_CLOSED", "the producer was closed before the message was delivered"));
        await this.cluster.close();
      }
    })();
    return this.closing;
  }

  private prepare(record: ProducerRecord<Value, Key>): PreparedRecord {
    if (typeof record !== "object" || record === null) throw invalidMessage("send() takes { topic, messages }");
    const { topic, messages } = record;
    if (typeof topic !== "string" || topic === "") throw invalidMessage("topic must be a non-empty string");
    if (!Array.isArray(messages) || messages.length === 0) {
      throw invalidMessage(`messages for topic '${topic}' must be a non-empty array`);
    }
    const count = messages.length;
    const slots = new Array<unknown>(count * SLOTS);
    let totalBytes = 0;
    const now = Date.now();
    for (let i = 0; i < count; i++) {
      const message = messages[i] as ProducerMessage<Value, Key>;
      if (typeof message !== "object" || message === null) {
        throw invalidMessage(`message ${i} for topic '${topic}' must be an object with a value`);
      }
      const key = this.serialize("key", this.keySerializer, message.key, topic, i);
      // Keys are hashed for the partition, so a string key becomes bytes once, here.
      const keyBytes = typeof key === "string" ? Buffer.from(key, "utf8") : key;
      const value = this.serialize("value", this.valueSerializer, message.value, topic, i);
      const headers = message.headers === undefined ? NO_HEADERS : serializeHeaders(message.headers, topic, i);
      const partition = message.partition;
      if (partition !== undefined && (!Number.isInteger(partition) || partition < 0)) {
        throw invalidMessage(`message ${i} for topic '${topic}': partition must be an integer ≥ 0, not ${partition}`);
      }
      const estimate = RecordBatchBuilder.estimateRecordBytes(keyBytes, value, headers);
      const at = i * SLOTS;
      slots[at + KEY] = keyBytes;
      slots[at + VALUE] = value;
      slots[at + HEADERS] = headers;
      slots[at + PARTITION] = partition;
      slots[at + TIMESTAMP] = timestampOf(message.timestamp, now, topic, i);
      slots[at + ESTIMATED_BYTES] = estimate;
      totalBytes += estimate;
    }
    return { topic, count, slots, totalBytes };
  }

  private serialize<T>(
    what: string,
    serializer: Serializer<T>,
    input: T | null | undefined,
    topic: string,
    index: number,
  ) {
    let bytes: SerializedBytes;
    try {
      bytes = serializer(input as T, topic);
    } catch (error) {
      if (error instanceof BrookError) throw error;
      throw new BrookError(
        "BROOK_SERIALIZATION",
        `cannot serialize the ${what} of message ${index} for topic '${topic}': ${(error as Error).message}`,
        { cause: error },
      );
    }
    if (bytes !== null && typeof bytes !== "string" && !Buffer.isBuffer(bytes)) {
      throw new BrookError(
        "BROOK_SERIALIZATION",
        `the ${what} serializer must return a Buffer, a string or null (message ${index} for topic '${topic}')`,
      );
    }
    return bytes;
  }

  private partitionsWithLeader(topic: TopicInfo): number[] {
    let available = this.availablePartitions.get(topic);
    if (!available) {
      available = topic.partitions.filter((p) => p && p.leader >= 0).map((p) => p.partition);
      this.availablePartitions.set(topic, available);
    }
    return available;
  }

  /**
   * Appends the messages now if the topic's metadata is cached and the buffer has room ("done",
   * also when it settled `call` with an error for an invalid partition). Otherwise appends
   * nothing and says what to wait for: fresh metadata ("refresh": the topic is not cached, or a
   * message names a partition the cache does not know, unless `metadataIsFresh`) or buffer room
   * ("room").
   */
  private tryAppend(prepared: PreparedRecord, call: SendCall, metadataIsFresh: boolean): "done" | "refresh" | "room" {
    const topic = this.cluster.cachedTopic(prepared.topic);
    if (!topic) return "refresh";
    const used = this.sender.bufferedBytes;
    // A send larger than the whole buffer goes through alone rather than never.
    if (used > 0 && used + prepared.totalBytes > this.bufferBytes) return "room";
    const partitionCount = topic.partitions.length;
    const chosen = new Array<number>(prepared.count);
    const slots = prepared.slots;
    for (let i = 0; i < prepared.count; i++) {
      const explicit = slots[i * SLOTS + PARTITION] as number | undefined;
      const partition =
        explicit ??
        this.partitioner({
          topic: prepared.topic,
          key: slots[i * SLOTS + KEY] as Buffer | null,
          partitionCount,
          availablePartitions: this.partitionsWithLeader(topic),
          messageBytes: slots[i * SLOTS + ESTIMATED_BYTES] as number,
        });
      if (!Number.isInteger(partition) || partition < 0 || partition >= partitionCount) {
        // Partitions may have been added since the metadata was cached.
        if (explicit !== undefined && !metadataIsFresh) return "refresh";
        const origin = explicit === undefined ? "the partitioner chose" : "it names";
        call.fail(
          new BrookError(
            "BROOK_UNKNOWN_PARTITION",
            `message ${i} cannot go to partition ${partition} of topic '${prepared.topic}' (${origin} it): the topic has ${partitionCount} partition(s)`,
            { topic: prepared.topic, partition },
          ),
        );
        return "done";
      }
      chosen[i] = partition;
    }
    for (let i = 0; i < prepared.count; i++) {
      const at = i * SLOTS;
      this.sender.append(
        call,
        i,
        prepared.topic,
        chosen[i] as number,
        slots[at + KEY] as Buffer | null,
        slots[at + VALUE] as SerializedBytes,
        slots[at + HEADERS] as SerializedHeader[],
        slots[at + TIMESTAMP] as number,
      );
    }
    return "done";
  }

  /** Appends waiting sends in order, each once its topic is known and the buffer has room. */
  private async processWaiting(): Promise<void> {
    while (this.waiting.length > 0) {
      const head = this.waiting[0] as WaitingSend;
      try {
        await this.admit(head);
      } catch (error) {
        head.call.fail(error as Error);
      }
      this.waiting.shift();
    }
    this.processing = undefined;
  }

  private async admit({ prepared, call, deadline }: WaitingSend): Promise<void> {
    const lookup = { allowAutoTopicCreation: this.allowAutoTopicCreation };
    let metadataIsFresh = false;
    for (;;) {
      const outcome = this.tryAppend(prepared, call, metadataIsFresh);
      if (outcome === "done") return;
      if (outcome === "refresh") {
        this.cluster.watchTopics([prepared.topic]);
        if (this.cluster.cachedTopic(prepared.topic)) await this.cluster.refreshMetadata([prepared.topic], lookup);
        await this.cluster.topics([prepared.topic], lookup);
        metadataIsFresh = true;
        continue;
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        throw new BrookError(
          "BROOK_BUFFER_FULL",
          `send() waited maxBlockMs (${this.maxBlockMs} ms) for room in the producer's buffer (bufferBytes ${this.bufferBytes}, ${this.sender.bufferedBytes} in use): the brokers do not keep up, or cannot be reached`,
          { topic: prepared.topic },
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining);
        this.wakeWaiting = () => {
          clearTimeout(timer);
          this.wakeWaiting = undefined;
          resolve();
        };
      });
    }
  }
}

function invalidMessage(message: string): BrookError {
  return new BrookError("BROOK_INVALID_MESSAGE", message);
}

function timestampOf(timestamp: number | Date | undefined, now: number, topic: string, index: number): number {
  if (timestamp === undefined) return now;
  const ms = timestamp instanceof Date ? timestamp.getTime() : timestamp;
  if (!Number.isSafeInteger(ms) || ms < 0) {
    throw invalidMessage(
      `message ${index} for topic '${topic}': timestamp must be ms since the epoch, not ${timestamp}`,
    );
  }
  return ms;
}

function headerValue(value: unknown, topic: string, index: number, key: string): SerializedBytes {
  if (value === null || value === undefined) return null;
  if (typeof value === "string" || Buffer.isBuffer(value)) return value;
  throw invalidMessage(`message ${index} for topic '${topic}': header '${key}' must be a string, a Buffer or null`);
}

function serializeHeaders(headers: MessageHeaders, topic: string, index: number): SerializedHeader[] {
  if (Array.isArray(headers)) {
    return headers.map((header: { key: string; value: unknown }) => {
      if (typeof header?.key !== "string") {
        throw invalidMessage(`message ${index} for topic '${topic}': every header needs a string key`);
      }
      return { key: header.key, value: headerValue(header.value, topic, index, header.key) };
    });
  }
  if (typeof headers !== "object" || headers === null) {
    throw invalidMessage(`message ${index} for topic '${topic}': headers must be an object or an array`);
  }
  return Object.entries(headers).map(([key, value]) => ({ key, value: headerValue(value, topic, index, key) }));
}
