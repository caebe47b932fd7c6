// `brook topic create|list|describe|delete|alter-config`: thin wrappers over the client's Admin
// that print rpk-style tables, or one JSON document with --json.
import { type Command, InvalidArgumentError } from "commander";
import type { Admin, ConfigChange, ConfigEntry, TopicDescription } from "../client/admin.js";
import { BrookError } from "../client/errors.js";
import { integer } from "./arguments.js";
import { addClientOptions, type ClientCommandOptions, withAdmin } from "./client-options.js";
import { colour, eachItem, formatBytes, printFields, printJson, printTable, reportOutcomes } from "./output.js";
import { UserError } from "./user-error.js";

interface JsonOption {
  json?: boolean;
}

/** Repeatable `key=value` options, collected into one object. */
function keyValue(name: string) {
  return (value: string, previous: Record<string, string> = {}): Record<string, string> => {
    const at = value.indexOf("=");
    if (at <= 0) throw new InvalidArgumentError(`${name} takes key=value, not "${value}".`);
    return { ...previous, [value.slice(0, at)]: value.slice(at + 1) };
  };
}

/** Repeatable plain options, collected into a list. */
function repeated(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** A failure the cluster reported about one topic, as opposed to not reaching the cluster at all. */
function isTopicError(error: unknown): error is BrookError {
  return error instanceof BrookError && error.kafkaCode !== undefined;
}

/** Admin's error for a topic that is not there, whatever the request was. */
function unknownTopic(error: unknown, topic: string): unknown {
  if (error instanceof BrookError && error.kafkaName === "UNKNOWN_TOPIC_OR_PARTITION") {
    return new UserError(`topic '${topic}' does not exist.`);
  }
  return error;
}

export function topicCommand(program: Command): void {
  const topic = program.command("topic").description("create, list, describe, delete and configure topics");

  addClientOptions(
    topic
      .command("create")
      .description("create topics")
      .argument("<names...>", "topics to create")
      .option("-p, --partitions <n>", "partitions of each topic", integer("--partitions", 1), 1)
      .option(
        "-c, --config <key=value>",
        "a topic config, e.g. retention.ms=86400000 (repeatable)",
        keyValue("--config"),
      )
      .option("--dry-run", "ask the cluster to validate the request without creating anything")
      .option("--json", "print JSON instead of a table"),
  ).action(
    async (
      names: string[],
      options: ClientCommandOptions &
        JsonOption & { partitions: number; config?: Record<string, string>; dryRun?: boolean },
    ) => {
      const outcomes = await withAdmin(options, (admin) =>
        eachItem(
          names,
          (name) =>
            admin.createTopics({
              topics: [{ topic: name, numPartitions: options.partitions, configs: options.config ?? {} }],
              validateOnly: options.dryRun === true,
              timeoutMs: options.timeout,
            }),
          isTopicError,
        ),
      );
      reportOutcomes(outcomes, {
        title: "topic",
        key: "topics",
        success: options.dryRun ? "OK (dry run: not created)" : "OK",
        json: options.json === true,
      });
    },
  );

  addClientOptions(
    topic
      .command("list")
      .alias("ls")
      .description("list topics")
      .option("-i, --internal", "include internal topics (__consumer_offsets...)")
      .option("--json", "print JSON instead of a table"),
  ).action(async (options: ClientCommandOptions & JsonOption & { internal?: boolean }) => {
    const rows = await withAdmin(options, async (admin) => {
      const names = await admin.listTopics({ includeInternal: options.internal === true });
      // listTopics has just fetched every topic's metadata: the partitions are known without
      // describeTopics, which would also ask every partition for its offsets.
      return names.flatMap((name) => {
        const info = admin.cluster.metadata.topics.get(name);
        if (!info) return [];
        const partitions = info.partitions.filter(Boolean);
        return [
          {
            name,
            partitions: partitions.length,
            replicas: Math.max(0, ...partitions.map((p) => p.replicas.length)),
            internal: info.internal,
          },
        ];
      });
    });
    if (options.json) {
      printJson({ topics: rows });
      return;
    }
    printTable(
      [
        { title: "name", value: (r) => r.name },
        { title: "partitions", value: (r) => r.partitions, align: "right" },
        { title: "replicas", value: (r) => r.replicas, align: "right" },
      ],
      rows,
    );
  });

  addClientOptions(
    topic
      .command("describe")
      .description("a topic's partitions with their offsets, and its configs")
      .argument("<name>", "the topic")
      .option("-a, --all-configs", "show every config, not only those set on the topic")
      .option("--json", "print JSON instead of tables"),
  ).action(async (name: string, options: ClientCommandOptions & JsonOption & { allConfigs?: boolean }) => {
    const { description, configs, sizes } = await withAdmin(options, async (admin) => {
      const [description] = await admin.describeTopics([name]).catch((error) => {
        throw unknownTopic(error, name);
      });
      const [described] = await admin.describeConfigs({ resources: [{ type: "topic", name }] });
      return {
        description: description as TopicDescription,
        configs: described?.configs ?? [],
        sizes: await partitionSizes(admin, description as TopicDescription),
      };
    });
    printTopicDescription(description, configs, sizes, options.allConfigs === true, options.json === true);
  });

  addClientOptions(
    topic
      .command("delete")
      .alias("rm")
      .description("delete topics and all their messages")
      .argument("<names...>", "topics to delete")
      .option("--json", "print JSON instead of a table"),
  ).action(async (names: string[], options: ClientCommandOptions & JsonOption) => {
    const outcomes = await withAdmin(options, (admin) =>
      eachItem(names, (name) => admin.deleteTopics({ topics: [name], timeoutMs: options.timeout }), isTopicError),
    );
    reportOutcomes(outcomes, { title: "topic", key: "topics", success: "OK", json: options.json === true });
  });

  addClientOptions(
    topic
      .command("alter-config")
      .description("set or remove configs of a topic; the others keep their values")
      .argument("<name>", "the topic")
      .option("-s, --set <key=value>", "set a config (repeatable)", keyValue("--set"))
      .option("-d, --delete <key>", "return a config to its default (repeatable)", repeated)
      .option("--json", "print JSON instead of a table"),
  ).action(
    async (
      name: string,
      options: ClientCommandOptions & JsonOption & { set?: Record<string, string>; delete?: string[] },
    ) => {
      const changes: ConfigChange[] = [
        ...Object.entries(options.set ?? {}).map(([key, value]) => ({ name: key, operation: "set" as const, value })),
        ...(options.delete ?? []).map((key) => ({ name: key, operation: "delete" as const })),
      ];
      if (changes.length === 0) throw new UserError("alter-config needs at least one --set key=value or --delete key.");
      const both = (options.delete ?? []).find((key) => options.set?.[key] !== undefined);
      if (both !== undefined) throw new UserError(`'${both}' cannot be both set and deleted.`);
      await withAdmin(options, async (admin) => {
        // IncrementalAlterConfigs of a missing topic answers with the broker's wording; check first.
        await admin.describeTopics([name]).catch((error) => {
          throw unknownTopic(error, name);
        });
        await admin.alterConfigs({ resources: [{ type: "topic", name, configs: changes }] }).catch((error) => {
          throw unknownTopic(error, name);
        });
      });
      const rows = changes.map((c) => ({ name: c.name, operation: c.operation ?? "set", value: c.value ?? null }));
      if (options.json) {
        printJson({ topic: name, changes: rows });
        return;
      }
      printTable(
        [
          { title: "config", value: (r) => r.name },
          { title: "operation", value: (r) => r.operation },
          { title: "value", value: (r) => (r.operation === "delete" ? "(default)" : r.value) },
        ],
        rows,
      );
    },
  );
}

/**
 * The summary, the configs and the partitions of a topic. brook's broker has no DescribeLogDirs,
 * so a partition's size on disk is not known: MESSAGES (latest - earliest) stands in for it.
 */
/**
 * Each partition's size on its leader (DescribeLogDirs), or an empty map when the cluster will
 * not say: older brokers lack the API, and Kafka may require cluster-level permission for it.
 */
async function partitionSizes(admin: Admin, topic: TopicDescription): Promise<Map<number, number>> {
  const leaders = new Map(topic.partitions.map((p) => [p.partition, p.leader]));
  try {
    const dirs = await admin.describeLogDirs({ brokers: [...new Set(leaders.values())], topics: [topic.name] });
    const sizes = new Map<number, number>();
    for (const dir of dirs) {
      for (const p of dir.partitions) {
        if (p.topic === topic.name && leaders.get(p.partition) === dir.broker && !p.isFuture) {
          sizes.set(p.partition, (sizes.get(p.partition) ?? 0) + p.sizeBytes);
        }
      }
    }
    return sizes;
  } catch (error) {
    if (error instanceof BrookError) return new Map();
    throw error;
  }
}

function printTopicDescription(
  topic: TopicDescription,
  allConfigs: readonly ConfigEntry[],
  sizes: ReadonlyMap<number, number>,
  showAllConfigs: boolean,
  json: boolean,
): void {
  const configs = allConfigs
    .filter((c) => showAllConfigs || !c.isDefault)
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((c) => ({ name: c.name, value: c.sensitive ? null : c.value, source: c.source, isDefault: c.isDefault }));
  const partitions = topic.partitions.map((p) => ({
    partition: p.partition,
    leader: p.leader,
    replicas: p.replicas,
    earliestOffset: p.earliestOffset,
    latestOffset: p.latestOffset,
    messages: Math.max(0, p.latestOffset - p.earliestOffset),
    sizeBytes: sizes.get(p.partition) ?? null,
  }));
  const replicas = Math.max(0, ...topic.partitions.map((p) => p.replicas.length));
  if (json) {
    printJson({
      name: topic.name,
      topicId: topic.topicId,
      internal: topic.internal,
      partitionCount: partitions.length,
      replicationFactor: replicas,
      configs,
      partitions,
    });
    return;
  }
  const section = (title: string) => process.stdout.write(`\n${colour.bold(title)}\n`);
  printFields([
    ["name", topic.name],
    ["topic id", topic.topicId],
    ["internal", String(topic.internal)],
    ["partitions", partitions.length],
    ["replicas", replicas],
  ]);
  section(showAllConfigs ? "CONFIGS" : "CONFIGS (not defaults; --all-configs for all)");
  if (configs.length === 0) process.stdout.write("(none)\n");
  else
    printTable(
      [
        { title: "key", value: (c) => c.name },
        { title: "value", value: (c) => c.value },
        { title: "source", value: (c) => c.source },
      ],
      configs,
    );
  section("PARTITIONS");
  printTable(
    [
      { title: "partition", value: (p) => p.partition, align: "right" },
      { title: "leader", value: (p) => p.leader, align: "right" },
      { title: "replicas", value: (p) => p.replicas.join(","), align: "right" },
      { title: "earliest", value: (p) => p.earliestOffset, align: "right" },
      { title: "latest", value: (p) => p.latestOffset, align: "right" },
      { title: "messages", value: (p) => p.messages, align: "right" },
      { title: "size", value: (p) => (p.sizeBytes === null ? "-" : formatBytes(p.sizeBytes)), align: "right" },
    ],
    partitions,
  );
}
