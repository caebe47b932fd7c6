import { ErrorCode } from "../../protocol/errors.js";
import type { FetchResponse } from "../../protocol/generated/fetch.js";
import { ProtocolError } from "../../protocol/protocol-error.js";
import type { Cluster } from "../cluster.js";
import { BrookError, needsMetadataRefresh } from "../errors.js";
import { backoffDelay, type ResolvedRetryOptions } from "../retry.js";
import { type ConsumableBatches, consumableBatches, decodeFetchedBatch } from "./fetched-records.js";
import { MAX_INT32 } from "./options.js";
import { type PartitionState, partitionKey } from "./partition-state.js";

export interface FetcherOptions {
  maxWaitMs: number;
  minBytes: number;
  maxBytes: number;
  partitionMaxBytes: number;
  /** 1 read_committed, 0 read_uncommitted. */
  isolationLevel: number;
  requestTimeoutMs: number;
  retry: ResolvedRetryOptions;
}

/** What the fetcher needs from the consumer. */
export interface FetcherHost {
  /** The partitions assigned now. */
  assignedPartitions(): Iterable<PartitionState>;
  /** `state` has new records to deliver. */
  onRecords(state: PartitionState): void;
  /** The broker says `state`'s position is outside the log (OFFSET_OUT_OF_RANGE). */
  onOffsetOutOfRange(state: PartitionState): void;
  /** Something the application should hear about. */
  report(error: BrookError): void;
}

interface RequestedPartition {
  state: PartitionState;
  /** The state's epoch when the fetch was sent: a different one now means the position jumped. */
  epoch: number;
  fetchOffset: number;
}

/** Fetch sessions (KIP-227) are not used: every request lists all its partitions. */
const NO_FETCH_SESSION = { sessionId: 0, sessionEpoch: -1 };
/**
 * How far a partition's decoding runs ahead of its delivery: two batches at most (the one being
 * delivered and the next), and only one once an uncompressed batch of DECODED_AHEAD_BYTES or more
 * is decoded. Records are decoded as late as possible because every young-generation collection
 * copies (and eventually promotes) the records still alive: an iterator reading 1,000,000
 * messages of 100 B, with two 512 KiB batches decoded per partition, spent 30% of its time
 * collecting and promoted 50-100 MiB; with one, 7 MiB. Decoding an uncompressed batch takes no
 * I/O, so delivery then waits only a few microtask turns for it; small batches are still decoded
 * one ahead, so that a message or two is not a wait of its own. A compressed batch may decompress
 * off the main thread (gzip on libuv's pool): it is always decoded one ahead, so that its
 * decompression overlaps the delivery of the batch before.
 */
const DECODED_AHEAD_BATCHES = 2;
const DECODED_AHEAD_BYTES = 64 * 1024;

/**
 * Keeps fetched records ahead of the application, with at most one Fetch in flight per
 * broker covering every partition it leads that wants data. A partition wants data while
 * less than partitionMaxBytes of it is buffered (or just the batch being delivered), so the
 * next fetch is on its way while the application works through the current one, and a
 * partition nobody reads (paused, or slow to process) drops out of the requests instead of
 * holding the others back.
 *
 * Fetched batches stay bytes until shortly before delivery (see DECODED_AHEAD_BATCHES), so the
 * records alive as objects are few, whatever the fetch sizes — which keeps the garbage
 * collector's work and the memory small.
 *
 * Fetches go on their own connection ("fetch" channel), so their long polls never delay
 * metadata, offset or group requests to the same broker. Errors back off per partition (per
 * broker for a failed request), with a metadata refresh when they say leadership moved;
 * errors that outlast retry.timeoutMs are reported to the application, and fetching goes on.
 */
export class Fetcher {
  private readonly busyBrokers = new Set<number>();
  /** When requests to a broker started to fail, for reporting errors that last. */
  private readonly brokerFailingSince = new Map<number, number>();
  private scheduled = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryTimerAt = Number.POSITIVE_INFINITY;
  private refreshingMetadata = false;
  private closed = false;

  constructor(
    private readonly cluster: Cluster,
    private readonly options: FetcherOptions,
    private readonly host: FetcherHost,
  ) {}

  /** Looks for partitions to fetch, once per event-loop turn however often it is called. */
  schedule(): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      if (!this.closed) this.fetchWhatIsWanted();
    });
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
  }

  /**
   * Less than a fetch's worth is buffered — or only the batch being delivered, however large:
   * then too the next fetch should be on its way.
   */
  private wantsData(state: PartitionState): boolean {
    return (
      state.bufferedBytes < this.options.partitionMaxBytes ||
      (state.pending.length === 0 && !state.decoding && state.chunks.length <= 1)
    );
  }

  /** The application got to the end of `state`'s first chunk. */
  chunkDelivered(state: PartitionState): void {
    state.finishChunk();
    this.decodeAhead(state);
    this.schedule();
  }

  /** Decodes `state`'s next pending batch, unless enough is decoded already (see DECODED_AHEAD_BATCHES). */
  private decodeAhead(state: PartitionState): void {
    const batch = state.pending[0];
    if (!batch || state.decoding || this.closed) return;
    // With fewer than two chunks decoded, chunkBytes[0] is all that is decoded.
    const enough =
      state.chunks.length >= DECODED_AHEAD_BATCHES ||
      (!batch.compressed && (state.chunkBytes[0] ?? 0) >= DECODED_AHEAD_BYTES);
    if (enough) return;
    state.pending.shift();
    const epoch = state.epoch;
    state.decoding = true;
    decodeFetchedBatch(batch).then(
      (records) => {
        state.decoding = false;
        if (state.epoch === epoch && state.assigned) {
          state.decodedUpTo = batch.lastOffset + 1;
          if (records.length > 0) {
            state.chunks.push(records);
            state.chunkBytes.push(batch.bytes.length);
            this.host.onRecords(state);
          } else {
            state.bufferedBytes -= batch.bytes.length;
          }
        }
        this.decodeAhead(state);
        // With the last pending batch decoded, the partition may want the next fetch.
        this.schedule();
      },
      (error) => {
        state.decoding = false;
        if (state.epoch === epoch && state.assigned) {
          // Fetched again from the corrupt batch after a backoff: stuck there until a seek, as Kafka's consumers are.
          const undecoded = state.pending.reduce((sum, b) => sum + b.bytes.length, batch.bytes.length);
          state.pending = [];
          state.bufferedBytes -= undecoded;
          state.fetchOffset = state.decodedUpTo;
          state.epoch++;
          this.partitionFailed(state, corruptRecords(state, Math.max(batch.minOffset, state.decodedUpTo), error));
          this.schedule();
        }
        this.decodeAhead(state);
      },
    );
  }

  private fetchWhatIsWanted(): void {
    const now = Date.now();
    const byBroker = new Map<number, PartitionState[]>();
    let nextRetryAt = Number.POSITIVE_INFINITY;
    for (const state of this.host.assignedPartitions()) {
      if (!state.fetchable || !this.wantsData(state)) continue;
      if (state.retryAt > now) {
        nextRetryAt = Math.min(nextRetryAt, state.retryAt);
        continue;
      }
      let leader: number;
      try {
        leader = this.cluster.leaderFor(state.topic, state.partition);
      } catch (error) {
        this.partitionFailed(state, error as BrookError);
        nextRetryAt = Math.min(nextRetryAt, state.retryAt);
        continue;
      }
      if (this.busyBrokers.has(leader)) continue;
      const list = byBroker.get(leader);
      if (list) list.push(state);
      else byBroker.set(leader, [state]);
    }
    for (const [broker, states] of byBroker) void this.fetchFrom(broker, states);
    this.armRetryTimer(nextRetryAt);
  }

  private armRetryTimer(at: number): void {
    if (at === Number.POSITIVE_INFINITY || at >= this.retryTimerAt) return;
    clearTimeout(this.retryTimer);
    this.retryTimerAt = at;
    this.retryTimer = setTimeout(
      () => {
        this.retryTimerAt = Number.POSITIVE_INFINITY;
        this.schedule();
      },
      Math.max(0, at - Date.now()),
    );
  }

  private async fetchFrom(broker: number, states: PartitionState[]): Promise<void> {
    this.busyBrokers.add(broker);
    const requested = new Map<string, RequestedPartition>();
    const topics = new Map<string, { partition: number; fetchOffset: number; partitionMaxBytes: number }[]>();
    for (const state of states) {
      state.inFlight = true;
      requested.set(state.key, { state, epoch: state.epoch, fetchOffset: state.fetchOffset });
      const entry = {
        partition: state.partition,
        fetchOffset: state.fetchOffset,
        partitionMaxBytes: this.options.partitionMaxBytes,
      };
      const list = topics.get(state.topic);
      if (list) list.push(entry);
      else topics.set(state.topic, [entry]);
    }
    const { maxWaitMs, minBytes, maxBytes, isolationLevel, requestTimeoutMs } = this.options;
    try {
      const response = await this.cluster.request(
        broker,
        "Fetch",
        () => ({
          replicaId: -1,
          maxWaitMs,
          minBytes,
          maxBytes,
          isolationLevel,
          ...NO_FETCH_SESSION,
          topics: [...topics].map(([topic, partitions]) => ({ topic, partitions })),
        }),
        { channel: "fetch", timeoutMs: Math.min(requestTimeoutMs + maxWaitMs, MAX_INT32) },
      );
      if (response.errorCode !== ErrorCode.NONE)
        throw BrookError.fromKafkaCode(response.errorCode, `Fetch from broker ${broker}`);
      this.brokerFailingSince.delete(broker);
      await this.handleResponse(response, requested);
    } catch (error) {
      if (!this.closed) this.requestFailed(broker, requested, error);
    } finally {
      for (const { state } of requested.values()) state.inFlight = false;
      this.busyBrokers.delete(broker);
      this.schedule();
    }
  }

  private async handleResponse(response: FetchResponse, requested: Map<string, RequestedPartition>): Promise<void> {
    const readCommitted = this.options.isolationLevel === 1;
    for (const topic of response.responses) {
      for (const partition of topic.partitions) {
        const entry = requested.get(partitionKey(topic.topic, partition.partitionIndex));
        if (!entry) continue;
        const { state, epoch, fetchOffset } = entry;
        const current = () => state.assigned && state.epoch === epoch && !this.closed;
        if (!current()) continue;
        if (partition.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE) {
          this.host.onOffsetOutOfRange(state);
          continue;
        }
        if (partition.errorCode !== ErrorCode.NONE) {
          this.partitionFailed(
            state,
            BrookError.fromKafkaCode(partition.errorCode, `Fetch of ${state.topic}-${state.partition}`, {
              topic: state.topic,
              partition: state.partition,
            }),
          );
          continue;
        }
        const bytes = partition.records;
        if (bytes && bytes.length > 0) {
          let fetched: ConsumableBatches;
          try {
            fetched = await consumableBatches(bytes, fetchOffset, partition.abortedTransactions, readCommitted);
          } catch (error) {
            this.partitionFailed(state, corruptRecords(state, fetchOffset, error));
            continue;
          }
          if (!current()) continue;
          if (fetched.nextOffset === fetchOffset) {
            // Bytes but not one whole batch: only a broker without KIP-74 (Fetch < v3) does that.
            this.partitionFailed(
              state,
              new BrookError(
                "BROOK_RECORD_TOO_LARGE",
                `the batch at ${state.topic}-${state.partition} offset ${fetchOffset} is larger than partitionMaxBytes (${this.options.partitionMaxBytes})`,
                { topic: state.topic, partition: state.partition },
              ),
            );
            continue;
          }
          state.fetchOffset = fetched.nextOffset;
          for (const batch of fetched.batches) {
            state.pending.push(batch);
            state.bufferedBytes += batch.bytes.length;
          }
          this.decodeAhead(state);
        }
        state.failures = 0;
        state.failingSince = 0;
      }
    }
  }

  private requestFailed(broker: number, requested: Map<string, RequestedPartition>, error: unknown): void {
    const failure =
      error instanceof BrookError
        ? error
        : new BrookError("BROOK_PROTOCOL", `Fetch from broker ${broker} failed: ${error}`, {
            cause: error,
            retriable: true,
          });
    const now = Date.now();
    const since = this.brokerFailingSince.get(broker);
    if (since === undefined) this.brokerFailingSince.set(broker, now);
    else if (now - since >= this.options.retry.timeoutMs || !failure.retriable) {
      this.host.report(failure);
      this.brokerFailingSince.set(broker, now);
    }
    for (const { state, epoch } of requested.values()) {
      if (state.epoch !== epoch) continue;
      state.failures++;
      state.retryAt = now + backoffDelay(state.failures - 1, this.options.retry);
    }
    if (needsMetadataRefresh(failure)) this.refreshMetadata();
  }

  /** Backs a partition off after `error`; reports it when it lasts, or at once when retrying cannot help. */
  private partitionFailed(state: PartitionState, error: BrookError): void {
    const now = Date.now();
    state.failures++;
    state.retryAt = now + backoffDelay(state.failures - 1, this.options.retry);
    if (state.failingSince === 0) state.failingSince = now;
    if (!error.retriable || now - state.failingSince >= this.options.retry.timeoutMs) {
      this.host.report(error);
      state.failingSince = now;
    }
    if (needsMetadataRefresh(error)) this.refreshMetadata();
  }

  private refreshMetadata(): void {
    if (this.refreshingMetadata || this.closed) return;
    this.refreshingMetadata = true;
    this.cluster
      .refreshMetadata()
      .catch(() => undefined)
      .finally(() => {
        this.refreshingMetadata = false;
        this.schedule();
      });
  }
}

function corruptRecords(state: PartitionState, fetchOffset: number, error: unknown): BrookError {
  const detail = error instanceof ProtocolError ? error.message : String(error);
  return new BrookError(
    "BROOK_CORRUPT_RECORDS",
    `records fetched from ${state.topic}-${state.partition} at offset ${fetchOffset} cannot be decoded: ${detail}`,
    { cause: error, topic: state.topic, partition: state.partition, retriable: false },
  );
}
