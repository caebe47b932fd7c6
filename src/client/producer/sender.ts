import { ErrorCode } from "../../protocol/errors.js";
import type { ProduceResponse } from "../../protocol/generated/produce.js";
import type { Cluster } from "../cluster.js";
import { BrookError, needsMetadataRefresh } from "../errors.js";
import { backoffDelay, type ResolvedRetryOptions } from "../retry.js";
import type { SerializedBytes } from "../serializers.js";
import { BatchBufferPool, RecordBatchBuilder, type SerializedHeader, sealBatch, stampBatch } from "./batch-builder.js";
import { PartitionQueue, ProducerBatch, type SendCall } from "./batches.js";

export interface SenderOptions {
  acks: number;
  idempotent: boolean;
  /** Kafka codec id. */
  codec: number;
  lingerMs: number;
  batchBytes: number;
  bufferBytes: number;
  maxInFlightPerPartition: number;
  deliveryTimeoutMs: number;
  requestTimeoutMs: number;
  retry: ResolvedRetryOptions;
}

const MAX_SEQUENCE = 2147483647;
/** Java's idempotent producers send this: their producer id never expires for inactivity. */
const NO_TRANSACTION_TIMEOUT = 2147483647;
/** Produce v3 is the first that carries v2 record batches; zstd needs v7. */
const MIN_PRODUCE_VERSION = 3;
const MIN_ZSTD_PRODUCE_VERSION = 7;
const ZSTD = 4;

/**
 * The producer's engine: per-partition batches (the accumulator) and the sender that ships
 * them to partition leaders.
 *
 * Records are encoded into a partition's open batch as send() accepts them. A batch is sealed
 * when full, when lingerMs has passed since its first record, or on flush(). A drain, run once
 * per event-loop turn when something changed, takes the first sendable batch of every
 * partition, groups them by leader into one Produce request per broker, and repeats while
 * partitions have batches and room in flight (maxInFlightPerPartition), so requests to a
 * broker are pipelined on its connection.
 *
 * Idempotence: a producer id from InitProducerId; each batch gets its partition's next
 * sequence number when first sent and keeps it through retries, so the broker drops a retry of
 * a batch it already stored. After a retriable failure a partition sends one batch at a time
 * until the batches sent before the failure are acknowledged. When the sequence state is in
 * doubt (a batch failed for good after getting a sequence, OUT_OF_ORDER_SEQUENCE_NUMBER for the
 * oldest batch, UNKNOWN_PRODUCER_ID), the sender stops sending, waits for the requests in
 * flight, bumps the epoch (KIP-360; a new producer id from brokers without InitProducerId v3)
 * and restarts every partition's sequences at 0 — as the Java client does.
 */
export class Sender {
  private readonly queues = new Map<string, PartitionQueue[]>();
  /** Queues with sealed batches not in flight. */
  private readonly active = new Set<PartitionQueue>();
  /** Queues with an open batch, for lingerMs. */
  private readonly filling = new Set<PartitionQueue>();
  private readonly live = new Set<ProducerBatch>();
  private requestsInFlight = 0;
  private drainScheduled = false;
  private lingerTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryTimerAt = 0;
  private metadataRefreshing = false;
  private producerId = -1;
  private producerEpoch = -1;
  /** The InitProducerId under way, if any. */
  private producerIdRequest: Promise<void> | undefined;
  private epochBumpNeeded = false;
  private bufferUsed = 0;
  private closed = false;
  private readonly pool: BatchBufferPool;

  constructor(
    private readonly cluster: Cluster,
    private readonly options: SenderOptions,
    /** Called whenever buffer bytes are released. */
    private readonly onBufferReleased: () => void,
  ) {
    // A quarter of the buffer, at most 16 batches, stays allocated for reuse.
    const pooled = Math.min(16, Math.floor(options.bufferBytes / options.batchBytes / 4));
    this.pool = new BatchBufferPool(options.batchBytes, Math.max(2, pooled));
  }

  /** Bytes held by batches not yet done. */
  get bufferedBytes(): number {
    return this.bufferUsed;
  }

  private queue(topic: string, partition: number): PartitionQueue {
    let partitions = this.queues.get(topic);
    if (!partitions) {
      partitions = [];
      this.queues.set(topic, partitions);
    }
    let queue = partitions[partition];
    if (!queue) {
      queue = new PartitionQueue(topic, partition);
      partitions[partition] = queue;
    }
    return queue;
  }

  /** Encodes message `index` of `call` into the open batch of its partition. */
  append(
    call: SendCall,
    index: number,
    topic: string,
    partition: number,
    key: SerializedBytes,
    value: SerializedBytes,
    headers: readonly SerializedHeader[],
    timestamp: number,
  ): void {
    const queue = this.queue(topic, partition);
    let batch = queue.open;
    if (batch) {
      const bytes = (batch.builder as RecordBatchBuilder).append(key, value, headers, timestamp);
      if (bytes > 0) {
        this.account(batch, bytes);
        batch.addRecord(call, index);
        return;
      }
      this.seal(queue);
    }
    const builder = new RecordBatchBuilder(
      this.options.batchBytes,
      RecordBatchBuilder.estimateRecordBytes(key, value, headers),
      this.pool,
    );
    batch = new ProducerBatch(topic, partition, builder, Date.now() + this.options.deliveryTimeoutMs);
    this.account(batch, builder.append(key, value, headers, timestamp));
    batch.addRecord(call, index);
    queue.open = batch;
    this.live.add(batch);
    this.filling.add(queue);
    if (this.options.lingerMs === 0) this.scheduleDrain();
    else this.armLingerTimer(this.options.lingerMs);
  }

  private account(batch: ProducerBatch, bytes: number): void {
    batch.bufferBytes += bytes;
    this.bufferUsed += bytes;
  }

  private armLingerTimer(delayMs: number): void {
    if (this.lingerTimer) return;
    this.lingerTimer = setTimeout(() => {
      this.lingerTimer = undefined;
      this.drain();
    }, delayMs);
  }

  private seal(queue: PartitionQueue): void {
    const batch = queue.open as ProducerBatch;
    queue.open = undefined;
    this.filling.delete(queue);
    const sealed = sealBatch(batch.builder as RecordBatchBuilder, this.options.codec);
    batch.builder = undefined;
    queue.queued.push(batch);
    this.active.add(queue);
    if (!(sealed instanceof Promise)) {
      batch.sealed = sealed;
      return;
    }
    sealed.then(
      (result) => {
        if (batch.done) return;
        batch.sealed = result;
        this.scheduleDrain();
      },
      (error) => {
        const at = queue.queued.indexOf(batch);
        if (at !== -1) queue.queued.splice(at, 1);
        this.finishBatch(
          batch,
          new BrookError(
            "BROOK_PROTOCOL",
            `compressing a batch for ${batch.topic}-${batch.partition} failed: ${error}`,
            {
              cause: error,
            },
          ),
        );
      },
    );
  }

  /** Seals every open batch, to be sent without waiting for lingerMs. */
  sealAll(): void {
    for (const queue of [...this.filling]) this.seal(queue);
    this.scheduleDrain();
  }

  /** Seals every open batch and resolves when all batches that exist now are done. */
  async flush(): Promise<void> {
    this.sealAll();
    await Promise.all([...this.live].map((batch) => batch.whenDone()));
  }

  /** Stops timers; call after flush(). Batches still queued fail with `error`. */
  close(error: BrookError): void {
    this.closed = true;
    clearTimeout(this.lingerTimer);
    clearTimeout(this.retryTimer);
    for (const batch of [...this.live]) this.finishBatch(batch, error);
  }

  scheduleDrain(): void {
    if (this.drainScheduled || this.closed) return;
    this.drainScheduled = true;
    setImmediate(() => {
      this.drainScheduled = false;
      this.drain();
    });
  }

  private drain(): void {
    if (this.closed) return;
    const now = Date.now();
    this.sealLingered(now);
    this.expire(now);
    for (const queue of this.active) if (queue.queued.length === 0) this.active.delete(queue);
    if (this.options.idempotent && !this.readyToSequence()) return;

    let needMetadata = false;
    for (let progress = true; progress; ) {
      progress = false;
      const byLeader = new Map<number, ProducerBatch[]>();
      for (const queue of this.active) {
        const batch = queue.queued[0];
        if (!batch) {
          this.active.delete(queue);
          continue;
        }
        if (!batch.sealed) continue; // still being compressed
        if (batch.retryAt > now) {
          this.armRetryTimer(batch.retryAt);
          continue;
        }
        const limit = queue.recovering ? 1 : this.options.maxInFlightPerPartition;
        if (queue.inFlight.length >= limit) continue;
        let leader: number;
        try {
          leader = this.cluster.leaderFor(queue.topic, queue.partition);
        } catch (error) {
          const failure = error as BrookError;
          if (!failure.retriable) {
            for (const queued of queue.queued.splice(0)) this.failSequenced(queued, failure);
          } else {
            batch.lastError = failure;
            needMetadata = true;
          }
          continue;
        }
        this.stamp(queue, batch);
        queue.queued.shift();
        queue.inFlight.push(batch);
        let group = byLeader.get(leader);
        if (!group) {
          group = [];
          byLeader.set(leader, group);
        }
        group.push(batch);
        progress = true;
      }
      for (const [leader, batches] of byLeader) this.sendProduce(leader, batches);
    }
    if (needMetadata) this.refreshMetadataThenDrain();
  }

  /** Seals open batches whose first record has waited lingerMs, and re-arms the timer for the others. */
  private sealLingered(now: number): void {
    let earliest = Number.POSITIVE_INFINITY;
    for (const queue of [...this.filling]) {
      const createdAt = (queue.open as ProducerBatch).createdAt;
      // Timers may fire a millisecond early by Date.now()'s rounding.
      if (now - createdAt >= this.options.lingerMs - 1) this.seal(queue);
      else earliest = Math.min(earliest, createdAt);
    }
    if (earliest !== Number.POSITIVE_INFINITY) this.armLingerTimer(earliest + this.options.lingerMs - now);
  }

  /** Fails queued batches past their delivery deadline. */
  private expire(now: number): void {
    for (const queue of this.active) {
      for (let i = 0; i < queue.queued.length; ) {
        const batch = queue.queued[i] as ProducerBatch;
        if (batch.deadline > now) {
          i++;
          continue;
        }
        queue.queued.splice(i, 1);
        this.failSequenced(batch, this.deliveryTimeout(batch, batch.lastError));
      }
    }
  }

  private deliveryTimeout(batch: ProducerBatch, lastError: BrookError | undefined): BrookError {
    const reason = lastError ? `: ${lastError.message}` : "";
    return new BrookError(
      "BROOK_TIMEOUT",
      `${batch.recordCount} message(s) for ${batch.topic}-${batch.partition} were not delivered within deliveryTimeoutMs (${this.options.deliveryTimeoutMs} ms)${reason}`,
      { cause: lastError, topic: batch.topic, partition: batch.partition },
    );
  }

  /**
   * Whether batches may get sequence numbers now: there is a producer id, and no epoch bump
   * is waiting. Starts InitProducerId when needed, and only when there is something to send:
   * an idle producer does not keep calling a cluster that may be gone.
   */
  private readyToSequence(): boolean {
    if (this.producerIdRequest) return false;
    if (this.producerId >= 0 && !this.epochBumpNeeded) return true;
    if (this.active.size === 0) return false;
    // An epoch bump waits for every request in flight: their batches carry the old epoch.
    if (this.epochBumpNeeded && this.requestsInFlight > 0) return false;
    this.initProducerId().catch(() => undefined);
    return false;
  }

  /** Makes sure the producer has an id (idempotence); resolves once it has. */
  ensureProducerId(): Promise<void> {
    if (this.producerIdRequest) return this.producerIdRequest;
    if (this.producerId >= 0) return Promise.resolve();
    return this.initProducerId();
  }

  /** Gets a producer id, or bumps the epoch of the current one; resets every partition's sequence. */
  private initProducerId(): Promise<void> {
    const bump = this.epochBumpNeeded && this.producerId >= 0;
    const request = (version: number) =>
      bump && version >= 3
        ? {
            transactionalId: null,
            transactionTimeoutMs: NO_TRANSACTION_TIMEOUT,
            producerId: this.producerId,
            producerEpoch: this.producerEpoch,
          }
        : { transactionalId: null, transactionTimeoutMs: NO_TRANSACTION_TIMEOUT, producerId: -1, producerEpoch: -1 };
    const pending = this.cluster
      .retry(async () => {
        const response = await this.cluster.requestAny("InitProducerId", request);
        if (response.errorCode !== ErrorCode.NONE) {
          throw BrookError.fromKafkaCode(response.errorCode, "InitProducerId (idempotent producer)");
        }
        return response;
      })
      .then(
        (response) => {
          this.producerId = response.producerId;
          this.producerEpoch = response.producerEpoch;
          this.epochBumpNeeded = false;
          for (const partitions of this.queues.values()) {
            for (const queue of partitions) {
              if (!queue) continue;
              queue.nextSequence = 0;
              queue.recovering = false;
              for (const batch of queue.queued) batch.baseSequence = -1;
            }
          }
        },
        (error: BrookError) => {
          // Without a producer id nothing can be sent: fail what waits, let later sends try again.
          for (const queue of this.active) for (const batch of queue.queued.splice(0)) this.finishBatch(batch, error);
          throw error;
        },
      )
      .finally(() => {
        this.producerIdRequest = undefined;
        this.scheduleDrain();
      });
    this.producerIdRequest = pending;
    return pending;
  }

  /** Writes the batch header: producer id, epoch and a sequence taken now if it has none. */
  private stamp(queue: PartitionQueue, batch: ProducerBatch): void {
    const sealed = batch.sealed as NonNullable<ProducerBatch["sealed"]>;
    if (!this.options.idempotent) {
      if (batch.attempts === 0) stampBatch(sealed, -1, -1, -1);
      return;
    }
    if (batch.baseSequence >= 0) return;
    batch.baseSequence = queue.nextSequence;
    queue.nextSequence = (queue.nextSequence + sealed.recordCount) % (MAX_SEQUENCE + 1);
    stampBatch(sealed, this.producerId, this.producerEpoch, batch.baseSequence);
  }

  private sendProduce(leader: number, batches: ProducerBatch[]): void {
    const topicData = new Map<string, { index: number; records: Buffer }[]>();
    for (const batch of batches) {
      let partitions = topicData.get(batch.topic);
      if (!partitions) {
        partitions = [];
        topicData.set(batch.topic, partitions);
      }
      partitions.push({
        index: batch.partition,
        records: (batch.sealed as NonNullable<ProducerBatch["sealed"]>).bytes,
      });
    }
    const build = () => ({
      transactionalId: null,
      acks: this.options.acks,
      timeoutMs: this.options.requestTimeoutMs,
      topicData: [...topicData].map(([name, partitionData]) => ({ name, partitionData })),
    });
    const minVersion = this.options.codec === ZSTD ? MIN_ZSTD_PRODUCE_VERSION : MIN_PRODUCE_VERSION;
    this.requestsInFlight++;
    const sent =
      this.options.acks === 0
        ? this.cluster
            .sessionForNode(leader)
            .then((session) => session.sendWithoutResponse("Produce", build, { minVersion }))
            .then(() => undefined)
        : this.cluster.request(leader, "Produce", build, { minVersion });
    sent.then(
      (response) => {
        this.requestsInFlight--;
        this.onResponse(batches, response ?? undefined);
      },
      (error) => {
        this.requestsInFlight--;
        for (const batch of batches) this.onBatchError(batch, asBrookError(error));
        this.scheduleDrain();
      },
    );
  }

  private onResponse(batches: ProducerBatch[], response: ProduceResponse | undefined): void {
    if (!response) {
      for (const batch of batches) this.onBatchSuccess(batch, -1);
      this.scheduleDrain();
      return;
    }
    const answers = new Map<string, ProduceResponse["responses"][number]["partitionResponses"][number]>();
    for (const topic of response.responses) {
      for (const partition of topic.partitionResponses) answers.set(`${topic.name}\0${partition.index}`, partition);
    }
    for (const batch of batches) {
      const answer = answers.get(`${batch.topic}\0${batch.partition}`);
      if (!answer) {
        this.onBatchError(
          batch,
          new BrookError("BROOK_PROTOCOL", `the Produce response has no answer for ${batch.topic}-${batch.partition}`, {
            retriable: true,
          }),
        );
      } else if (answer.errorCode === ErrorCode.NONE || answer.errorCode === ErrorCode.DUPLICATE_SEQUENCE_NUMBER) {
        this.onBatchSuccess(batch, answer.baseOffset);
      } else {
        this.onBatchError(
          batch,
          BrookError.fromKafkaCode(answer.errorCode, `produce to ${batch.topic}-${batch.partition}`, {
            brokerMessage: answer.errorMessage,
            topic: batch.topic,
            partition: batch.partition,
          }),
        );
      }
    }
    this.scheduleDrain();
  }

  private onBatchSuccess(batch: ProducerBatch, baseOffset: number): void {
    // Acknowledged, so the socket is done with the bytes (not so with acks=0: no response).
    const backing = batch.sealed?.backing;
    if (backing && this.options.acks !== 0) this.pool.give(backing);
    const queue = this.queue(batch.topic, batch.partition);
    queue.removeInFlight(batch);
    if (queue.recovering && !queue.inFlight.some((b) => b.attempts > 0) && !queue.queued.some((b) => b.attempts > 0)) {
      queue.recovering = false;
    }
    this.finishBatch(batch, undefined, baseOffset);
  }

  private onBatchError(batch: ProducerBatch, error: BrookError): void {
    if (batch.done) return;
    const queue = this.queue(batch.topic, batch.partition);
    queue.removeInFlight(batch);
    if (needsMetadataRefresh(error)) this.refreshMetadataThenDrain();
    if (this.options.idempotent) {
      const code = error.kafkaCode;
      if (
        code === ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER &&
        !this.epochBumpNeeded &&
        !queue.hasEarlierUnacknowledged(batch)
      ) {
        // The oldest unacknowledged batch is refused for its sequence: the broker lost or never
        // had the batches before it. It cannot be delivered without risking a gap or a duplicate.
        this.failSequenced(
          batch,
          new BrookError(
            error.code,
            `produce to ${batch.topic}-${batch.partition} failed: the broker reports a gap in this producer's sequence numbers (OUT_OF_ORDER_SEQUENCE_NUMBER), so earlier messages may be lost; the producer starts a new epoch`,
            { kafkaCode: code, topic: batch.topic, partition: batch.partition, cause: error },
          ),
        );
        return;
      }
      if (code === ErrorCode.UNKNOWN_PRODUCER_ID || code === ErrorCode.INVALID_PRODUCER_EPOCH) {
        // The broker forgot this producer (its records were deleted) or the epoch is stale: a
        // new epoch restarts the sequences, and this batch, refused, is sent again under it.
        this.epochBumpNeeded = true;
        this.retryLater(queue, batch, error, true);
        return;
      }
      if (code === ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER) {
        // An earlier batch of this partition is being retried, or failed and a new epoch is
        // coming: this one was refused, not stored, and goes again in its turn.
        this.retryLater(queue, batch, error, true);
        return;
      }
    }
    if (error.retriable && this.options.acks !== 0 && !this.closed) {
      if (Date.now() < batch.deadline) this.retryLater(queue, batch, error, false);
      else this.failSequenced(batch, this.deliveryTimeout(batch, error));
      return;
    }
    this.failSequenced(batch, error);
  }

  private retryLater(queue: PartitionQueue, batch: ProducerBatch, error: BrookError, immediately: boolean): void {
    batch.attempts++;
    batch.lastError = error;
    batch.retryAt = immediately ? 0 : Date.now() + backoffDelay(batch.attempts - 1, this.options.retry);
    queue.recovering = true;
    queue.requeue(batch);
    this.active.add(queue);
  }

  /**
   * Fails a batch for good. If it had a sequence number the broker's view of this producer's
   * sequence is now unknown, so the next batches go out under a new epoch.
   */
  private failSequenced(batch: ProducerBatch, error: BrookError): void {
    if (this.options.idempotent && batch.baseSequence >= 0) this.epochBumpNeeded = true;
    this.finishBatch(batch, error);
  }

  private finishBatch(batch: ProducerBatch, error: BrookError | undefined, baseOffset = -1): void {
    if (batch.done) return;
    this.live.delete(batch);
    this.bufferUsed -= batch.bufferBytes;
    if (error) batch.fail(error);
    else batch.complete(baseOffset);
    this.onBufferReleased();
  }

  private armRetryTimer(at: number): void {
    if (this.retryTimer && this.retryTimerAt <= at) return;
    clearTimeout(this.retryTimer);
    this.retryTimerAt = at;
    this.retryTimer = setTimeout(
      () => {
        this.retryTimer = undefined;
        this.drain();
      },
      Math.max(0, at - Date.now()),
    );
  }

  /** Refreshes metadata (once at a time), then waits a backoff and drains again. */
  private refreshMetadataThenDrain(): void {
    if (this.metadataRefreshing || this.closed) return;
    this.metadataRefreshing = true;
    const again = () => {
      setTimeout(() => {
        this.metadataRefreshing = false;
        this.drain();
      }, this.options.retry.initialDelayMs);
    };
    this.cluster.refreshMetadata().then(again, again);
  }
}

function asBrookError(error: unknown): BrookError {
  if (error instanceof BrookError) return error;
  return new BrookError("BROOK_PROTOCOL", `produce failed: ${error}`, { cause: error });
}
