import { randomUUID } from "node:crypto";
import { setMaxListeners } from "node:events";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { type Logger, silentLogger } from "../logger.js";
import type { BrokerConfig, BrokerContext } from "./broker-context.js";
import { Dispatcher, type SupportedApi } from "./dispatcher.js";
import { GroupCoordinator } from "./group/coordinator.js";
import { FileGroupStore } from "./group/file-group-store.js";
import { MemoryGroupStore } from "./group/group-store.js";
import { HANDLERS } from "./handlers/index.js";
import { ProducerStateManager } from "./producer-state.js";
import { restoreProducerStates } from "./producer-state-recovery.js";
import { takeProducerSnapshot, writeProducerSnapshot } from "./producer-state-snapshot.js";
import { KafkaServer } from "./server/index.js";
import { createMemoryStorage, type FsyncPolicy, openFileStorage, type Storage } from "./storage/index.js";
import { ReadBuffers } from "./storage/read-buffers.js";
import { TopicManager } from "./topic-manager.js";

export interface BrokerOptions {
  /** Interface to listen on; default 127.0.0.1. */
  host?: string;
  /** Port to listen on; default 9092, 0 for any free port. */
  port?: number;
  /** Host clients are told to connect to; default the listen host (or 127.0.0.1 for 0.0.0.0). */
  advertisedHost?: string;
  /** Port clients are told to connect to; default the bound port. */
  advertisedPort?: number;
  /** Where the log lives; null keeps everything in memory (tests). Default ./data. */
  dataDir?: string | null;
  /** When appended data is forced to disk; see the README. */
  fsync?: FsyncPolicy;
  nodeId?: number;
  autoCreateTopics?: boolean;
  defaultPartitions?: number;
  /** Broker-wide defaults of topic configs, by topic config name ("retention.ms"). */
  topicDefaults?: Record<string, string>;
  groupInitialRebalanceDelayMs?: number;
  groupMinSessionTimeoutMs?: number;
  groupMaxSessionTimeoutMs?: number;
  groupMaxSize?: number;
  offsetsRetentionMs?: number;
  /** How often retention runs; Kafka's log.retention.check.interval.ms (default 5 minutes). */
  retentionCheckIntervalMs?: number;
  maxRequestSize?: number;
  /** The most bytes one Fetch response carries, whatever the client asks; see BrokerConfig. */
  fetchMaxBytes?: number;
  logger?: Logger;
}

export const DEFAULT_PORT = 9092;
const DEFAULT_RETENTION_CHECK_MS = 5 * 60_000;
const DEFAULT_FETCH_MAX_BYTES = 8 * 1024 * 1024;
/**
 * The buffers log reads are lent (see ReadBuffers): the size clients ask of one partition by
 * default (librdkafka, Java and kafkajs: 1 MiB), pooled from 64 KiB up, and at most 16 kept
 * idle, 16 MiB, which two 8 MiB fetch responses in flight use.
 */
const READ_BUFFER_BYTES = 1024 * 1024;
const MIN_POOLED_READ_BYTES = 64 * 1024;
const MAX_FREE_READ_BUFFERS = 16;
const SEVEN_DAYS_MS = 7 * 24 * 60 * 60_000;

/**
 * The cluster id of a data directory, kept in meta.properties as Kafka does, so that clients
 * see the same cluster after a restart.
 */
function clusterIdOf(dataDir: string | null): string {
  if (dataDir === null) return randomUUID();
  const path = join(dataDir, "meta.properties");
  try {
    const match = /^cluster\.id=(.+)$/m.exec(readFileSync(path, "utf8"));
    if (match?.[1]) return match[1].trim();
  } catch {
    // No file yet: a new data directory.
  }
  const id = randomUUID();
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(path, `# brook\nversion=1\ncluster.id=${id}\n`);
  return id;
}

/**
 * One brook broker: storage, topics, producers, groups, and the server in front of them.
 * This object owns all broker state; the server only moves frames.
 */
export class Broker implements BrokerContext {
  readonly producers = new ProducerStateManager();
  readonly supportedApis: readonly SupportedApi[];
  /** Routes decoded requests to their handlers; the testing helper installs its faults here. */
  readonly dispatcher: Dispatcher;
  private readonly shutdownController = new AbortController();
  private readonly server: KafkaServer;
  private retentionTimer: NodeJS.Timeout | undefined;
  private closed: Promise<void> | undefined;

  private constructor(
    readonly config: BrokerConfig,
    readonly logger: Logger,
    readonly storage: Storage,
    readonly topics: TopicManager,
    readonly groups: GroupCoordinator,
    readBuffers: ReadBuffers,
    private readonly options: BrokerOptions,
  ) {
    setMaxListeners(0, this.shutdownController.signal);
    this.dispatcher = new Dispatcher(this, HANDLERS);
    this.supportedApis = this.dispatcher.supportedApis;
    this.server = new KafkaServer({
      handler: this.dispatcher,
      logger,
      maxRequestSize: options.maxRequestSize,
      // Fetch responses carry lent read buffers: once written, they can serve the next reads.
      onWritten: (chunks) => {
        for (const chunk of chunks) readBuffers.giveBack(chunk);
      },
    });
    topics.onDeleted((topic) => {
      this.producers.forgetTopic(topic);
      groups.onTopicDeleted(topic).catch((error) => logger.error({ err: error, topic }, "group cleanup failed"));
    });
  }

  /**
   * Aborted when the broker closes. Every waiting Fetch listens to it, so its listener count
   * is the number of long polls in flight: no limit, or Node would warn of a leak at 11.
   */
  get shutdown(): AbortSignal {
    return this.shutdownController.signal;
  }

  /** Where the broker listens (the bound port, even when another one is advertised). */
  get listenAddress(): { host: string; port: number } {
    const address = this.server.address;
    if (!address) throw new Error("the broker is not listening");
    return { host: address.host, port: address.port };
  }

  /** "host:port" for clients' bootstrap.servers. */
  get bootstrap(): string {
    return `${this.config.advertisedHost}:${this.config.advertisedPort}`;
  }

  static async start(options: BrokerOptions = {}): Promise<Broker> {
    const logger = options.logger ?? silentLogger;
    const dataDir = options.dataDir === undefined ? "./data" : options.dataDir;
    const storageOptions = {
      logger,
      segmentBytes: numberOption(options.topicDefaults?.["segment.bytes"]),
      segmentMs: numberOption(options.topicDefaults?.["segment.ms"]),
    };
    const readBuffers = new ReadBuffers(READ_BUFFER_BYTES, MIN_POOLED_READ_BYTES, MAX_FREE_READ_BUFFERS);
    const storage =
      dataDir === null
        ? createMemoryStorage(storageOptions)
        : await openFileStorage({ ...storageOptions, dataDir, fsync: options.fsync ?? "always", readBuffers });
    const topics = new TopicManager(storage, options.topicDefaults ?? {}, logger);
    await topics.load();

    const host = options.host ?? "127.0.0.1";
    // The config needs the bound port, so the server is built with a placeholder first.
    const pending = { port: options.port ?? DEFAULT_PORT };
    const config: BrokerConfig = {
      nodeId: options.nodeId ?? 1,
      advertisedHost: options.advertisedHost ?? (host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host),
      advertisedPort: options.advertisedPort ?? pending.port,
      clusterId: clusterIdOf(dataDir),
      logDir: dataDir === null ? null : resolve(dataDir),
      autoCreateTopics: options.autoCreateTopics ?? true,
      defaultPartitions: options.defaultPartitions ?? 1,
      fetchMaxBytes: options.fetchMaxBytes ?? DEFAULT_FETCH_MAX_BYTES,
      groupInitialRebalanceDelayMs: options.groupInitialRebalanceDelayMs ?? 0,
      groupMinSessionTimeoutMs: options.groupMinSessionTimeoutMs ?? 6_000,
      groupMaxSessionTimeoutMs: options.groupMaxSessionTimeoutMs ?? 1_800_000,
      groupMaxSize: options.groupMaxSize ?? 2_147_483_647,
      offsetsRetentionMs: options.offsetsRetentionMs ?? SEVEN_DAYS_MS,
      topicDefaults: options.topicDefaults ?? {},
    };
    const groupStore =
      dataDir === null
        ? new MemoryGroupStore()
        : new FileGroupStore({ dir: join(dataDir, "__brook_groups"), fsync: options.fsync ?? "always", logger });
    const groups = new GroupCoordinator({ config, logger, topics, store: groupStore });
    await groups.start();
    const broker = new Broker(config, logger, storage, topics, groups, readBuffers, options);
    try {
      const snapshot = dataDir === null ? undefined : await takeProducerSnapshot(dataDir, logger);
      if (snapshot && storage.openedAfterCleanShutdown) {
        broker.producers.load(snapshot.filter((entry) => topics.partition(entry.topic, entry.partition)));
        logger.info({ producers: snapshot.length }, "producer state loaded from the clean-shutdown snapshot");
      } else {
        await restoreProducerStates(topics.all(), broker.producers);
      }
      const address = await broker.server.listen({ host, port: pending.port });
      if (options.advertisedPort === undefined) (config as { advertisedPort: number }).advertisedPort = address.port;
    } catch (error) {
      await groups.close();
      await storage.close();
      throw error;
    }
    broker.scheduleRetention();
    logger.info({ bootstrap: broker.bootstrap, dataDir: dataDir ?? "(memory)" }, "broker started");
    return broker;
  }

  private scheduleRetention(): void {
    const interval = this.options.retentionCheckIntervalMs ?? DEFAULT_RETENTION_CHECK_MS;
    const run = () => {
      this.topics.applyRetention(Date.now()).catch((error) => this.logger.error({ err: error }, "retention failed"));
    };
    run();
    this.retentionTimer = setInterval(run, interval);
    this.retentionTimer.unref();
  }

  /** Stops accepting, answers what is in flight (parked fetches at once), flushes and closes files. */
  close(): Promise<void> {
    this.closed ??= (async () => {
      clearInterval(this.retentionTimer);
      this.shutdownController.abort();
      await this.server.close({ timeoutMs: 5_000 });
      await this.groups.close();
      // Nothing appends any more: the producer state now matches the logs the storage closes.
      if (this.config.logDir !== null) {
        await writeProducerSnapshot(this.config.logDir, this.producers).catch((error: unknown) =>
          this.logger.error(
            { err: error },
            "writing the producer state snapshot failed; the next start reads the logs",
          ),
        );
      }
      await this.storage.close();
      this.logger.info("broker stopped");
    })();
    return this.closed;
  }
}

function numberOption(value: string | undefined): number | undefined {
  return value === undefined ? undefined : Number(value);
}
