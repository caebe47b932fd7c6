import type { BrookError } from "../errors.js";
import type { RecordBatchBuilder, SealedBatch } from "./batch-builder.js";

/** Where a message was stored. `offset` is -1 with acks=0, when the broker does not answer. */
export interface RecordMetadata {
  topic: string;
  partition: number;
  offset: number;
}

/**
 * One send() call: a single promise for all its messages, settled when the last batch holding
 * one of them is acknowledged, or rejected by the first that fails.
 */
export class SendCall {
  readonly promise: Promise<RecordMetadata[]>;
  private readonly results: RecordMetadata[];
  private remaining: number;
  private settled = false;
  private resolve!: (results: RecordMetadata[]) => void;
  private reject!: (error: Error) => void;

  constructor(messageCount: number) {
    this.results = new Array<RecordMetadata>(messageCount);
    this.remaining = messageCount;
    this.promise = new Promise<RecordMetadata[]>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  /** Messages `first` to `first + count - 1` were stored from `baseOffset` on (-1: unknown). */
  completeRun(first: number, count: number, topic: string, partition: number, baseOffset: number): void {
    if (this.settled) return;
    const results = this.results;
    for (let i = 0; i < count; i++) {
      results[first + i] = { topic, partition, offset: baseOffset < 0 ? -1 : baseOffset + i };
    }
    this.remaining -= count;
    if (this.remaining === 0) {
      this.settled = true;
      this.resolve(results);
    }
  }

  fail(error: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.reject(error);
  }
}

let nextBatchId = 0;

/**
 * One batch of one partition through its life: open (records being appended), sealed
 * (compressed, queued), in flight, and done. It remembers which send() calls its records
 * belong to as runs of consecutive messages, not one entry per message.
 */
export class ProducerBatch {
  /** Creation order: batches of a partition are sent (and retried) in this order. */
  readonly id = nextBatchId++;
  readonly createdAt = Date.now();
  builder: RecordBatchBuilder | undefined;
  /** Set once the records are encoded and compressed. */
  sealed: SealedBatch | undefined;
  /** Bytes of the producer's buffer this batch holds until it is done. */
  bufferBytes = 0;
  /** First sequence number; -1 until assigned when first sent (again after an epoch bump). */
  baseSequence = -1;
  attempts = 0;
  /** Not to be sent again before this time (Date.now() scale). */
  retryAt = 0;
  /** The last retriable error, reported if the batch runs out of time. */
  lastError: BrookError | undefined;
  done = false;
  private doneListeners: (() => void)[] | undefined;
  private readonly calls: SendCall[] = [];
  private readonly firstIndexes: number[] = [];
  private readonly counts: number[] = [];

  constructor(
    readonly topic: string,
    readonly partition: number,
    builder: RecordBatchBuilder,
    /** When the batch fails if not acknowledged by then. */
    readonly deadline: number,
  ) {
    this.builder = builder;
  }

  get recordCount(): number {
    return this.sealed ? this.sealed.recordCount : (this.builder?.recordCount ?? 0);
  }

  /** Notes that the batch's next record is message `index` of `call`. */
  addRecord(call: SendCall, index: number): void {
    const last = this.calls.length - 1;
    if (
      last >= 0 &&
      this.calls[last] === call &&
      (this.firstIndexes[last] as number) + (this.counts[last] as number) === index
    ) {
      this.counts[last] = (this.counts[last] as number) + 1;
      return;
    }
    this.calls.push(call);
    this.firstIndexes.push(index);
    this.counts.push(1);
  }

  /** The broker stored the batch at `baseOffset` (-1 when unknown). */
  complete(baseOffset: number): void {
    let delta = 0;
    for (let run = 0; run < this.calls.length; run++) {
      const call = this.calls[run] as SendCall;
      const first = this.firstIndexes[run] as number;
      const count = this.counts[run] as number;
      call.completeRun(first, count, this.topic, this.partition, baseOffset < 0 ? -1 : baseOffset + delta);
      delta += count;
    }
    this.finish();
  }

  fail(error: Error): void {
    for (const call of this.calls) call.fail(error);
    this.finish();
  }

  private finish(): void {
    this.done = true;
    this.builder = undefined;
    this.sealed = undefined;
    for (const listener of this.doneListeners ?? []) listener();
    this.doneListeners = undefined;
  }

  whenDone(): Promise<void> {
    if (this.done) return Promise.resolve();
    return new Promise((resolve) => {
      this.doneListeners ??= [];
      this.doneListeners.push(resolve);
    });
  }
}

/** The batches of one partition: the one being filled, those waiting to be sent, those in flight. */
export class PartitionQueue {
  open: ProducerBatch | undefined;
  /** Sealed (or being compressed) and not in flight, in id order; retried batches go back here. */
  readonly queued: ProducerBatch[] = [];
  /** Sent and not yet answered, in the order sent. */
  readonly inFlight: ProducerBatch[] = [];
  /** The sequence number of the next batch's first record (idempotence). */
  nextSequence = 0;
  /**
   * After a retriable failure: one batch in flight at a time until every batch sent before the
   * failure is acknowledged, so retries cannot overtake each other.
   */
  recovering = false;

  constructor(
    readonly topic: string,
    readonly partition: number,
  ) {}

  /** Puts a batch back among the queued ones, in order. */
  requeue(batch: ProducerBatch): void {
    let at = this.queued.findIndex((queued) => queued.id > batch.id);
    if (at === -1) at = this.queued.length;
    this.queued.splice(at, 0, batch);
  }

  removeInFlight(batch: ProducerBatch): void {
    const at = this.inFlight.indexOf(batch);
    if (at !== -1) this.inFlight.splice(at, 1);
  }

  /** Whether a batch created before `batch` is still waiting for its acknowledgement. */
  hasEarlierUnacknowledged(batch: ProducerBatch): boolean {
    return this.inFlight.some((b) => b.id < batch.id) || this.queued.some((b) => b.id < batch.id);
  }

  get isIdle(): boolean {
    return this.open === undefined && this.queued.length === 0 && this.inFlight.length === 0;
  }
}
