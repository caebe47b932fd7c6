import { ErrorCode } from "../protocol/errors.js";
import type { KafkaRecord } from "../protocol/records/record.js";
import { Cluster } from "./cluster.js";
import { Fetcher } from "./consumer/fetcher.js";
import { GroupMember, isMembershipError } from "./consumer/group-member.js";
import { ConsumerMessage } from "./consumer/message.js";
import {
  type ConsumerOptions,
  MAX_INT32,
  type ResolvedConsumerOptions,
  resolveConsumerOptions,
} from "./consumer/options.js";
import {
  PartitionState,
  partitionKey,
  type TopicPartition,
  type TopicPartitionOffset,
} from "./consumer/partition-state.js";
import { PositionFinder } from "./consumer/positions.js";
import { turnClock } from "./consumer/turn-clock.js";
import { BrookError } from "./errors.js";
import { commitOffsets, fetchCommittedOffsets, type OffsetToCommit } from "./group-offsets.js";
import type { ClusterMetadata } from "./metadata.js";

export type { Assignor, AssignorMember, AssignorName, GroupAssignment, TopicPartitions } from "./assignors/index.js";
export type { Deserializer, DeserializerName } from "./consumer/deserializers.js";
export { ConsumerMessage, type MessageHeader } from "./consumer/message.js";
export type { ConsumerOptions, OffsetResetPolicy } from "./consumer/options.js";
export type { TopicPartition, TopicPartitionOffset } from "./consumer/partition-state.js";

/** Called with the partitions concerned; the consumer waits for a returned promise before it goes on. */
export type RebalanceListener = (partitions: TopicPartition[]) => void | Promise<void>;

export interface SubscribeOptions {
  /** Topic names, or a pattern: topics created later that match it are picked up on the next metadata refresh (metadataMaxAgeMs). */
  topics: readonly string[] | RegExp;
  /**
   * After every rebalance, with the partitions this member gained (possibly none). Call
   * seek() here to choose where they start; otherwise the group's committed offset or
   * autoOffsetReset decides.
   */
  onPartitionsAssigned?: RebalanceListener;
  /** Before partitions go to another member: the last moment to commit them (auto-commit already did). */
  onPartitionsRevoked?: RebalanceListener;
  /** When membership was lost and the partitions may already be another member's: too late to commit. Default: onPartitionsRevoked. */
  onPartitionsLost?: RebalanceListener;
}

/** A partition to consume without a group's help, from `offset` (default: the committed offset, else autoOffsetReset). */
export interface PartitionAssignment extends TopicPartition {
  offset?: number;
}

export interface PollOptions {
  /** At most this many messages; default 500. */
  maxMessages?: number;
  /** Resolve with [] if nothing arrives for this long; default: wait until something does (or close()). */
  timeoutMs?: number;
}

export interface CommitOffset extends TopicPartitionOffset {
  /** Stored with the offset; Kafka's default limit is 4096 bytes. */
  metadata?: string | null;
}

/** What commit() commits: delivered messages (each as its offset + 1), or offsets as given. */
export type CommitTarget<Value, Key> =
  | ConsumerMessage<Value, Key>
  | readonly ConsumerMessage<Value, Key>[]
  | { offsets: readonly CommitOffset[] };

export interface SeekTarget extends TopicPartition {
  /** The next offset to deliver, or a jump to the log's start or end. */
  offset: number | "earliest" | "latest";
}

interface SafePointWork {
  work: () => Promise<void>;
  resolve: () => void;
  reject: (error: unknown) => void;
}

const DEFAULT_MAX_MESSAGES = 500;
/** Floor for the interval of subscription metadata refreshes, so metadataMaxAgeMs 0 does not spin. */
const MIN_METADATA_REFRESH_MS = 100;
const DONE: IteratorResult<never, undefined> = { done: true, value: undefined };

/**
 * Reads messages from Kafka topics, in a consumer group (`subscribe`) or from partitions
 * chosen by hand (`assign`), as an async iterator or in batches (`poll`).
 *
 * ```ts
 * const consumer = new Consumer<string>({ brokers: ["localhost:9092"], groupId: "billing", valueDeserializer: "string" });
 * await consumer.subscribe({ topics: ["orders"] });
 * for await (const message of consumer) console.log(message.partition, message.offset, message.value);
 * ```
 *
 * Delivery and liveness: the application holds what it was given until it pulls again (the
 * next `next()` of the iterator, the next `poll()`). Pulling again marks what it held as
 * processed — auto-commit commits exactly that — and is the safe point where rebalances
 * revoke and assign partitions. Holding messages longer than maxPollIntervalMs makes the
 * consumer leave the group.
 *
 * Errors: failures the consumer cannot get past (a fenced static member, no assignor in
 * common with the group) reject every later pull; other errors it reports (fetch errors that
 * outlast retry.timeoutMs, an offset that cannot be found, a listener that threw) reject one
 * pull each while the consumer goes on. Nothing rejects in the background.
 */
export class Consumer<Value = Buffer | null, Key = Buffer | null>
  implements AsyncIterable<ConsumerMessage<Value, Key>>
{
  readonly cluster: Cluster;
  private readonly options: ResolvedConsumerOptions<Value, Key>;
  private readonly assigned = new Map<string, PartitionState>();
  private readonly fetcher: Fetcher;
  private readonly positions: PositionFinder;
  private member: GroupMember | undefined;
  private mode: "none" | "subscribe" | "assign" = "none";
  /** The subscribed topics now (a pattern's matches, for a pattern). */
  private subscribedTopics: string[] = [];
  private pattern: RegExp | undefined;
  private listeners: Omit<SubscribeOptions, "topics"> = {};

  /** Partitions with records to deliver, in delivery order. */
  private readonly ready: PartitionState[] = [];
  /** Partitions the application holds messages of, and since when (0: it holds none). */
  private readonly holding: PartitionState[] = [];
  private heldSince = 0;
  /** Something other than records needs the pull paths' attention (an error, a safe point, close). */
  private attention = false;
  private waiter: { promise: Promise<void>; resolve: () => void } | undefined;
  private readonly pendingErrors: BrookError[] = [];
  private fatalError: BrookError | undefined;
  private readonly safePointWork: SafePointWork[] = [];
  private safePointRunning: Promise<void> | undefined;

  private autoCommitTimer: NodeJS.Timeout | undefined;
  private metadataTimer: NodeJS.Timeout | undefined;
  private readonly stopMetadataListener: () => void;
  /** Commits go out one after the other, so an older one never lands after a newer one. */
  private commitChain: Promise<void> = Promise.resolve();
  private closed = false;
  private closing: Promise<void> | undefined;

  constructor(options: ConsumerOptions<Value, Key>) {
    this.options = resolveConsumerOptions(options);
    this.cluster = new Cluster(options);
    const { retry, requestTimeoutMs } = this.cluster.options;
    this.fetcher = new Fetcher(
      this.cluster,
      {
        maxWaitMs: this.options.fetchMaxWaitMs,
        minBytes: this.options.fetchMinBytes,
        maxBytes: this.options.fetchMaxBytes,
        partitionMaxBytes: this.options.partitionMaxBytes,
        isolationLevel: this.options.isolationLevel,
        requestTimeoutMs,
        retry,
      },
      {
        assignedPartitions: () => this.assigned.values(),
        onRecords: (state) => this.onRecords(state),
        onOffsetOutOfRange: (state) => this.onOffsetOutOfRange(state),
        report: (error) => this.report(error),
      },
    );
    this.positions = new PositionFinder(
      this.cluster,
      {
        groupId: this.options.groupId,
        resetPolicy: this.options.autoOffsetReset,
        isolationLevel: this.options.isolationLevel,
        retryDelayMs: retry.maxDelayMs,
      },
      {
        assignedPartitions: () => this.assigned.values(),
        onPositions: () => this.fetcher.schedule(),
        report: (error) => this.report(error),
      },
    );
    this.stopMetadataListener = this.cluster.onMetadata((metadata) => this.onMetadata(metadata));
  }

  // ---- what to consume ---------------------------------------------------------------------

  /**
   * Joins the group (groupId) and consumes the partitions it assigns this member. Resolves
   * once the topics are known — rejecting with BROOK_UNKNOWN_TOPIC when one does not exist
   * and allowAutoTopicCreation is off — while joining goes on in the background. Calling it
   * again changes the subscription (and rebalances).
   */
  async subscribe(options: SubscribeOptions): Promise<void> {
    this.checkUsable();
    if (this.options.groupId === undefined) {
      throw new BrookError(
        "BROOK_NO_GROUP",
        "subscribe() needs the groupId option; without a group, assign() partitions",
      );
    }
    if (this.mode === "assign") {
      throw new BrookError("BROOK_INVALID_STATE", "this consumer uses assign(): it cannot subscribe() as well");
    }
    if (typeof options !== "object" || options === null) throw invalidArgument("subscribe() takes { topics }");
    const { topics } = options;
    for (const name of ["onPartitionsAssigned", "onPartitionsRevoked", "onPartitionsLost"] as const) {
      if (options[name] !== undefined && typeof options[name] !== "function")
        throw invalidArgument(`${name} must be a function`);
    }
    let matched: string[];
    let pattern: RegExp | undefined;
    if (topics instanceof RegExp) {
      // Without g and y, test() keeps no state between calls.
      pattern = new RegExp(topics.source, topics.flags.replace(/[gy]/g, ""));
      const metadata = await this.cluster.retry(() => this.cluster.refreshMetadata(null));
      matched = matchingTopics(metadata, pattern);
    } else {
      if (!Array.isArray(topics) || topics.length === 0 || !topics.every((t) => typeof t === "string" && t !== "")) {
        throw invalidArgument("topics must be a non-empty array of topic names, or a RegExp");
      }
      matched = [...new Set(topics)].sort();
      await this.cluster.topics(matched, { allowAutoTopicCreation: this.options.allowAutoTopicCreation });
    }
    this.checkUsable();
    this.mode = "subscribe";
    this.pattern = pattern;
    this.listeners = {
      onPartitionsAssigned: options.onPartitionsAssigned,
      onPartitionsRevoked: options.onPartitionsRevoked,
      onPartitionsLost: options.onPartitionsLost,
    };
    this.subscribedTopics = matched;
    this.cluster.watchTopics(matched);
    this.startTimers();
    if (this.member) {
      this.member.requestRejoin();
      return;
    }
    this.member = new GroupMember(
      this.cluster,
      {
        groupId: this.options.groupId,
        groupInstanceId: this.options.groupInstanceId,
        sessionTimeoutMs: this.options.sessionTimeoutMs,
        rebalanceTimeoutMs: this.options.rebalanceTimeoutMs,
        heartbeatIntervalMs: this.options.heartbeatIntervalMs,
        maxPollIntervalMs: this.options.maxPollIntervalMs,
        assignors: this.options.assignors,
      },
      {
        subscribedTopics: () => this.subscribedTopics,
        atSafePoint: (work) => this.atSafePoint(work),
        revokePartitions: (partitions, lost) => this.revokePartitions(partitions, lost),
        assignPartitions: (partitions) => this.assignPartitions(partitions),
        heldForMs: () => (this.heldSince === 0 ? 0 : Date.now() - this.heldSince),
        report: (error) => this.report(error),
        fail: (error) => this.fail(error),
      },
    );
    this.member.start();
  }

  /**
   * Consumes exactly these partitions, outside any group membership (a groupId still serves
   * for committed offsets). Replaces the previous assignment; partitions kept keep their
   * position unless an offset is given. Rejects with BROOK_UNKNOWN_TOPIC or
   * BROOK_UNKNOWN_PARTITION for partitions that do not exist.
   */
  async assign(partitions: readonly PartitionAssignment[]): Promise<void> {
    this.checkUsable();
    if (this.mode === "subscribe") {
      throw new BrookError("BROOK_INVALID_STATE", "this consumer uses subscribe(): it cannot assign() as well");
    }
    if (!Array.isArray(partitions)) throw invalidArgument("assign() takes an array of { topic, partition, offset? }");
    for (const entry of partitions) {
      checkTopicPartition(entry, "assign()");
      if (entry.offset !== undefined) checkOffset(entry.offset, "assign()");
    }
    const topics = [...new Set(partitions.map((p) => p.topic))];
    const infos = await this.cluster.topics(topics, { allowAutoTopicCreation: this.options.allowAutoTopicCreation });
    for (const { topic, partition } of partitions) {
      const count = infos.find((info) => info.name === topic)?.partitions.length ?? 0;
      if (partition >= count) {
        throw new BrookError(
          "BROOK_UNKNOWN_PARTITION",
          `topic '${topic}' has no partition ${partition} (it has ${count})`,
          {
            kafkaCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
            topic,
            partition,
          },
        );
      }
    }
    this.checkUsable();
    this.mode = "assign";
    const wanted = new Set(partitions.map((p) => partitionKey(p.topic, p.partition)));
    for (const state of [...this.assigned.values()]) if (!wanted.has(state.key)) this.unassign(state);
    for (const { topic, partition, offset } of partitions) {
      const key = partitionKey(topic, partition);
      let state = this.assigned.get(key);
      if (!state) {
        state = new PartitionState(topic, partition);
        this.assigned.set(key, state);
      }
      if (offset !== undefined) this.jumpTo(state, offset);
    }
    this.cluster.watchTopics(topics);
    this.startTimers();
    this.positions.findMissing();
    this.fetcher.schedule();
  }

  /** The partitions this consumer consumes now. */
  assignment(): TopicPartition[] {
    return [...this.assigned.values()].map(({ topic, partition }) => ({ topic, partition }));
  }

  // ---- consuming ---------------------------------------------------------------------------

  /** Messages one by one, until close(); see the class comment for what pulling means. Breaking out of the loop does not close the consumer. */
  [Symbol.asyncIterator](): AsyncIterableIterator<ConsumerMessage<Value, Key>> {
    const iterator: AsyncIterableIterator<ConsumerMessage<Value, Key>> = {
      next: () => this.next(),
      return: async () => {
        this.returnFromApplication();
        return DONE;
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  private next(): Promise<IteratorResult<ConsumerMessage<Value, Key>>> {
    this.returnFromApplication();
    if (!this.attention) {
      try {
        const message = this.takeMessage();
        if (message !== undefined) return Promise.resolve({ done: false, value: message });
      } catch (error) {
        return Promise.reject(error);
      }
    }
    return this.nextWhenReady();
  }

  private async nextWhenReady(): Promise<IteratorResult<ConsumerMessage<Value, Key>>> {
    for (;;) {
      if (this.closed) return DONE;
      this.throwReportedError();
      if (this.safePointWork.length > 0 || this.safePointRunning) {
        await this.runSafePointWork();
        continue;
      }
      const message = this.takeMessage();
      if (message !== undefined) return { done: false, value: message };
      await this.somethingHappened();
    }
  }

  /**
   * The next batch: the messages ready now, up to maxMessages (from several partitions, in
   * order within each), or the first to arrive. Calling poll() again marks the previous
   * batch processed. Pending polls resolve with [] when the consumer closes; a poll after
   * close() rejects with BROOK_CLOSED.
   */
  poll(options: PollOptions = {}): Promise<ConsumerMessage<Value, Key>[]> {
    const maxMessages = options.maxMessages ?? DEFAULT_MAX_MESSAGES;
    const timeoutMs = options.timeoutMs ?? Number.POSITIVE_INFINITY;
    if (!Number.isInteger(maxMessages) || maxMessages < 1) {
      return Promise.reject(invalidArgument(`maxMessages must be an integer ≥ 1, not ${maxMessages}`));
    }
    if (typeof timeoutMs !== "number" || Number.isNaN(timeoutMs) || timeoutMs < 0) {
      return Promise.reject(invalidArgument(`timeoutMs must be a number of milliseconds ≥ 0, not ${timeoutMs}`));
    }
    if (this.closed) return Promise.reject(closedError());
    this.returnFromApplication();
    if (!this.attention) {
      try {
        const batch = this.takeBatch(maxMessages);
        if (batch.length > 0) return Promise.resolve(batch);
      } catch (error) {
        return Promise.reject(error);
      }
    }
    return this.pollWhenReady(maxMessages, timeoutMs);
  }

  private async pollWhenReady(maxMessages: number, timeoutMs: number): Promise<ConsumerMessage<Value, Key>[]> {
    const deadline = Date.now() + timeoutMs;
    let timer: NodeJS.Timeout | undefined;
    try {
      for (;;) {
        if (this.closed) return [];
        this.throwReportedError();
        if (this.safePointWork.length > 0 || this.safePointRunning) {
          await this.runSafePointWork();
          continue;
        }
        const batch = this.takeBatch(maxMessages);
        if (batch.length > 0) return batch;
        const remaining = deadline - Date.now();
        if (remaining <= 0) return [];
        // Armed again on every turn: a timer may fire a millisecond before Date.now() reaches the deadline.
        clearTimeout(timer);
        if (remaining !== Number.POSITIVE_INFINITY) {
          timer = setTimeout(() => this.wakeReaders(), Math.min(remaining, MAX_INT32));
        }
        await this.somethingHappened();
      }
    } finally {
      clearTimeout(timer);
    }
  }

  private takeBatch(maxMessages: number): ConsumerMessage<Value, Key>[] {
    const batch: ConsumerMessage<Value, Key>[] = [];
    while (batch.length < maxMessages) {
      let message: ConsumerMessage<Value, Key> | undefined;
      try {
        message = this.takeMessage();
      } catch (error) {
        // The failing message stays first in line: the next poll reports it.
        if (batch.length === 0) throw error;
        break;
      }
      if (message === undefined) break;
      batch.push(message);
    }
    return batch;
  }

  /** The next deliverable message, handed to the application; undefined when none is buffered. */
  private takeMessage(): ConsumerMessage<Value, Key> | undefined {
    const ready = this.ready;
    while (ready.length > 0) {
      const state = ready[0] as PartitionState;
      if (!state.assigned || state.paused || state.chunks.length === 0) {
        ready.shift();
        state.queued = false;
        continue;
      }
      const chunk = state.chunks[0] as (KafkaRecord | undefined)[];
      const record = chunk[state.index] as KafkaRecord;
      const message = this.toMessage(state, record);
      state.position = record.offset + 1;
      // Delivered: the chunk no longer keeps the record alive (see PartitionState.chunks).
      chunk[state.index] = undefined;
      if (++state.index === chunk.length) {
        // Partitions take turns chunk by chunk.
        ready.shift();
        this.fetcher.chunkDelivered(state);
        if (state.chunks.length > 0) ready.push(state);
        else state.queued = false;
      }
      if (this.heldSince === 0) this.heldSince = turnClock();
      if (this.holding[this.holding.length - 1] !== state) this.holding.push(state);
      return message;
    }
    return undefined;
  }

  private toMessage(state: PartitionState, record: KafkaRecord): ConsumerMessage<Value, Key> {
    const topic = state.topic;
    let key: Key;
    let value: Value;
    try {
      key = this.options.keyDeserializer(record.key, topic);
      value = this.options.valueDeserializer(record.value, topic);
    } catch (error) {
      throw new BrookError(
        "BROOK_DESERIALIZATION",
        `cannot deserialize the message at ${topic}-${state.partition} offset ${record.offset}: ${(error as Error).message} (seek() past it to skip it)`,
        { cause: error, topic, partition: state.partition },
      );
    }
    return new ConsumerMessage(topic, state.partition, record.offset, record.timestamp, key, value, record.headers);
  }

  /** The application pulled again: what it held is processed. */
  private returnFromApplication(): void {
    if (this.heldSince === 0) return;
    this.heldSince = 0;
    for (const state of this.holding) state.processed = state.position;
    this.holding.length = 0;
    if (this.safePointWork.length > 0) void this.runSafePointWork();
  }

  private somethingHappened(): Promise<void> {
    if (!this.waiter) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => {
        resolve = r;
      });
      this.waiter = { promise, resolve };
    }
    return this.waiter.promise;
  }

  private wakeReaders(): void {
    const waiter = this.waiter;
    if (!waiter) return;
    this.waiter = undefined;
    waiter.resolve();
  }

  private updateAttention(): void {
    this.attention =
      this.closed ||
      this.fatalError !== undefined ||
      this.pendingErrors.length > 0 ||
      this.safePointWork.length > 0 ||
      this.safePointRunning !== undefined;
  }

  private throwReportedError(): void {
    if (this.fatalError) throw this.fatalError;
    const error = this.pendingErrors.shift();
    if (error) {
      this.updateAttention();
      throw error;
    }
  }

  private onRecords(state: PartitionState): void {
    if (!state.queued && !state.paused) {
      state.queued = true;
      this.ready.push(state);
    }
    this.wakeReaders();
  }

  // ---- safe points -------------------------------------------------------------------------

  /**
   * Runs `work` when the application holds no messages: now if it holds none, else when it
   * pulls again. Deliveries wait while work runs, so a rebalance never takes partitions away
   * from under the application, and commits before a revocation cover everything delivered.
   */
  private atSafePoint(work: () => Promise<void>): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.safePointWork.push({ work, resolve, reject });
      this.updateAttention();
      if (this.heldSince === 0) void this.runSafePointWork();
      else this.wakeReaders();
    });
  }

  private runSafePointWork(): Promise<void> {
    this.safePointRunning ??= (async () => {
      for (let item = this.safePointWork.shift(); item; item = this.safePointWork.shift()) {
        try {
          await item.work();
          item.resolve();
        } catch (error) {
          item.reject(error);
        }
      }
    })().finally(() => {
      this.safePointRunning = undefined;
      this.updateAttention();
      // Work queued while the last item finished still deserves to run.
      if (this.safePointWork.length > 0 && this.heldSince === 0) void this.runSafePointWork();
      this.wakeReaders();
    });
    this.updateAttention();
    return this.safePointRunning;
  }

  // ---- rebalances --------------------------------------------------------------------------

  private async revokePartitions(partitions: TopicPartition[], lost: boolean): Promise<void> {
    const states = partitions
      .map((p) => this.assigned.get(partitionKey(p.topic, p.partition)))
      .filter((state): state is PartitionState => state !== undefined);
    if (!lost && this.options.autoCommit) {
      await this.commitProcessed(states).catch((error) => this.autoCommitFailed(error));
    }
    const listener = lost
      ? (this.listeners.onPartitionsLost ?? this.listeners.onPartitionsRevoked)
      : this.listeners.onPartitionsRevoked;
    await this.callListener(lost ? "onPartitionsLost" : "onPartitionsRevoked", listener, partitions);
    for (const state of states) this.unassign(state);
  }

  private async assignPartitions(partitions: TopicPartition[]): Promise<void> {
    for (const { topic, partition } of partitions) {
      const key = partitionKey(topic, partition);
      if (!this.assigned.has(key)) this.assigned.set(key, new PartitionState(topic, partition));
    }
    this.cluster.watchTopics(new Set(partitions.map((p) => p.topic)));
    await this.callListener("onPartitionsAssigned", this.listeners.onPartitionsAssigned, partitions);
    this.positions.findMissing();
    this.fetcher.schedule();
  }

  private async callListener(name: string, listener: RebalanceListener | undefined, partitions: TopicPartition[]) {
    if (!listener) return;
    try {
      await listener(partitions.map(({ topic, partition }) => ({ topic, partition })));
    } catch (error) {
      this.report(
        new BrookError("BROOK_LISTENER_FAILED", `${name} threw: ${(error as Error)?.message ?? error}`, {
          cause: error,
        }),
      );
    }
  }

  private unassign(state: PartitionState): void {
    state.assigned = false;
    state.clearBuffer();
    this.assigned.delete(state.key);
  }

  private onMetadata(metadata: ClusterMetadata): void {
    if (this.closed || this.mode !== "subscribe") return;
    if (this.pattern) {
      const matched = matchingTopics(metadata, this.pattern);
      if (matched.join("\u0000") !== this.subscribedTopics.join("\u0000")) {
        this.subscribedTopics = matched;
        this.cluster.watchTopics(matched);
        this.member?.requestRejoin();
      }
    }
    this.member?.onMetadata(metadata);
  }

  // ---- offsets -----------------------------------------------------------------------------

  /**
   * Commits, for the group: with no argument, everything delivered so far (each assigned
   * partition's position); with messages, each message's offset + 1 (the next to read, as
   * Kafka stores offsets); with `{ offsets }`, those offsets as given. Rejects with the Kafka
   * error (ILLEGAL_GENERATION, REBALANCE_IN_PROGRESS...) when the group moved on.
   */
  commit(target?: CommitTarget<Value, Key>): Promise<void> {
    let offsets: OffsetToCommit[];
    try {
      this.checkUsable();
      offsets = this.offsetsToCommit(target);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.sendCommit(offsets);
  }

  private offsetsToCommit(target: CommitTarget<Value, Key> | undefined): OffsetToCommit[] {
    if (target === undefined) {
      return [...this.assigned.values()]
        .filter((state) => state.position >= 0 && state.position !== state.committed)
        .map(({ topic, partition, position }) => ({ topic, partition, offset: position }));
    }
    if (target instanceof ConsumerMessage || Array.isArray(target)) {
      const messages = (target instanceof ConsumerMessage ? [target] : target) as readonly unknown[];
      const next = new Map<string, OffsetToCommit>();
      for (const message of messages) {
        if (!(message instanceof ConsumerMessage)) {
          throw invalidArgument(
            "commit() takes messages this consumer delivered, or { offsets: [{ topic, partition, offset }] }",
          );
        }
        const key = partitionKey(message.topic, message.partition);
        const offset = message.offset + 1;
        if ((next.get(key)?.offset ?? -1) < offset)
          next.set(key, { topic: message.topic, partition: message.partition, offset });
      }
      return [...next.values()];
    }
    if (typeof target === "object" && target !== null && Array.isArray((target as { offsets: unknown }).offsets)) {
      return (target as { offsets: readonly CommitOffset[] }).offsets.map((entry) => {
        checkTopicPartition(entry, "commit()");
        checkOffset(entry.offset, "commit()");
        if (entry.metadata !== undefined && entry.metadata !== null && typeof entry.metadata !== "string") {
          throw invalidArgument("commit(): metadata must be a string or null");
        }
        return {
          topic: entry.topic,
          partition: entry.partition,
          offset: entry.offset,
          metadata: entry.metadata ?? null,
        };
      });
    }
    throw invalidArgument(
      "commit() takes nothing, a message, an array of messages, or { offsets: [{ topic, partition, offset }] }",
    );
  }

  private sendCommit(offsets: OffsetToCommit[]): Promise<void> {
    const groupId = this.options.groupId;
    if (groupId === undefined) {
      return Promise.reject(
        new BrookError("BROOK_NO_GROUP", "commit() needs the groupId option: offsets are stored per group"),
      );
    }
    if (offsets.length === 0) return this.commitChain;
    const commit = async () => {
      // Outside a group's membership the commit is a "simple" one: generation -1, no member.
      const identity = this.member
        ? this.member.commitIdentity()
        : { generationId: -1, memberId: "", groupInstanceId: null };
      try {
        await commitOffsets(this.cluster, groupId, offsets, identity);
      } catch (error) {
        if (isMembershipError(error)) this.member?.onMembershipError(error, identity.generationId);
        throw error;
      }
      for (const { topic, partition, offset } of offsets) {
        const state = this.assigned.get(partitionKey(topic, partition));
        if (state) state.committed = offset;
      }
    };
    const result = this.commitChain.then(commit);
    this.commitChain = result.catch(() => undefined);
    return result;
  }

  /** Commits what the application finished processing in `states`, where it moved since the last commit. */
  private commitProcessed(states: Iterable<PartitionState>): Promise<void> {
    const offsets: OffsetToCommit[] = [];
    for (const state of states) {
      if (state.processed >= 0 && state.processed !== state.committed) {
        offsets.push({ topic: state.topic, partition: state.partition, offset: state.processed });
      }
    }
    return this.sendCommit(offsets);
  }

  private autoCommit(): void {
    // A rebalance at a safe point commits what it revokes itself; between generations nobody may commit.
    if (this.safePointRunning || (this.member && (this.member.generationId < 0 || this.member.isJoining))) return;
    this.commitProcessed(this.assigned.values()).catch((error) => this.autoCommitFailed(error));
  }

  private autoCommitFailed(error: unknown): void {
    if (this.closed) return;
    // The membership reacts to its own errors, and the next commit retries the rest.
    if (
      isMembershipError(error) ||
      (error instanceof BrookError && (error.retriable || error.code === "BROOK_NOT_IN_GROUP"))
    )
      return;
    this.report(asBrookError(error));
  }

  /** The group's committed offsets (-1 where none) of `partitions`, by default of the assigned ones. */
  async committed(partitions?: readonly TopicPartition[]): Promise<TopicPartitionOffset[]> {
    this.checkUsable();
    const groupId = this.options.groupId;
    if (groupId === undefined) throw new BrookError("BROOK_NO_GROUP", "committed() needs the groupId option");
    const list = partitions ?? this.assignment();
    for (const entry of list) checkTopicPartition(entry, "committed()");
    if (list.length === 0) return [];
    const committed = await fetchCommittedOffsets(this.cluster, groupId, list);
    return committed.map(({ topic, partition, offset }) => ({ topic, partition, offset }));
  }

  /** The next offset the consumer will deliver from an assigned partition; undefined while it is being looked up. */
  position(target: TopicPartition): number | undefined {
    const state = this.assignedState(target, "position()");
    return state.position >= 0 ? state.position : undefined;
  }

  /**
   * Makes an assigned partition continue at `offset` (or at the log's start or end): what
   * was fetched beyond is dropped. Auto-commit will commit the new position as processed.
   */
  seek(target: SeekTarget): void {
    const state = this.assignedState(target, "seek()");
    const { offset } = target;
    if (offset === "earliest" || offset === "latest") {
      state.resetPosition(offset);
      this.positions.findMissing();
    } else {
      checkOffset(offset, "seek()");
      this.jumpTo(state, offset);
    }
    this.fetcher.schedule();
  }

  private jumpTo(state: PartitionState, offset: number): void {
    state.setPosition(offset);
    state.processed = offset;
  }

  /** Stops delivering and fetching these assigned partitions until resume(); what is buffered is kept. */
  pause(partitions: readonly TopicPartition[]): void {
    for (const state of this.assignedStates(partitions, "pause()")) state.paused = true;
  }

  resume(partitions: readonly TopicPartition[]): void {
    for (const state of this.assignedStates(partitions, "resume()")) {
      state.paused = false;
      if (state.hasRecords) this.onRecords(state);
    }
    this.fetcher.schedule();
  }

  paused(): TopicPartition[] {
    return [...this.assigned.values()].filter((s) => s.paused).map(({ topic, partition }) => ({ topic, partition }));
  }

  private assignedStates(partitions: readonly TopicPartition[], what: string): PartitionState[] {
    if (!Array.isArray(partitions)) throw invalidArgument(`${what} takes an array of { topic, partition }`);
    return partitions.map((p) => this.assignedState(p, what));
  }

  private assignedState(target: TopicPartition, what: string): PartitionState {
    this.checkUsable();
    checkTopicPartition(target, what);
    const state = this.assigned.get(partitionKey(target.topic, target.partition));
    if (!state) {
      throw new BrookError(
        "BROOK_NOT_ASSIGNED",
        `${what}: ${target.topic}-${target.partition} is not assigned to this consumer`,
        { topic: target.topic, partition: target.partition },
      );
    }
    return state;
  }

  private onOffsetOutOfRange(state: PartitionState): void {
    const policy = this.options.autoOffsetReset;
    state.resetPosition(policy);
    if (policy === "none") {
      this.report(
        new BrookError(
          "OFFSET_OUT_OF_RANGE",
          `offset ${state.fetchOffset} of ${state.topic}-${state.partition} is out of range and autoOffsetReset is "none": seek() to go on`,
          {
            kafkaCode: ErrorCode.OFFSET_OUT_OF_RANGE,
            topic: state.topic,
            partition: state.partition,
            retriable: false,
          },
        ),
      );
      return;
    }
    this.positions.findMissing();
  }

  // ---- errors and lifecycle ----------------------------------------------------------------

  private report(error: BrookError): void {
    if (this.closed) return;
    const duplicate = this.pendingErrors.some(
      (e) => e.code === error.code && e.topic === error.topic && e.partition === error.partition,
    );
    if (!duplicate) this.pendingErrors.push(error);
    this.updateAttention();
    this.wakeReaders();
  }

  private fail(error: BrookError): void {
    if (this.closed) return;
    this.fatalError ??= error;
    this.fetcher.close();
    this.positions.close();
    this.stopTimers();
    this.updateAttention();
    this.wakeReaders();
  }

  private checkUsable(): void {
    if (this.closed) throw closedError();
    if (this.fatalError) throw this.fatalError;
  }

  private startTimers(): void {
    if (this.options.groupId !== undefined && this.options.autoCommit && !this.autoCommitTimer) {
      this.autoCommitTimer = setInterval(() => this.autoCommit(), this.options.autoCommitIntervalMs);
    }
    if (this.mode === "subscribe" && !this.metadataTimer) {
      const interval = Math.min(Math.max(this.cluster.options.metadataMaxAgeMs, MIN_METADATA_REFRESH_MS), MAX_INT32);
      // A pattern needs every topic's name; named topics are refreshed as watched topics.
      this.metadataTimer = setInterval(() => {
        this.cluster.refreshMetadata(this.pattern ? null : []).catch(() => undefined);
      }, interval);
    }
  }

  private stopTimers(): void {
    clearInterval(this.autoCommitTimer);
    clearInterval(this.metadataTimer);
  }

  /**
   * Stops consuming: iterators end, pending polls resolve with [], and — in a group — the
   * partitions are revoked (committing what was processed, with auto-commit) and the member
   * leaves the group (a static member stays until its session times out). Then every
   * connection closes. Everything delivered counts as processed.
   */
  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    this.returnFromApplication();
    this.closed = true;
    this.stopTimers();
    this.stopMetadataListener();
    this.updateAttention();
    this.wakeReaders();
    try {
      if (this.member) {
        await this.member.close();
      } else {
        await this.runSafePointWork();
        if (this.options.autoCommit && this.options.groupId !== undefined) {
          await this.commitProcessed(this.assigned.values()).catch(() => undefined);
        }
      }
    } finally {
      this.fetcher.close();
      this.positions.close();
      await this.cluster.close();
    }
  }
}

function matchingTopics(metadata: ClusterMetadata, pattern: RegExp): string[] {
  return [...metadata.topics.values()]
    .filter((topic) => !topic.internal && pattern.test(topic.name))
    .map((topic) => topic.name)
    .sort();
}

function invalidArgument(message: string): BrookError {
  return new BrookError("BROOK_INVALID_ARGUMENT", message);
}

function closedError(): BrookError {
  return new BrookError("BROOK_CLOSED", "the consumer is closed");
}

function asBrookError(error: unknown): BrookError {
  return error instanceof BrookError ? error : new BrookError("BROOK_PROTOCOL", String(error), { cause: error });
}

function checkTopicPartition(entry: TopicPartition, what: string): void {
  if (typeof entry !== "object" || entry === null || typeof entry.topic !== "string" || entry.topic === "") {
    throw invalidArgument(`${what}: every entry needs a topic name`);
  }
  if (!Number.isInteger(entry.partition) || entry.partition < 0) {
    throw invalidArgument(`${what}: partition must be an integer ≥ 0, not ${entry.partition}`);
  }
}

function checkOffset(offset: unknown, what: string): void {
  if (!Number.isSafeInteger(offset) || (offset as number) < 0) {
    throw invalidArgument(`${what}: offset must be an integer ≥ 0, not ${offset}`);
  }
}
