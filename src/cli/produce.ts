// `brook produce TOPIC`: one message per line of stdin or a file, streamed through brook's
// Producer (which batches per partition), with a bounded number of sends in flight so that a
// large input never sits in memory.
import type { FileHandle } from "node:fs/promises";
import { open } from "node:fs/promises";
import { stdin } from "node:process";
import type { Readable } from "node:stream";
import { type Command, InvalidArgumentError, Option } from "commander";
import { BrookError } from "../client/errors.js";
import { type CompressionName, Producer, type ProducerMessage } from "../client/producer.js";
import { integer } from "./arguments.js";
import { addClientOptions, type ClientCommandOptions, clientOptions } from "./client-options.js";
import { lineBatches } from "./input-lines.js";
import { onInterrupt } from "./interrupt.js";
import { formatBytes, printJson } from "./output.js";
import { ProgressLine } from "./progress.js";
import { UserError } from "./user-error.js";

const COMPRESSIONS: readonly CompressionName[] = ["none", "gzip", "snappy", "lz4", "zstd"];
const ACKS = ["0", "1", "all", "-1"] as const;

/**
 * send() calls (one per chunk of input, up to ~64 KiB of lines each) awaiting acknowledgement
 * before reading pauses: enough to keep the producer's batches full, few enough that memory
 * stays bounded whatever the input's size.
 */
const MAX_SENDS_IN_FLIGHT = 32;

interface ProduceOptions extends ClientCommandOptions {
  file?: string;
  keySeparator?: string;
  header?: { key: string; value: string }[];
  partition?: number;
  compression: CompressionName;
  acks: (typeof ACKS)[number];
  skipEmpty?: boolean;
  json?: boolean;
}

/** `-H name=value`, repeatable: collects every header given. */
function header(value: string, previous: { key: string; value: string }[] = []) {
  const at = value.indexOf("=");
  if (at <= 0) throw new InvalidArgumentError(`--header takes name=value, not "${value}".`);
  return [...previous, { key: value.slice(0, at), value: value.slice(at + 1) }];
}

export function produceCommand(program: Command): void {
  const command = program
    .command("produce")
    .description("send one message per line of stdin (or of --file) to a topic")
    .argument("<topic>", "the topic to write to")
    .option("-f, --file <path>", "read the lines from this file instead of stdin")
    .option(
      "-k, --key-separator <sep>",
      'split each line at the first <sep> into key and value ("\\t" for a tab); a line without it is a value with a null key',
    )
    .option("-H, --header <name=value>", "add this header to every message (repeatable)", header)
    .option("-p, --partition <n>", "send every message to this partition", integer("--partition", 0))
    .addOption(
      new Option("-z, --compression <codec>", "compress batches with this codec").choices(COMPRESSIONS).default("none"),
    )
    .addOption(
      new Option("--acks <acks>", "acknowledgement to wait for: 0 none, 1 the leader, all (or -1) every replica")
        .choices(ACKS)
        .default("all"),
    )
    .option("--skip-empty", "skip empty lines instead of sending them as empty messages")
    .option("--json", "print the summary as JSON: {topic, messages, bytes, seconds, partitions}");
  addClientOptions(command)
    .addHelpText(
      "after",
      `
Each line is one message; "\\n" and "\\r\\n" both end a line. An empty line is sent as a message
with an empty value (as kcat does), unless --skip-empty. Without --partition, messages with a
key go to the key's partition and the others are spread over the partitions.

On a terminal a progress line shows the rate; at the end a summary says how many messages and
bytes (keys and values) were acknowledged. The topic is created on first use when the cluster
allows it.

Examples:
  echo "hello" | brook produce greetings
  brook produce orders -k : -H source=cli < orders.txt      # lines like "order-42:{...}"
  brook produce logs -f app.log -z zstd --json`,
    )
    .action((topic: string, options: ProduceOptions) => produce(topic, options));
}

async function produce(topic: string, options: ProduceOptions): Promise<void> {
  const separator = options.keySeparator === undefined ? undefined : keySeparator(options.keySeparator);
  const file = options.file === undefined ? undefined : await openInput(options.file);
  const producer = new Producer({
    ...clientOptions(options, "brook-produce"),
    acks: options.acks === "all" ? -1 : (Number(options.acks) as 0 | 1 | -1),
    compression: options.compression,
    // The CLI waits for the cluster no longer than --timeout allows, a few times over for a backlog.
    deliveryTimeoutMs: Math.max(3 * options.timeout, 30_000),
  });
  try {
    await checkTopic(producer, topic, options.partition);
    const input = file ? file.createReadStream() : stdin;
    if (!file && stdin.isTTY) process.stderr.write("Type one message per line; Ctrl-D (or Ctrl-C) to finish.\n");
    const stats = await sendLines(producer, topic, input, {
      separator,
      headers: options.header ?? [],
      partition: options.partition,
      skipEmpty: options.skipEmpty === true,
    });
    printSummary(topic, stats, options.json === true);
  } finally {
    await producer.close().catch(() => undefined);
    await file?.close().catch(() => undefined);
  }
}

/** The separator as typed, with "\t" meaning a tab (a real tab is awkward to type in a shell). */
function keySeparator(text: string): Buffer {
  const separator = text.replaceAll("\\t", "\t");
  if (separator === "") throw new UserError("--key-separator cannot be empty");
  if (separator.includes("\n")) throw new UserError("--key-separator cannot contain a newline: lines end there");
  return Buffer.from(separator, "utf8");
}

async function openInput(path: string): Promise<FileHandle> {
  try {
    return await open(path, "r");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new UserError(`cannot read ${path}: no such file`);
    if (code === "EACCES" || code === "EPERM") throw new UserError(`cannot read ${path}: permission denied`);
    if (code === "EISDIR") throw new UserError(`cannot read ${path}: it is a directory`);
    throw new UserError(`cannot read ${path}: ${(error as Error).message}`);
  }
}

/** Fails before any input is read when the topic (or the partition asked for) does not exist. */
async function checkTopic(producer: Producer, topic: string, partition: number | undefined): Promise<void> {
  let partitions: number;
  try {
    const [info] = await producer.cluster.topics([topic], { allowAutoTopicCreation: true });
    partitions = info?.partitions.length ?? 0;
  } catch (error) {
    if (error instanceof BrookError && error.code === "BROOK_UNKNOWN_TOPIC") {
      throw new UserError(
        `topic '${topic}' does not exist and the cluster does not create topics on first use (create it with brook topic create ${topic})`,
      );
    }
    throw error;
  }
  if (partition !== undefined && partition >= partitions) {
    throw new UserError(`topic '${topic}' has ${partitions} partition(s): there is no partition ${partition}`);
  }
}

interface LineOptions {
  separator: Buffer | undefined;
  headers: { key: string; value: string }[];
  partition: number | undefined;
  skipEmpty: boolean;
}

interface ProduceStats {
  messages: number;
  bytes: number;
  seconds: number;
  /** Messages acknowledged per partition. */
  partitions: Map<number, number>;
}

async function sendLines(
  producer: Producer,
  topic: string,
  input: Readable,
  options: LineOptions,
): Promise<ProduceStats> {
  const startedAt = performance.now();
  const stats: ProduceStats = { messages: 0, bytes: 0, seconds: 0, partitions: new Map() };
  const progress = new ProgressLine(
    (seconds) =>
      `${stats.messages.toLocaleString("en-US")} messages (${formatBytes(stats.bytes)}), ${rate(stats.messages, seconds)} msg/s`,
    undefined,
    startedAt,
  );
  let inFlight = 0;
  let failure: unknown;
  let settled: (() => void) | undefined;
  const whenSettled = () =>
    new Promise<void>((resolve) => {
      settled = resolve;
    });
  // Ctrl-C ends the input as Ctrl-D would: the lines read so far are still delivered and summarised.
  let interrupted = false;
  const removeInterruptHandler = onInterrupt(() => {
    interrupted = true;
    input.destroy();
  });
  try {
    for await (const lines of readLines(input, () => interrupted)) {
      const messages: ProducerMessage<Buffer, Buffer>[] = [];
      let bytes = 0;
      for (const line of lines) {
        if (options.skipEmpty && line.length === 0) continue;
        const message = toMessage(line, options);
        bytes += line.length - (message.key && options.separator ? options.separator.length : 0);
        messages.push(message);
      }
      if (messages.length === 0) continue;
      inFlight++;
      producer
        .send({ topic, messages })
        .then(
          (stored) => {
            stats.messages += stored.length;
            stats.bytes += bytes;
            for (const { partition } of stored) {
              stats.partitions.set(partition, (stats.partitions.get(partition) ?? 0) + 1);
            }
          },
          (error: unknown) => {
            failure ??= error;
          },
        )
        .finally(() => {
          inFlight--;
          settled?.();
        });
      while (inFlight >= MAX_SENDS_IN_FLIGHT && failure === undefined) await whenSettled();
      if (failure !== undefined) break;
    }
    await producer.flush();
    while (inFlight > 0) await whenSettled();
  } finally {
    removeInterruptHandler();
    progress.stop();
  }
  if (failure !== undefined) throw failure;
  stats.seconds = (performance.now() - startedAt) / 1000;
  return stats;
}

/** The input's lines; an input destroyed by Ctrl-C simply ends. */
async function* readLines(input: Readable, interrupted: () => boolean): AsyncGenerator<Buffer[]> {
  try {
    yield* lineBatches(input);
  } catch (error) {
    if (!interrupted()) throw error;
  }
}

function toMessage(line: Buffer, options: LineOptions): ProducerMessage<Buffer, Buffer> {
  let key: Buffer | null = null;
  let value = line;
  if (options.separator) {
    const at = line.indexOf(options.separator);
    if (at !== -1) {
      key = line.subarray(0, at);
      value = line.subarray(at + options.separator.length);
    }
  }
  const message: ProducerMessage<Buffer, Buffer> = { key, value };
  if (options.headers.length > 0) message.headers = options.headers;
  if (options.partition !== undefined) message.partition = options.partition;
  return message;
}

function rate(messages: number, seconds: number): string {
  return seconds > 0 ? Math.round(messages / seconds).toLocaleString("en-US") : "-";
}

function printSummary(topic: string, stats: ProduceStats, json: boolean): void {
  const seconds = Math.round(stats.seconds * 1000) / 1000;
  if (json) {
    const partitions = Object.fromEntries([...stats.partitions].sort(([a], [b]) => a - b));
    printJson({ topic, messages: stats.messages, bytes: stats.bytes, seconds, partitions });
    return;
  }
  process.stdout.write(
    `produced ${stats.messages.toLocaleString("en-US")} message${stats.messages === 1 ? "" : "s"} (${formatBytes(stats.bytes)}) to ${topic} in ${stats.seconds.toFixed(2)} s (${rate(stats.messages, stats.seconds)} msg/s)\n`,
  );
}
