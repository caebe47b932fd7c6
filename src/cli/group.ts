// `brook group list|describe|reset-offsets|delete`: consumer groups, their members and how far
// behind they are, over the client's Admin; rpk-style tables, or one JSON document with --json.
import { type Command, InvalidArgumentError } from "commander";
import type { Admin, GroupDescription, PartitionLag, TopicPartitions } from "../client/admin.js";
import { BrookError } from "../client/errors.js";
import { integer, type Position, position } from "./arguments.js";
import { addClientOptions, type ClientCommandOptions, withAdmin } from "./client-options.js";
import { colour, eachItem, printFields, printJson, printTable, reportOutcomes } from "./output.js";
import { UserError } from "./user-error.js";

interface JsonOption {
  json?: boolean;
}

const GROUP_STATES = ["Empty", "Stable", "PreparingRebalance", "CompletingRebalance", "Dead"];

/** `--state stable,empty` (repeatable), matched case-insensitively to Kafka's state names. */
function states(value: string, previous: string[] = []): string[] {
  const parsed = value
    .split(",")
    .filter((s) => s.trim() !== "")
    .map((s) => {
      const state = GROUP_STATES.find((known) => known.toLowerCase() === s.trim().toLowerCase());
      if (!state) throw new InvalidArgumentError(`--state takes ${GROUP_STATES.join(", ")}, not "${s.trim()}".`);
      return state;
    });
  return [...previous, ...parsed];
}

/** `--partitions 0,2`. */
function partitionList(value: string): number[] {
  const parse = integer("--partitions", 0);
  return [...new Set(value.split(",").map((p) => parse(p.trim())))].sort((a, b) => a - b);
}

function activeMembers(groupId: string): UserError {
  return new UserError(`group '${groupId}' has active members; stop them before resetting its offsets.`);
}

/** "orders: 0,1 payments: 2" — a member's assigned partitions. */
function formatAssignment(assignment: readonly TopicPartitions[] | null): string {
  if (!assignment || assignment.length === 0) return "-";
  return assignment
    .map((a) => `${a.topic}: ${[...a.partitions].sort((x, y) => x - y).join(",")}`)
    .sort()
    .join(" ");
}

export function groupCommand(program: Command): void {
  const group = program
    .command("group")
    .description("list, describe, reset the offsets of, and delete consumer groups");

  addClientOptions(
    group
      .command("list")
      .alias("ls")
      .description("list groups")
      .option("--state <states>", "only groups in these states, e.g. stable,empty (repeatable)", states)
      .option("--json", "print JSON instead of a table"),
  ).action(async (options: ClientCommandOptions & JsonOption & { state?: string[] }) => {
    const listed = await withAdmin(options, (admin) => admin.listGroups());
    // Filtered here rather than by the broker, so that brokers before ListGroups v4 work too.
    const groups = options.state ? listed.filter((g) => options.state?.includes(g.state)) : listed;
    if (options.json) {
      printJson({ groups });
      return;
    }
    printTable(
      [
        { title: "group", value: (g) => g.groupId },
        { title: "state", value: (g) => g.state || "-" },
        { title: "protocol type", value: (g) => g.protocolType || "-" },
      ],
      groups,
    );
  });

  addClientOptions(
    group
      .command("describe")
      .description("a group's members, their partitions, committed offsets and lag")
      .argument("<group>", "the group id")
      .option("--json", "print JSON instead of tables"),
  ).action(async (groupId: string, options: ClientCommandOptions & JsonOption) => {
    const { description, lags } = await withAdmin(options, async (admin) => {
      const [description] = (await admin.describeGroups([groupId])) as [GroupDescription];
      // Partitions assigned but never committed have a lag too (from the start), so ask for them.
      const topics = [...new Set(description.members.flatMap((m) => (m.assignment ?? []).map((a) => a.topic)))];
      const lags = await admin.consumerGroupLag({ groupId, topics: topics.length > 0 ? topics : undefined });
      return { description, lags };
    });
    // A group the coordinator does not know is "Dead"; it may still hold offsets committed from outside.
    if (description.state === "Dead" && lags.length === 0) {
      throw new UserError(`group '${groupId}' does not exist.`);
    }
    printGroupDescription(description, lags, options.json === true);
  });

  addClientOptions(
    group
      .command("reset-offsets")
      .description("move an inactive group's committed offsets of a topic")
      .argument("<group>", "the group id")
      .requiredOption("-t, --topic <topic>", "the topic whose offsets move")
      .option("-p, --partitions <list>", "only these partitions, e.g. 0,2 (default: all)", partitionList)
      .requiredOption(
        "--to <position>",
        "earliest, latest, an offset, an ISO-8601 time or @epoch-milliseconds",
        position("--to"),
      )
      .option("--dry-run", "print the offsets that would be set without committing them")
      .option("--json", "print JSON instead of a table"),
  ).action(
    async (
      groupId: string,
      options: ClientCommandOptions &
        JsonOption & { topic: string; partitions?: number[]; to: Position; dryRun?: boolean },
    ) => {
      const changes = await withAdmin(options, (admin) => resetOffsets(admin, groupId, options));
      const dryRun = options.dryRun === true;
      if (options.json) {
        printJson({ groupId, topic: options.topic, dryRun, offsets: changes });
        return;
      }
      printTable(
        [
          { title: "topic", value: (c) => c.topic },
          { title: "partition", value: (c) => c.partition, align: "right" },
          { title: "old", value: (c) => c.oldOffset, align: "right" },
          { title: "new", value: (c) => c.newOffset, align: "right" },
        ],
        changes,
      );
      if (dryRun) process.stdout.write(`${colour.yellow("dry run: no offset was committed.")}\n`);
    },
  );

  addClientOptions(
    group
      .command("delete")
      .alias("rm")
      .description("delete groups and their committed offsets (a group must have no members)")
      .argument("<groups...>", "the group ids")
      .option("--json", "print JSON instead of a table"),
  ).action(async (groupIds: string[], options: ClientCommandOptions & JsonOption) => {
    const outcomes = await withAdmin(options, (admin) =>
      eachItem(
        groupIds,
        (groupId) => admin.deleteGroups([groupId]),
        (error): error is BrookError => error instanceof BrookError && error.kafkaCode !== undefined,
      ),
    );
    reportOutcomes(outcomes, { title: "group", key: "groups", success: "OK", json: options.json === true });
  });
}

interface OffsetChange {
  topic: string;
  partition: number;
  /** Null where the group had not committed an offset. */
  oldOffset: number | null;
  newOffset: number;
}

/**
 * The group's offsets before and after the reset; a dry run shows exactly what the real one
 * commits, as both go through Admin.resetConsumerGroupOffsets.
 */
async function resetOffsets(
  admin: Admin,
  groupId: string,
  options: { topic: string; partitions?: number[]; to: Position; dryRun?: boolean },
): Promise<OffsetChange[]> {
  const { topic } = options;
  const [description] = (await admin.describeGroups([groupId])) as [GroupDescription];
  // The coordinator refuses commits from outside a group with members; saying so up front
  // also keeps a dry run honest.
  if (description.members.length > 0) throw activeMembers(groupId);
  const committed = await admin.listConsumerGroupOffsets({ groupId, topics: [topic] });
  const reset = await admin
    .resetConsumerGroupOffsets({
      groupId,
      topic,
      to: options.to,
      partitions: options.partitions,
      dryRun: options.dryRun,
    })
    .catch((error) => {
      // A member joined since we looked.
      if (error instanceof BrookError && ["UNKNOWN_MEMBER_ID", "REBALANCE_IN_PROGRESS"].includes(error.code)) {
        throw activeMembers(groupId);
      }
      throw error;
    });
  return reset.map(({ partition, offset }) => {
    const old = committed.find((c) => c.topic === topic && c.partition === partition)?.offset ?? -1;
    return { topic, partition, oldOffset: old >= 0 ? old : null, newOffset: offset };
  });
}

function printGroupDescription(description: GroupDescription, lags: readonly PartitionLag[], json: boolean): void {
  const ownerOf = new Map<string, string>();
  for (const member of description.members) {
    for (const a of member.assignment ?? []) {
      for (const partition of a.partitions) ownerOf.set(`${a.topic}\0${partition}`, member.memberId);
    }
  }
  const offsets = lags.map((l) => ({
    topic: l.topic,
    partition: l.partition,
    committedOffset: l.committedOffset >= 0 ? l.committedOffset : null,
    logEndOffset: l.latestOffset,
    lag: l.lag,
    memberId: ownerOf.get(`${l.topic}\0${l.partition}`) ?? null,
  }));
  const totalLag = offsets.reduce((sum, o) => sum + (o.lag ?? 0), 0);
  const members = description.members.map((m) => ({
    memberId: m.memberId,
    groupInstanceId: m.groupInstanceId,
    clientId: m.clientId,
    clientHost: m.clientHost,
    assignment: m.assignment,
  }));
  const { coordinator } = description;
  if (json) {
    printJson({
      groupId: description.groupId,
      state: description.state,
      protocolType: description.protocolType,
      protocol: description.protocol,
      coordinator: { nodeId: coordinator.nodeId, host: coordinator.host, port: coordinator.port },
      totalLag,
      members,
      offsets,
    });
    return;
  }
  printFields([
    ["group", description.groupId],
    ["state", description.state],
    ["protocol type", description.protocolType || "-"],
    ["assignor", description.protocol || "-"],
    ["coordinator", `${coordinator.nodeId} (${coordinator.host}:${coordinator.port})`],
    ["members", members.length],
    ["total lag", totalLag],
  ]);
  if (members.length > 0) {
    process.stdout.write("\n");
    printTable(
      [
        { title: "member-id", value: (m) => m.memberId },
        { title: "client-id", value: (m) => m.clientId },
        { title: "host", value: (m) => m.clientHost },
        { title: "partitions", value: (m) => formatAssignment(m.assignment) },
      ],
      members,
    );
  }
  if (offsets.length > 0) {
    process.stdout.write("\n");
    printTable(
      [
        { title: "topic", value: (o) => o.topic },
        { title: "partition", value: (o) => o.partition, align: "right" },
        { title: "current-offset", value: (o) => o.committedOffset, align: "right" },
        { title: "log-end-offset", value: (o) => o.logEndOffset, align: "right" },
        { title: "lag", value: (o) => o.lag, align: "right" },
        { title: "member-id", value: (o) => o.memberId },
      ],
      offsets,
    );
  }
}
