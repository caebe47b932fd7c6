import { ErrorCode } from "../protocol/errors.js";
import type { BatchHeader } from "../protocol/records/batch-header.js";

/** How many recent batches per producer and partition are remembered to answer retries (as Kafka). */
const REMEMBERED_BATCHES = 5;
const INT32_MAX = 2147483647;

interface AppendedBatch {
  firstSequence: number;
  lastSequence: number;
  /** The offsets the batch got; a promise while its append is still in flight. */
  baseOffset: Promise<number>;
}

interface PartitionProducerState {
  epoch: number;
  batches: AppendedBatch[];
}

/** One producer's state on one partition, as a snapshot keeps it: batches as [first sequence, last sequence, base offset]. */
export interface ProducerSnapshot {
  topic: string;
  partition: number;
  producerId: number;
  epoch: number;
  batches: [number, number, number][];
}

export type SequenceCheck =
  | { kind: "append"; record(baseOffset: Promise<number>): void }
  | { kind: "duplicate"; baseOffset: Promise<number> }
  | { kind: "error"; errorCode: number };

/** The sequence number that follows `sequence`; sequences wrap from INT32_MAX to 0. */
const nextSequence = (sequence: number) => (sequence === INT32_MAX ? 0 : sequence + 1);

/** The sequence number of a batch's last record. */
const lastSequenceOf = (firstSequence: number, recordCount: number) =>
  (firstSequence + recordCount - 1) % (INT32_MAX + 1);

const stateKey = (producerId: number, topic: string, partition: number) =>
  `${producerId}\u0000${topic}\u0000${partition}`;

/** What stateKey joined: producer id, topic, partition. */
function stateKeyParts(key: string): { producerId: number; topic: string; partition: number } {
  const [producerId, topic, partition] = key.split("\u0000") as [string, string, string];
  return { producerId: Number(producerId), topic, partition: Number(partition) };
}

/** A batch an earlier run wrote, whose offsets are known. */
const writtenBatch = (firstSequence: number, lastSequence: number, baseOffset: number): AppendedBatch => ({
  firstSequence,
  lastSequence,
  baseOffset: Promise.resolve(baseOffset),
});

/**
 * Idempotent-producer bookkeeping: for each producer id and partition, the epoch and the
 * sequence ranges of the last batches appended. A retried batch is recognised and answered
 * with its original offsets instead of being written twice; a gap in the sequence is refused.
 *
 * Checks run synchronously when a request is dispatched, before its append completes, so
 * pipelined requests from one producer see each other's batches in order.
 */
export class ProducerStateManager {
  private readonly states = new Map<string, PartitionProducerState>();
  private lastProducerId = 0;

  /**
   * A new producer id. Ids only need to be unique for the life of the data, so they derive
   * from the clock (which survives restarts) rather than from a persisted counter.
   */
  allocateProducerId(): number {
    this.lastProducerId = Math.max(Date.now() * 1000, this.lastProducerId + 1);
    return this.lastProducerId;
  }

  check(
    topic: string,
    partition: number,
    producerId: number,
    epoch: number,
    firstSequence: number,
    recordCount: number,
  ): SequenceCheck {
    const key = stateKey(producerId, topic, partition);
    const lastSequence = lastSequenceOf(firstSequence, recordCount);
    let state = this.states.get(key);
    if (state && epoch < state.epoch) return { kind: "error", errorCode: ErrorCode.INVALID_PRODUCER_EPOCH };
    if (state && epoch > state.epoch) {
      // A bumped epoch starts its sequences again from 0.
      if (firstSequence !== 0) return { kind: "error", errorCode: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER };
      state = undefined;
    }
    if (state) {
      const duplicate = state.batches.find((b) => b.firstSequence === firstSequence && b.lastSequence === lastSequence);
      if (duplicate) return { kind: "duplicate", baseOffset: duplicate.baseOffset };
      const latest = state.batches[state.batches.length - 1];
      if (latest && firstSequence !== nextSequence(latest.lastSequence)) {
        return { kind: "error", errorCode: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER };
      }
    }
    // No state yet (a new producer, or one from before a restart): accept its sequence as the start.
    const target = state ?? { epoch, batches: [] };
    return {
      kind: "append",
      record: (baseOffset) => {
        target.batches.push({ firstSequence, lastSequence, baseOffset });
        if (target.batches.length > REMEMBERED_BATCHES) target.batches.shift();
        this.states.set(key, target);
      },
    };
  }

  /**
   * Re-learns one partition's producers from the batches an earlier run appended, read back at
   * startup: a producer that outlived a crash retries the batches it saw no answer for, and
   * those already written must get their offsets back instead of being written twice.
   */
  restoring(topic: string, partition: number): PartitionRestore {
    return new PartitionRestore((producerId, state) => this.states.set(stateKey(producerId, topic, partition), state));
  }

  /**
   * Every producer's state, for the snapshot a clean shutdown leaves. Called once no append is in
   * flight any more; a batch whose append failed has no offsets and is left out.
   */
  async snapshot(): Promise<ProducerSnapshot[]> {
    const entries: ProducerSnapshot[] = [];
    for (const [key, state] of this.states) {
      const { producerId, topic, partition } = stateKeyParts(key);
      const batches: ProducerSnapshot["batches"] = [];
      for (const batch of state.batches) {
        const baseOffset = await batch.baseOffset.catch(() => undefined);
        if (baseOffset !== undefined) batches.push([batch.firstSequence, batch.lastSequence, baseOffset]);
      }
      entries.push({ topic, partition, producerId, epoch: state.epoch, batches });
    }
    return entries;
  }

  /** Takes back what `snapshot` gave, at startup, instead of restoring it from the logs. */
  load(entries: readonly ProducerSnapshot[]): void {
    for (const { topic, partition, producerId, epoch, batches } of entries) {
      this.states.set(stateKey(producerId, topic, partition), {
        epoch,
        batches: batches.map(([firstSequence, lastSequence, baseOffset]) =>
          writtenBatch(firstSequence, lastSequence, baseOffset),
        ),
      });
    }
  }

  /** Forgets the state of a deleted topic's partitions. */
  forgetTopic(topic: string): void {
    for (const key of this.states.keys()) if (stateKeyParts(key).topic === topic) this.states.delete(key);
  }
}

/**
 * The producers of one partition as its batches, handed over oldest first, leave them. Only
 * what the state keeps is kept while the batches go by (each producer's newest epoch and its
 * last batches, by numeric id): a restart may go over hundreds of thousands of batches.
 */
export class PartitionRestore {
  private readonly latest = new Map<number, { epoch: number; batches: BatchHeader[] }>();

  constructor(private readonly install: (producerId: number, state: PartitionProducerState) => void) {}

  /** The next idempotent batch of the partition. */
  add(batch: BatchHeader): void {
    let state = this.latest.get(batch.producerId);
    // A log holds a producer's epochs in increasing order: an older one here is not its state.
    if (state && batch.producerEpoch < state.epoch) return;
    if (!state || batch.producerEpoch > state.epoch) {
      state = { epoch: batch.producerEpoch, batches: [] };
      this.latest.set(batch.producerId, state);
    }
    state.batches.push(batch);
    if (state.batches.length > REMEMBERED_BATCHES) state.batches.shift();
  }

  /** Gives the producer state what the batches added up to. */
  finish(): void {
    for (const [producerId, { epoch, batches }] of this.latest) {
      this.install(producerId, {
        epoch,
        batches: batches.map((batch) =>
          writtenBatch(batch.baseSequence, lastSequenceOf(batch.baseSequence, batch.recordsCount), batch.baseOffset),
        ),
      });
    }
  }
}
