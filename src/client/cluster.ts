import { ErrorCode } from "../protocol/errors.js";
import type { ApiName } from "../protocol/generated/index.js";
import {
  type BrokerSession,
  openBrokerSession,
  type RequestOf,
  type ResponseOf,
  type SendOptions,
} from "./broker-session.js";
import { BrookError, isConnectionError, isStaleCoordinatorCode, needsMetadataRefresh } from "./errors.js";
import { type BrokerInfo, ClusterMetadata, type TopicInfo } from "./metadata.js";
import {
  type BrokerAddress,
  type ClientOptions,
  formatAddress,
  type ResolvedClientOptions,
  resolveClientOptions,
} from "./options.js";
import { type RetryContext, withRetry } from "./retry.js";

export type CoordinatorType = "group" | "transaction";

export interface TopicLookupOptions {
  /** Ask the broker to create missing topics (Metadata v4+ allow_auto_topic_creation; older versions always may). */
  allowAutoTopicCreation?: boolean;
}

export interface CoordinatorRequestOptions<N extends ApiName> extends SendOptions {
  keyType?: CoordinatorType;
  /**
   * The error code of the response that tells whether the coordinator moved (top-level
   * `errorCode` for most APIs); NOT_COORDINATOR and COORDINATOR_NOT_AVAILABLE drop the cached
   * coordinator and reject with a retriable error, as does COORDINATOR_LOAD_IN_PROGRESS.
   */
  errorCodeOf?: (response: ResponseOf<N>) => number;
}

interface MetadataRefresh {
  /** null: all topics. */
  topics: ReadonlySet<string> | null;
  allowAutoTopicCreation: boolean;
  promise: Promise<ClusterMetadata>;
}

/** How many metadata answers in a row may say a topic is unknown before a lookup gives up. */
const UNKNOWN_TOPIC_ATTEMPTS = 3;
const COORDINATOR_KEY_TYPES: Record<CoordinatorType, number> = { group: 0, transaction: 1 };

function shuffled<T>(items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

export function unknownTopicError(topic: string, retriable: boolean): BrookError {
  return new BrookError("BROOK_UNKNOWN_TOPIC", `topic '${topic}' does not exist`, {
    kafkaCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    retriable,
    topic,
  });
}

/**
 * The client's view of a Kafka cluster and its door to every broker: what Producer, Admin and
 * Consumer are built on.
 *
 * - Connections: one per broker and channel, opened on first use (ApiVersions negotiation and
 *   SASL included) and opened again on the next request after they fail.
 * - Metadata: an immutable `ClusterMetadata` snapshot, refreshed on demand (concurrent refreshes
 *   are merged), when a lookup needs a topic it does not know, in the background when an entry is
 *   older than metadataMaxAgeMs, and by `retry` after errors that say it is stale.
 * - Routing: `request(nodeId)`, `requestAny`, `requestController`, `leaderFor(topic, partition)`,
 *   and `coordinatorRequest(groupId)` with a cached FindCoordinator.
 * - Retries: `retry(operation)` with exponential backoff and jitter for retriable errors only.
 */
export class Cluster {
  readonly options: ResolvedClientOptions;
  private snapshot = ClusterMetadata.empty();
  private readonly sessions = new Map<string, Promise<BrokerSession>>();
  private readonly watchedTopics = new Set<string>();
  private refreshing: MetadataRefresh | undefined;
  private readonly coordinators = new Map<string, Promise<BrokerInfo>>();
  /** Brokers met in FindCoordinator answers, in case the metadata does not list them (yet). */
  private readonly coordinatorBrokers = new Map<number, BrokerInfo>();
  private readonly metadataListeners = new Set<(metadata: ClusterMetadata) => void>();
  private closed = false;

  constructor(options: ClientOptions) {
    this.options = resolveClientOptions(options);
  }

  get metadata(): ClusterMetadata {
    return this.snapshot;
  }

  /** Fetches metadata once, so that a broker that cannot be reached fails here rather than later. */
  async connect(): Promise<void> {
    await this.retry(() => this.refreshMetadata());
  }

  async close(): Promise<void> {
    this.closed = true;
    const sessions = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(
      sessions.map((pending) =>
        pending.then(
          (session) => session.connection.close(),
          () => undefined,
        ),
      ),
    );
  }

  private checkOpen(): void {
    if (this.closed) throw new BrookError("BROOK_CLOSED", "the client is closed");
  }

  // ---- connections -------------------------------------------------------------------------

  /** The session with the broker at `address` on `channel`, opened (again) if needed. */
  session(address: BrokerAddress, channel = "default"): Promise<BrokerSession> {
    if (this.closed) return Promise.reject(new BrookError("BROOK_CLOSED", "the client is closed"));
    const key = `${formatAddress(address)}/${channel}`;
    let pending = this.sessions.get(key);
    if (pending) return pending;
    pending = openBrokerSession(address, this.options);
    const opened = pending;
    this.sessions.set(key, opened);
    const forget = () => {
      if (this.sessions.get(key) === opened) this.sessions.delete(key);
    };
    opened.then((session) => {
      if (this.closed) session.connection.destroy();
      session.connection.onClose(forget);
    }, forget);
    return opened;
  }

  /** Where broker `nodeId` listens, from metadata (or a FindCoordinator answer). */
  brokerAddress(nodeId: number): BrokerInfo {
    const broker = this.snapshot.brokers.get(nodeId) ?? this.coordinatorBrokers.get(nodeId);
    if (!broker) {
      throw new BrookError("BROOK_UNKNOWN_BROKER", `broker ${nodeId} is not in the cluster metadata`, {
        retriable: true,
      });
    }
    return broker;
  }

  async sessionForNode(nodeId: number, channel?: string): Promise<BrokerSession> {
    this.checkOpen();
    return this.session(this.brokerAddress(nodeId), channel);
  }

  /** One request to broker `nodeId`, no retry. */
  async request<N extends ApiName>(
    nodeId: number,
    api: N,
    build: (version: number) => RequestOf<N>,
    options: SendOptions = {},
  ): Promise<ResponseOf<N>> {
    const session = await this.sessionForNode(nodeId, options.channel);
    return session.send(api, build, options);
  }

  /**
   * The brokers to try for a request any broker can answer: those already connected first,
   * then the others the metadata lists, then the bootstrap list, each group shuffled.
   */
  private anyBrokerCandidates(): BrokerAddress[] {
    const known = shuffled([...this.snapshot.brokers.values()]);
    const all = [...known, ...shuffled(this.options.brokers)];
    const connected = all.filter((b) => this.sessions.has(`${formatAddress(b)}/default`));
    const seen = new Set<string>();
    return [...connected, ...all].filter((b) => {
      const key = formatAddress(b);
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
  }

  /** One request to whichever broker can be reached; no retry once a broker took it. */
  async requestAny<N extends ApiName>(
    api: N,
    build: (version: number) => RequestOf<N>,
    options: SendOptions = {},
  ): Promise<ResponseOf<N>> {
    this.checkOpen();
    const candidates = this.anyBrokerCandidates();
    let lastError: BrookError | undefined;
    for (const address of candidates) {
      let session: BrokerSession;
      try {
        session = await this.session(address, options.channel);
      } catch (error) {
        // Another broker may answer, unless the failure (a TLS or SASL refusal) would repeat there.
        if (!isConnectionError(error) || !(error as BrookError).retriable) throw error;
        lastError = error as BrookError;
        continue;
      }
      return session.send(api, build, options);
    }
    const list = candidates.map(formatAddress).join(", ");
    throw new BrookError("BROOK_CONNECTION_FAILED", `could not connect to any of ${list} (${lastError?.message})`, {
      cause: lastError,
      retriable: true,
    });
  }

  /** One request to the controller, or to any broker when the metadata names none it knows. */
  async requestController<N extends ApiName>(
    api: N,
    build: (version: number) => RequestOf<N>,
    options: SendOptions = {},
  ): Promise<ResponseOf<N>> {
    if (this.snapshot.brokers.size === 0) await this.refreshMetadata();
    const controller = this.snapshot.controllerId;
    if (this.snapshot.brokers.has(controller)) return this.request(controller, api, build, options);
    return this.requestAny(api, build, options);
  }

  // ---- metadata ----------------------------------------------------------------------------

  /** Calls `listener` with every new metadata snapshot; returns the function that stops it. */
  onMetadata(listener: (metadata: ClusterMetadata) => void): () => void {
    this.metadataListeners.add(listener);
    return () => this.metadataListeners.delete(listener);
  }

  /** Topics every refresh includes from now on (a consumer's subscription, a producer's topics). */
  watchTopics(topics: Iterable<string>): void {
    for (const topic of topics) this.watchedTopics.add(topic);
  }

  unwatchTopics(topics: Iterable<string>): void {
    for (const topic of topics) this.watchedTopics.delete(topic);
  }

  /**
   * Fetches metadata for the watched topics plus `topics`, or for all topics when `topics` is
   * null. A refresh already under way that covers the same topics is joined, not repeated.
   */
  async refreshMetadata(
    topics: readonly string[] | null = [],
    options: TopicLookupOptions = {},
  ): Promise<ClusterMetadata> {
    this.checkOpen();
    const requested = topics === null ? null : [...new Set([...this.watchedTopics, ...topics])];
    const allowAutoTopicCreation = options.allowAutoTopicCreation ?? false;
    for (;;) {
      const current = this.refreshing;
      if (!current) break;
      if (covers(current, requested, allowAutoTopicCreation)) return current.promise;
      await current.promise.catch(() => undefined);
    }
    const refresh: MetadataRefresh = {
      topics: requested === null ? null : new Set(requested),
      allowAutoTopicCreation,
      promise: this.fetchMetadata(requested, allowAutoTopicCreation),
    };
    this.refreshing = refresh;
    const done = () => {
      if (this.refreshing === refresh) this.refreshing = undefined;
    };
    refresh.promise.then(done, done);
    return refresh.promise;
  }

  private async fetchMetadata(requested: string[] | null, allowAutoTopicCreation: boolean): Promise<ClusterMetadata> {
    const response = await this.requestAny("Metadata", (version) => ({
      // v0 has no null: its empty list means all topics.
      topics: requested === null ? (version === 0 ? [] : null) : requested.map((name) => ({ name })),
      allowAutoTopicCreation,
    }));
    this.snapshot = this.snapshot.merge(response, requested);
    for (const listener of this.metadataListeners) listener(this.snapshot);
    return this.snapshot;
  }

  /**
   * A topic's metadata from the cache, refreshing it in the background when older than
   * metadataMaxAgeMs; undefined when the topic is not cached.
   */
  cachedTopic(name: string): TopicInfo | undefined {
    const topic = this.snapshot.topics.get(name);
    if (topic && Date.now() - topic.fetchedAt > this.options.metadataMaxAgeMs && !this.closed) {
      this.refreshMetadata([name]).catch(() => undefined);
    }
    return topic;
  }

  /**
   * The metadata of `names`, fetched when not cached. Rejects with BROOK_UNKNOWN_TOPIC when
   * the brokers keep saying a topic does not exist, and with the Kafka error for other topic
   * errors (INVALID_TOPIC_EXCEPTION...); LEADER_NOT_AVAILABLE (a topic being created) is retried.
   */
  async topics(names: readonly string[], options: TopicLookupOptions = {}): Promise<TopicInfo[]> {
    return this.retry(async ({ attempt }) => {
      const missing = names.filter((name) => this.cachedTopic(name) === undefined);
      if (missing.length > 0) await this.refreshMetadata(missing, options);
      return names.map((name) => this.topicOrError(name, attempt));
    });
  }

  private topicOrError(name: string, attempt: number): TopicInfo {
    const topic = this.snapshot.topics.get(name);
    if (topic && topic.partitions.length > 0) return topic;
    const code = this.snapshot.topicErrors.get(name) ?? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    if (code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) {
      throw unknownTopicError(name, attempt + 1 < UNKNOWN_TOPIC_ATTEMPTS);
    }
    if (code === ErrorCode.INVALID_TOPIC_EXCEPTION) {
      throw new BrookError("INVALID_TOPIC_EXCEPTION", `'${name}' is not a valid topic name`, {
        kafkaCode: code,
        topic: name,
      });
    }
    throw BrookError.fromKafkaCode(code, `metadata for topic '${name}'`, { topic: name });
  }

  /** The node id of a partition's leader, from the current metadata. */
  leaderFor(topic: string, partition: number): number {
    const info = this.snapshot.topics.get(topic);
    if (!info) throw unknownTopicError(topic, true);
    const entry = info.partitions[partition];
    if (!entry) {
      throw new BrookError(
        "BROOK_UNKNOWN_PARTITION",
        `topic '${topic}' has no partition ${partition} (it has ${info.partitions.length})`,
        { kafkaCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, retriable: false, topic, partition },
      );
    }
    if (entry.leader < 0) {
      throw new BrookError("BROOK_LEADER_NOT_AVAILABLE", `partition ${topic}-${partition} has no leader right now`, {
        kafkaCode: ErrorCode.LEADER_NOT_AVAILABLE,
        retriable: true,
        topic,
        partition,
      });
    }
    return entry.leader;
  }

  // ---- coordinators ------------------------------------------------------------------------

  /** The broker coordinating group (or transactional id) `key`, cached until invalidated. */
  findCoordinator(key: string, keyType: CoordinatorType = "group"): Promise<BrokerInfo> {
    if (this.closed) return Promise.reject(new BrookError("BROOK_CLOSED", "the client is closed"));
    const cacheKey = `${keyType}:${key}`;
    const cached = this.coordinators.get(cacheKey);
    if (cached) return cached;
    const lookup = this.lookUpCoordinator(key, keyType);
    this.coordinators.set(cacheKey, lookup);
    lookup.catch(() => {
      if (this.coordinators.get(cacheKey) === lookup) this.coordinators.delete(cacheKey);
    });
    return lookup;
  }

  invalidateCoordinator(key: string, keyType: CoordinatorType = "group"): void {
    this.coordinators.delete(`${keyType}:${key}`);
  }

  private async lookUpCoordinator(key: string, keyType: CoordinatorType): Promise<BrokerInfo> {
    const response = await this.requestAny("FindCoordinator", (version) =>
      version >= 4
        ? { keyType: COORDINATOR_KEY_TYPES[keyType], coordinatorKeys: [key] }
        : { key, keyType: COORDINATOR_KEY_TYPES[keyType] },
    );
    // v4+ answers per key; older versions at the top level.
    const answer = response.coordinators[0] ?? response;
    const what = `FindCoordinator for ${keyType} '${key}'`;
    if (answer.errorCode !== ErrorCode.NONE) {
      throw BrookError.fromKafkaCode(answer.errorCode, what, { brokerMessage: answer.errorMessage });
    }
    const broker: BrokerInfo = { nodeId: answer.nodeId, host: answer.host, port: answer.port, rack: null };
    this.coordinatorBrokers.set(broker.nodeId, broker);
    return broker;
  }

  /**
   * One request to the coordinator of `key` (no retry: wrap it in `retry`). A connection
   * failure or a response saying the coordinator moved drops the cached coordinator, so the
   * retry looks it up again.
   */
  async coordinatorRequest<N extends ApiName>(
    key: string,
    api: N,
    build: (version: number) => RequestOf<N>,
    options: CoordinatorRequestOptions<N> = {},
  ): Promise<ResponseOf<N>> {
    const keyType = options.keyType ?? "group";
    const coordinator = await this.findCoordinator(key, keyType);
    let response: ResponseOf<N>;
    try {
      const session = await this.session(coordinator, options.channel);
      response = await session.send(api, build, options);
    } catch (error) {
      if (isConnectionError(error)) this.invalidateCoordinator(key, keyType);
      throw error;
    }
    const code = options.errorCodeOf?.(response) ?? ErrorCode.NONE;
    if (isStaleCoordinatorCode(code) || code === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS) {
      if (code !== ErrorCode.COORDINATOR_LOAD_IN_PROGRESS) this.invalidateCoordinator(key, keyType);
      throw BrookError.fromKafkaCode(code, `${api} for ${keyType} '${key}'`, {
        broker: formatAddress(coordinator),
        retriable: true,
      });
    }
    return response;
  }

  // ---- retries -----------------------------------------------------------------------------

  /**
   * Runs `operation` again after retriable failures, with exponential backoff and jitter,
   * until it succeeds or `timeoutMs` (default retry.timeoutMs) is over. Errors that say the
   * metadata is stale (NOT_LEADER_OR_FOLLOWER, a lost connection...) refresh it first.
   */
  retry<T>(operation: (context: RetryContext) => Promise<T>, options: { timeoutMs?: number } = {}): Promise<T> {
    const retryOptions =
      options.timeoutMs === undefined ? this.options.retry : { ...this.options.retry, timeoutMs: options.timeoutMs };
    return withRetry(operation, retryOptions, async (error) => {
      if (this.closed) throw error;
      // A failed refresh is not the operation's error: the next attempt shows what is wrong.
      if (needsMetadataRefresh(error)) await this.refreshMetadata().catch(() => undefined);
    });
  }
}

function covers(
  refresh: MetadataRefresh,
  requested: readonly string[] | null,
  allowAutoTopicCreation: boolean,
): boolean {
  if (allowAutoTopicCreation && !refresh.allowAutoTopicCreation) return false;
  if (refresh.topics === null) return true;
  const topics = refresh.topics;
  return requested?.every((topic) => topics.has(topic)) ?? false;
}
