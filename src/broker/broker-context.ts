import type { Logger } from "pino";
import type { SupportedApi } from "./dispatcher.js";
import type { GroupCoordinator } from "./group/coordinator.js";
import type { ProducerStateManager } from "./producer-state.js";
import type { TopicManager } from "./topic-manager.js";

/** Settings of one broker process, after defaults are applied. */
export interface BrokerConfig {
  readonly nodeId: number;
  /** Host and port clients are told to connect to (Metadata, FindCoordinator). */
  readonly advertisedHost: string;
  readonly advertisedPort: number;
  readonly clusterId: string;
  /** The absolute path of the data directory, or null for a broker that keeps everything in memory. */
  readonly logDir: string | null;
  readonly autoCreateTopics: boolean;
  readonly defaultPartitions: number;
  /**
   * fetch.max.bytes: the most record bytes one Fetch response carries, below what the client
   * asks for (as in Kafka, the first batch is sent whole even if larger). brook defaults to
   * 8 MiB, Kafka to 55 MB: each response is held in memory until written, and librdkafka, which
   * asks for 50 MB across partitions, fetches nothing more until it has delivered most of what
   * it got, so smaller responses keep it fetching while it delivers (twice as fast on 100 B
   * messages from 64 partitions).
   */
  readonly fetchMaxBytes: number;
  /** group.initial.rebalance.delay.ms: brook defaults to 0 so a lone consumer starts at once. */
  readonly groupInitialRebalanceDelayMs: number;
  readonly groupMinSessionTimeoutMs: number;
  readonly groupMaxSessionTimeoutMs: number;
  readonly groupMaxSize: number;
  readonly offsetsRetentionMs: number;
  /** Broker-wide defaults for topic configs, keyed by topic config name ("retention.ms"). */
  readonly topicDefaults: Readonly<Record<string, string>>;
}

/** What the group coordinator and other subsystems may ask about topics. */
export interface TopicLookup {
  /** The number of partitions of a topic, or undefined if it does not exist. */
  partitionCount(topic: string): number | undefined;
}

/**
 * The broker's state as handlers see it. One object owns it all; connection code never
 * touches it. Subsystems register here as they are built.
 */
export interface BrokerContext {
  readonly config: BrokerConfig;
  readonly logger: Logger;
  readonly topics: TopicManager;
  readonly producers: ProducerStateManager;
  readonly groups: GroupCoordinator;
  /** Aborted when the broker shuts down: parked requests (long-poll Fetch) answer at once. */
  readonly shutdown: AbortSignal;
  /** What ApiVersions advertises: computed from the registered handlers. */
  readonly supportedApis: readonly SupportedApi[];
}
