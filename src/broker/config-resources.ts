import type { BrokerConfig } from "./broker-context.js";
import { ConfigSource, ConfigType, type ResolvedConfig, resolveTopicConfigs, TOPIC_CONFIGS } from "./topic-config.js";

/** Kafka's ConfigResource types that brook knows. */
export const ResourceType = { TOPIC: 2, BROKER: 4 } as const;

/**
 * The broker's own settings as DescribeConfigs shows them for resource type BROKER: the
 * topic defaults under their broker names, and the settings of the broker itself. They are
 * read-only: they come from the command line.
 */
export function brokerConfigs(config: BrokerConfig): ResolvedConfig[] {
  const own = (name: string, value: string | number | boolean, type: number, documentation: string) => ({
    name,
    value: String(value),
    source: ConfigSource.STATIC_BROKER_CONFIG,
    type,
    documentation,
    synonyms: [{ name, value: String(value), source: ConfigSource.STATIC_BROKER_CONFIG }],
  });
  const topicDefaults = resolveTopicConfigs({}, config.topicDefaults).map((resolved) => {
    const brokerName = TOPIC_CONFIGS[resolved.name]?.brokerName ?? resolved.name;
    return { ...resolved, name: brokerName, synonyms: resolved.synonyms.filter((s) => s.name === brokerName) };
  });
  return [
    own("broker.id", config.nodeId, ConfigType.INT, "The id of this broker."),
    own("num.partitions", config.defaultPartitions, ConfigType.INT, "Partitions of an auto-created topic."),
    own("auto.create.topics.enable", config.autoCreateTopics, ConfigType.BOOLEAN, "Create topics on first use."),
    own("fetch.max.bytes", config.fetchMaxBytes, ConfigType.INT, "The most bytes one Fetch response carries."),
    own(
      "group.initial.rebalance.delay.ms",
      config.groupInitialRebalanceDelayMs,
      ConfigType.INT,
      "How long a new group waits for more members before its first rebalance.",
    ),
    own("group.min.session.timeout.ms", config.groupMinSessionTimeoutMs, ConfigType.INT, "Shortest session timeout."),
    own("group.max.session.timeout.ms", config.groupMaxSessionTimeoutMs, ConfigType.INT, "Longest session timeout."),
    own("group.max.size", config.groupMaxSize, ConfigType.INT, "Most members a consumer group may have."),
    own(
      "offsets.retention.minutes",
      Math.round(config.offsetsRetentionMs / 60_000),
      ConfigType.INT,
      "How long the committed offsets of an empty group are kept.",
    ),
    ...topicDefaults,
  ].sort((a, b) => a.name.localeCompare(b.name));
}
