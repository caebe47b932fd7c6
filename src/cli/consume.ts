// `brook consume TOPIC...`: prints messages with brook's Consumer. Without --group it assigns
// the partitions by hand (nothing is stored in the cluster); with --group it joins the group
// and commits as it goes. Without --follow it stops at the end offsets the partitions had when
// it started (kcat -e), so that it answers "what is in this topic?" and exits.
import { stdout } from "node:process";
import { type Command, Option } from "commander";
import { Consumer, type OffsetResetPolicy, type TopicPartition } from "../client/consumer.js";
import { BrookError } from "../client/errors.js";
import { listOffsets } from "../client/offsets.js";
import { integer, type Position, position } from "./arguments.js";
import { addClientOptions, type ClientCommandOptions, clientOptions } from "./client-options.js";
import { onInterrupt } from "./interrupt.js";
import { FORMAT_HELP, jsonLine, type MessageFormatter, parseTemplate, valueOnly } from "./message-format.js";
import { UserError } from "./user-error.js";

interface ConsumeOptions extends ClientCommandOptions {
  from: string;
  partition?: number;
  group?: string;
  count?: number;
  follow?: boolean;
  format?: string;
  json?: boolean;
}

/** Most messages printed per write: large enough for throughput, small enough to stop promptly. */
const BATCH = 500;
/** How often the loop looks up from an empty poll to see whether it reached the end or was stopped. */
const IDLE_CHECK_MS = 200;
/** Commits while consuming, so an interrupted run (even a killed one) repeats little. */
const COMMIT_INTERVAL_MS = 1_000;

export function consumeCommand(program: Command): void {
  const command = program
    .command("consume")
    .description("print the messages of one or more topics")
    .argument("<topics...>", "the topics to read")
    .addOption(
      new Option(
        "--from <position>",
        "where to start: earliest, latest, an offset, an ISO-8601 time or @epoch-ms (with --group: only where the group has committed nothing)",
      ).default("earliest"),
    )
    .option("-p, --partition <n>", "read only this partition of each topic", integer("--partition", 0))
    .option("-g, --group <group>", "consume as a member of this consumer group, committing offsets as it goes")
    .option("-n, --count <n>", "exit after printing this many messages", integer("--count", 1))
    .option("-f, --follow", "keep waiting for new messages (until Ctrl-C) instead of exiting at the end")
    .option("--format <template>", "print each message with this template (see below)")
    .option("--json", "print each message as one JSON object per line");
  addClientOptions(command)
    .addHelpText(
      "after",
      `
By default brook consume reads every partition from the earliest message (--from earliest, a
learner's default; Kafka consumers start at the latest) and exits once it has printed what the
partitions held when it started. --follow keeps waiting for new messages; Ctrl-C stops it
cleanly (a group member leaves its group after committing what was printed).

Without --group nothing is stored in the cluster. With --group the group shares the partitions
among its members and remembers where each partition was read up to: the next run with the same
group starts there, and --from only applies to partitions the group has not read yet.

By default only the value is printed, one message per line.
--json prints {"topic","partition","offset","timestamp","key","value","headers":[{"key","value"}]}
per line, with keys, values and headers as UTF-8 text (null stays null).
${FORMAT_HELP}

Examples:
  brook consume orders
  brook consume orders --from 2026-11-24T09:00:00Z --format '{time} {key} {value}'
  brook consume orders refunds --group billing --follow --json`,
    )
    .action((topics: string[], options: ConsumeOptions) => consume(topics, options));
}

async function consume(topics: string[], options: ConsumeOptions): Promise<void> {
  // Parsed here rather than by commander: the sentence reads better without commander's preamble.
  const from = position("--from")(options.from);
  if (options.format !== undefined && options.json) throw new UserError("--format and --json cannot be combined");
  const format: MessageFormatter = options.json
    ? jsonLine
    : options.format !== undefined
      ? parseTemplate(options.format)
      : valueOnly;
  if (options.group !== undefined && options.partition !== undefined) {
    throw new UserError("--partition cannot be combined with --group: the group assigns the partitions");
  }
  const uniqueTopics = [...new Set(topics)];
  const consumer = new Consumer({
    ...clientOptions(options, "brook-consume"),
    groupId: options.group,
    autoOffsetReset: resetPolicy(from),
    autoCommitIntervalMs: COMMIT_INTERVAL_MS,
  });
  const run = new ConsumeRun(consumer, format, options.count);
  try {
    const partitions = await partitionsToRead(consumer, uniqueTopics, options.partition);
    const startAt = typeof from === "object" && "offset" in from ? from.offset : undefined;
    const ends = options.follow && startAt === undefined ? undefined : await offsetsAt(consumer, partitions, "latest");
    if (!options.follow) run.endOffsets = ends;
    const starts = startAt !== undefined && ends ? await startOffsets(consumer, partitions, startAt, ends) : undefined;
    if (options.group === undefined) {
      await consumer.assign(partitions.map((p) => ({ ...p, offset: starts?.get(partitionKey(p)) })));
      run.assigned = true;
    } else {
      await consumer.subscribe({
        topics: uniqueTopics,
        onPartitionsAssigned: async (assigned) => {
          if (starts) await startNewPartitionsAt(consumer, assigned, starts);
          run.assigned = true;
        },
      });
    }
    await run.printMessages();
  } catch (error) {
    // Ctrl-C while connecting or looking up topics is a normal way out, not a failure.
    if (!run.stopped) throw error;
  } finally {
    await run.close();
  }
}

function resetPolicy(from: Position): OffsetResetPolicy {
  if (from === "earliest" || from === "latest") return from;
  // Offsets are looked up in advance (see startOffsets); this only serves when retention
  // deletes messages while they are being read.
  if ("offset" in from) return "earliest";
  return { timestamp: from.timestamp };
}

/** Every partition of the topics (or partition `only` of each), failing with one sentence for unknown ones. */
async function partitionsToRead(
  consumer: Consumer,
  topics: string[],
  only: number | undefined,
): Promise<TopicPartition[]> {
  let infos: Awaited<ReturnType<Consumer["cluster"]["topics"]>>;
  try {
    infos = await consumer.cluster.topics(topics, { allowAutoTopicCreation: false });
  } catch (error) {
    if (error instanceof BrookError && error.code === "BROOK_UNKNOWN_TOPIC") {
      throw new UserError(`topic '${error.topic}' does not exist`);
    }
    throw error;
  }
  const partitions: TopicPartition[] = [];
  for (const info of infos) {
    if (only !== undefined && only >= info.partitions.length) {
      throw new UserError(
        `topic '${info.name}' has ${info.partitions.length} partition(s): there is no partition ${only}`,
      );
    }
    for (let partition = 0; partition < info.partitions.length; partition++) {
      if (only === undefined || only === partition) partitions.push({ topic: info.name, partition });
    }
  }
  return partitions;
}

/** Where each partition starts or ends now (without --follow, reading stops at the end). */
async function offsetsAt(
  consumer: Consumer,
  partitions: TopicPartition[],
  spec: "earliest" | "latest",
): Promise<Map<string, number>> {
  // The consumer reads committed messages only (read_committed), so the end is the last stable offset.
  const offsets = await listOffsets(
    consumer.cluster,
    partitions.map((p) => ({ ...p, spec })),
    { isolationLevel: 1 },
  );
  return new Map(offsets.map((entry) => [partitionKey(entry), entry.offset]));
}

/**
 * --from <offset>: that offset in every partition, or the nearest one the partition has (its
 * first when retention deleted the offset, its end when the offset is not written yet).
 */
async function startOffsets(
  consumer: Consumer,
  partitions: TopicPartition[],
  offset: number,
  ends: Map<string, number>,
): Promise<Map<string, number>> {
  const firsts = await offsetsAt(consumer, partitions, "earliest");
  return new Map(
    partitions.map((p) => {
      const key = partitionKey(p);
      return [key, Math.min(Math.max(offset, firsts.get(key) ?? 0), ends.get(key) ?? offset)];
    }),
  );
}

/** --from <offset> with a group: where the group has committed nothing, start at that offset. */
async function startNewPartitionsAt(consumer: Consumer, partitions: TopicPartition[], starts: Map<string, number>) {
  if (partitions.length === 0) return;
  for (const { topic, partition, offset } of await consumer.committed(partitions)) {
    const start = starts.get(partitionKey({ topic, partition }));
    if (offset < 0 && start !== undefined) consumer.seek({ topic, partition, offset: start });
  }
}

const partitionKey = ({ topic, partition }: TopicPartition) => `${topic}\0${partition}`;

/** One run of the command: the loop printing messages, and the ways it ends. */
class ConsumeRun {
  /** Without --follow: where each partition ended when the command started. */
  endOffsets: Map<string, number> | undefined;
  /** Partitions were assigned (by hand, or by the group's first rebalance, possibly none). */
  assigned = false;
  stopped = false;
  private printed = 0;
  private readonly removeInterruptHandler = onInterrupt(() => this.stop());
  private wakeWriter: (() => void) | undefined;

  constructor(
    private readonly consumer: Consumer,
    private readonly format: MessageFormatter,
    private readonly count: number | undefined,
  ) {
    // A reader that goes away (`brook consume t | head`) ends the run like Ctrl-C, not with a crash.
    stdout.on("error", () => this.stop());
  }

  /** Ctrl-C: pending polls end, the loop stops, close() commits and leaves. */
  private stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.wakeWriter?.();
    void this.consumer.close().catch(() => undefined);
  }

  async printMessages(): Promise<void> {
    while (!this.stopped && !this.done()) {
      const wanted = this.count === undefined ? BATCH : Math.min(BATCH, this.count - this.printed);
      const messages = await this.consumer.poll({ maxMessages: wanted, timeoutMs: IDLE_CHECK_MS });
      if (messages.length === 0) continue;
      let text = "";
      for (const message of messages) text += `${this.format(message)}\n`;
      this.printed += messages.length;
      await this.write(text);
    }
  }

  private done(): boolean {
    if (this.count !== undefined && this.printed >= this.count) return true;
    const ends = this.endOffsets;
    if (!ends || !this.assigned) return false;
    return this.consumer.assignment().every((tp) => {
      const next = this.consumer.position(tp);
      return next !== undefined && next >= (ends.get(partitionKey(tp)) ?? 0);
    });
  }

  /** Writes and waits while stdout is backed up, so a slow reader slows consuming instead of filling memory. */
  private async write(text: string): Promise<void> {
    if (stdout.write(text) || this.stopped) return;
    await new Promise<void>((resolve) => {
      this.wakeWriter = resolve;
      stdout.once("drain", resolve);
    });
    this.wakeWriter = undefined;
  }

  async close(): Promise<void> {
    try {
      await this.consumer.close();
    } finally {
      this.removeInterruptHandler();
    }
  }
}
