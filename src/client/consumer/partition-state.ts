import type { KafkaRecord } from "../../protocol/records/record.js";
import type { TopicPartition } from "../offsets.js";
import type { FetchedBatch } from "./fetched-records.js";

export type { TopicPartition };

/** A partition and an offset: where to start, or what to commit (the next offset to read, as Kafka stores it). */
export interface TopicPartitionOffset extends TopicPartition {
  offset: number;
}

/** How a partition without a position gets one: from the group's committed offset, or by a reset policy. */
export type PositionSource = "committed" | "earliest" | "latest" | "none" | { timestamp: number };

export function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

/**
 * Everything the consumer knows about one assigned partition. The object lives as long as
 * the assignment: a revoked partition's state is marked unassigned, so work still under way
 * for it (a fetch, an offset lookup) sees that and drops its result.
 *
 * Offsets, each "the next offset" in Kafka's sense:
 *   processed ≤ position ≤ fetchOffset
 * - `fetchOffset`: the next to fetch (past what is buffered);
 * - `position`: the next to hand to the application;
 * - `processed`: the next after what the application is done with — auto-commit commits it.
 */
export class PartitionState implements TopicPartition {
  readonly key: string;
  assigned = true;
  /** -1 while unknown: then `positionSource` says how to find it. */
  position = -1;
  fetchOffset = -1;
  processed = -1;
  /** The last offset this consumer committed or found committed; -1 if none. */
  committed = -1;
  positionSource: PositionSource | undefined = "committed";
  paused = false;
  /** Bumped whenever the position jumps (seek, reset): results of older fetches are dropped. */
  epoch = 0;
  /** A Fetch covering this partition is in flight. */
  inFlight = false;
  /** Fetched batches not decoded yet, oldest first: records become objects only shortly before delivery. */
  pending: FetchedBatch[] = [];
  /** A batch is being decoded. */
  decoding = false;
  /**
   * Decoded records not yet delivered, one array per batch; `index` is the next in the first.
   * Delivered slots are emptied, so a record is garbage once the application drops its message.
   */
  chunks: (KafkaRecord | undefined)[][] = [];
  /** The fetched size of each chunk's batch, released when the chunk is delivered. */
  chunkBytes: number[] = [];
  index = 0;
  /** Fetched bytes not delivered yet, pending or decoded: fetching waits while it is a fetch's worth. */
  bufferedBytes = 0;
  /** The offset after the last batch decoded (or the position, when none is buffered). */
  decodedUpTo = -1;
  /** In the consumer's queue of partitions with records to deliver. */
  queued = false;
  /** Not to be fetched before this time (Date.now() scale) after an error. */
  retryAt = 0;
  failures = 0;
  /** When fetching started to fail, 0 while it works: errors that last are reported. */
  failingSince = 0;

  constructor(
    readonly topic: string,
    readonly partition: number,
  ) {
    this.key = partitionKey(topic, partition);
  }

  /** Jumps to `offset`: what was fetched or is being fetched from elsewhere is forgotten. */
  setPosition(offset: number): void {
    this.epoch++;
    this.position = offset;
    this.fetchOffset = offset;
    this.decodedUpTo = offset;
    this.positionSource = undefined;
    this.clearBuffer();
  }

  /** Forgets the position; `source` says how to find a new one. */
  resetPosition(source: PositionSource): void {
    this.epoch++;
    this.position = -1;
    this.fetchOffset = -1;
    this.positionSource = source;
    this.clearBuffer();
  }

  clearBuffer(): void {
    this.pending = [];
    this.chunks = [];
    this.chunkBytes = [];
    this.index = 0;
    this.bufferedBytes = 0;
  }

  /** The first chunk was delivered to its last record. */
  finishChunk(): void {
    this.chunks.shift();
    this.bufferedBytes -= this.chunkBytes.shift() ?? 0;
    this.index = 0;
  }

  /** Decoded records ready to deliver. */
  get hasRecords(): boolean {
    return this.chunks.length > 0;
  }

  /** Whether this partition may be fetched now, its buffer permitting. */
  get fetchable(): boolean {
    return this.assigned && !this.paused && !this.inFlight && this.fetchOffset >= 0;
  }
}
