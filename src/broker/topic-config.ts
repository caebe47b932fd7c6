/**
 * The topic configs brook implements: their defaults, how a value is checked, and how the
 * effective value of a topic is resolved (topic override, else broker default).
 */

/** Kafka's ConfigSource values, as DescribeConfigs reports them. */
export const ConfigSource = {
  DYNAMIC_TOPIC_CONFIG: 1,
  STATIC_BROKER_CONFIG: 4,
  DEFAULT_CONFIG: 5,
} as const;

/** Kafka's ConfigType values (DescribeConfigs v3+). */
export const ConfigType = { BOOLEAN: 1, STRING: 2, INT: 3, LONG: 5, LIST: 7 } as const;

interface ConfigDefinition {
  readonly defaultValue: string;
  /** The broker setting that supplies this topic config's default (Kafka's synonym). */
  readonly brokerName: string;
  readonly type: (typeof ConfigType)[keyof typeof ConfigType];
  readonly documentation: string;
  /** Returns a reason when the value is not acceptable. */
  validate(value: string): string | undefined;
}

const TIMESTAMP_TYPES = ["CreateTime", "LogAppendTime"];
const CLEANUP_POLICIES = ["delete", "compact"];

function integer(min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): string | undefined => {
    if (!/^-?\d+$/.test(value.trim())) return `"${value}" is not an integer`;
    const n = Number(value);
    if (n < min || n > max) return `${n} is outside [${min}, ${max}]`;
    return undefined;
  };
}

function oneOf(allowed: readonly string[]) {
  return (value: string): string | undefined =>
    allowed.includes(value) ? undefined : `"${value}" is not one of ${allowed.join(", ")}`;
}

function listOf(allowed: readonly string[]) {
  return (value: string): string | undefined => {
    const items = value.split(",").map((s) => s.trim());
    const bad = items.find((item) => !allowed.includes(item));
    return bad === undefined ? undefined : `"${bad}" is not one of ${allowed.join(", ")}`;
  };
}

export const TOPIC_CONFIGS: Readonly<Record<string, ConfigDefinition>> = {
  "cleanup.policy": {
    brokerName: "log.cleanup.policy",
    defaultValue: "delete",
    type: ConfigType.LIST,
    documentation: "delete: old segments are removed by retention; compact: brook keeps them (no compaction yet).",
    validate: listOf(CLEANUP_POLICIES),
  },
  "max.message.bytes": {
    brokerName: "message.max.bytes",
    defaultValue: "1048588",
    type: ConfigType.INT,
    documentation: "The largest record batch size accepted from a producer.",
    validate: integer(0, 2147483647),
  },
  "message.timestamp.type": {
    brokerName: "log.message.timestamp.type",
    defaultValue: "CreateTime",
    type: ConfigType.STRING,
    documentation: "CreateTime keeps the producer's timestamps; LogAppendTime stamps batches with the broker's time.",
    validate: oneOf(TIMESTAMP_TYPES),
  },
  "retention.bytes": {
    brokerName: "log.retention.bytes",
    defaultValue: "-1",
    type: ConfigType.LONG,
    documentation: "Largest size of a partition before its oldest segments are deleted; -1 for no limit.",
    validate: integer(-1),
  },
  "retention.ms": {
    brokerName: "log.retention.ms",
    defaultValue: "604800000",
    type: ConfigType.LONG,
    documentation: "How long segments are kept before deletion; -1 for ever.",
    validate: integer(-1),
  },
  "segment.bytes": {
    brokerName: "log.segment.bytes",
    defaultValue: "1073741824",
    type: ConfigType.INT,
    documentation: "Size at which a partition's active segment is rolled.",
    validate: integer(14, 2147483647),
  },
  "segment.ms": {
    brokerName: "log.roll.ms",
    defaultValue: "604800000",
    type: ConfigType.LONG,
    documentation: "Age at which a partition's active segment is rolled.",
    validate: integer(1),
  },
};

/** Broker-level overrides of topic defaults (from the command line), keyed by topic config name. */
export type ConfigOverrides = Readonly<Record<string, string>>;

/** Checks a set of overrides; returns the first problem as a sentence, or undefined. */
export function validateTopicConfigs(overrides: Readonly<Record<string, string | null>>): string | undefined {
  for (const [name, value] of Object.entries(overrides)) {
    const definition = TOPIC_CONFIGS[name];
    if (!definition) return `unknown topic config "${name}"`;
    if (value === null) continue;
    const problem = definition.validate(value);
    if (problem) return `invalid value for ${name}: ${problem}`;
  }
  return undefined;
}

export interface ResolvedConfig {
  name: string;
  value: string;
  source: number;
  type: number;
  documentation: string;
  /** Where the value could come from, most specific first (DescribeConfigs synonyms). */
  synonyms: { name: string; value: string; source: number }[];
}

/** Every topic config with its effective value and where that value comes from. */
export function resolveTopicConfigs(
  topicOverrides: ConfigOverrides,
  brokerDefaults: ConfigOverrides,
): ResolvedConfig[] {
  return Object.entries(TOPIC_CONFIGS).map(([name, definition]) => {
    const topicValue = topicOverrides[name];
    const brokerValue = brokerDefaults[name];
    const [value, source] =
      topicValue !== undefined
        ? [topicValue, ConfigSource.DYNAMIC_TOPIC_CONFIG]
        : brokerValue !== undefined
          ? [brokerValue, ConfigSource.STATIC_BROKER_CONFIG]
          : [definition.defaultValue, ConfigSource.DEFAULT_CONFIG];
    const synonyms = [];
    if (topicValue !== undefined) synonyms.push({ name, value: topicValue, source: ConfigSource.DYNAMIC_TOPIC_CONFIG });
    if (brokerValue !== undefined) {
      synonyms.push({ name: definition.brokerName, value: brokerValue, source: ConfigSource.STATIC_BROKER_CONFIG });
    }
    synonyms.push({ name: definition.brokerName, value: definition.defaultValue, source: ConfigSource.DEFAULT_CONFIG });
    return { name, value, source, type: definition.type, documentation: definition.documentation, synonyms };
  });
}

/** The effective settings of a topic, parsed, as the log and the produce path use them. */
export interface TopicSettings {
  retentionMs: number;
  retentionBytes: number;
  segmentBytes: number;
  segmentMs: number;
  maxMessageBytes: number;
  logAppendTime: boolean;
  deleteRetention: boolean;
}

export function topicSettings(topicOverrides: ConfigOverrides, brokerDefaults: ConfigOverrides): TopicSettings {
  const value = (name: string) =>
    topicOverrides[name] ?? brokerDefaults[name] ?? (TOPIC_CONFIGS[name] as ConfigDefinition).defaultValue;
  return {
    retentionMs: Number(value("retention.ms")),
    retentionBytes: Number(value("retention.bytes")),
    segmentBytes: Number(value("segment.bytes")),
    segmentMs: Number(value("segment.ms")),
    maxMessageBytes: Number(value("max.message.bytes")),
    logAppendTime: value("message.timestamp.type") === "LogAppendTime",
    deleteRetention: value("cleanup.policy")
      .split(",")
      .some((p) => p.trim() === "delete"),
  };
}
