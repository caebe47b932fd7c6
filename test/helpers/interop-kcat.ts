// kcat (librdkafka 2.0.2) as a producer, consumer and metadata client for interop tests.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import type { ConsumedMessage, HeaderPair, Message } from "./interop-messages.js";
import { runProgram } from "./interop-process.js";
import { hasProgram } from "./requirements.js";

export const KCAT = "kcat";
export const hasKcat = () => hasProgram(KCAT, ["-V"]);

export type Compression = "gzip" | "snappy" | "lz4" | "zstd";

export interface KcatProduceOptions {
  compression?: Compression;
  /** Produce everything to this partition; default: partition by key. */
  partition?: number;
  /** More librdkafka properties (-X). */
  config?: Record<string, string>;
}

/** What kcat -P -K '\t' reads: one "key<TAB>value" line per message. */
function asLines(messages: readonly Message[]): string {
  return messages.map((m) => `${m.key ?? ""}\t${m.value ?? ""}\n`).join("");
}

function configArgs(config: Record<string, string> = {}): string[] {
  return Object.entries(config).flatMap(([name, value]) => ["-X", `${name}=${value}`]);
}

/**
 * Produces keyed messages, one line each ("key<TAB>value"), and resolves once kcat exits,
 * which it does after every message is acknowledged (it exits non-zero if one failed). Keys
 * are partitioned like the Java client does (murmur2_random), not by librdkafka's default
 * CRC-32, so the test can predict where each key lands. kcat gives every message the same
 * headers (-H), so the messages must all have the same ones.
 */
export async function kcatProduce(
  bootstrap: string,
  topic: string,
  messages: readonly Message[],
  options: KcatProduceOptions = {},
): Promise<void> {
  const args = ["-b", bootstrap, "-P", "-t", topic, "-K", "\t", "-X", "partitioner=murmur2_random"];
  const headers = messages[0]?.headers ?? [];
  for (const message of messages)
    assert.deepEqual(message.headers, headers, "kcat sends the same headers with every message");
  for (const [key, value] of headers) args.push("-H", `${key}=${value}`);
  if (options.compression) args.push("-z", options.compression);
  if (options.partition !== undefined) args.push("-p", String(options.partition));
  args.push(...configArgs({ acks: "all", ...options.config }));
  await runProgram(KCAT, args, { input: asLines(messages) });
}

export interface KcatConsumeOptions {
  /** kcat's -o: "beginning" (default), an absolute offset, "s@<ms>"... */
  offset?: string;
  /** Only this partition; default all. */
  partition?: number;
  /** Wait for this many messages (-c), however long they take, instead of stopping at the end (-e). */
  count?: number;
  config?: Record<string, string>;
}

// Tab-separated: partition, offset, timestamp, key length (-1 = null), key, value length, value, headers.
const FORMAT = "%p\\t%o\\t%T\\t%K\\t%k\\t%S\\t%s\\t%h\\n";

/** Reads a topic from the given offset to its end (-e) and returns the messages in the order kcat printed them. */
export async function kcatConsume(
  bootstrap: string,
  topic: string,
  options: KcatConsumeOptions = {},
): Promise<ConsumedMessage[]> {
  const stop = options.count === undefined ? ["-e"] : ["-c", String(options.count)];
  const args = ["-b", bootstrap, "-C", "-t", topic, ...stop, "-q", "-f", FORMAT, "-o", options.offset ?? "beginning"];
  if (options.partition !== undefined) args.push("-p", String(options.partition));
  // librdkafka then verifies the CRC of every batch it reads: what brook stored and patched must still check out.
  args.push(...configArgs({ "check.crcs": "true", ...options.config }));
  const { stdout } = await runProgram(KCAT, args);
  return stdout
    .split("\n")
    .slice(0, -1)
    .map((line) => parseConsumedLine(line));
}

function parseConsumedLine(line: string): ConsumedMessage {
  const fields = line.split("\t");
  if (fields.length !== 8) throw new Error(`unexpected kcat output line: ${JSON.stringify(line)}`);
  const [partition, offset, timestamp, keyLength, key, valueLength, value, headers] = fields as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  return {
    partition: Number(partition),
    offset: Number(offset),
    timestamp: Number(timestamp),
    key: keyLength === "-1" ? null : key,
    value: valueLength === "-1" ? null : value,
    headers: headers === "" ? [] : headers.split(",").map((pair) => splitHeader(pair)),
  };
}

function splitHeader(pair: string): HeaderPair {
  const at = pair.indexOf("=");
  return at < 0 ? [pair, ""] : [pair.slice(0, at), pair.slice(at + 1)];
}

export interface KcatMetadata {
  brokers: { id: number; name: string }[];
  topics: {
    topic: string;
    error?: string;
    partitions: { partition: number; leader: number; replicas: { id: number }[]; isrs: { id: number }[] }[];
  }[];
}

/** `kcat -L -J`: the cluster as librdkafka sees it. */
export async function kcatMetadata(
  bootstrap: string,
  topic?: string,
  config?: Record<string, string>,
): Promise<KcatMetadata> {
  const args = ["-b", bootstrap, "-L", "-J", ...configArgs(config)];
  if (topic !== undefined) args.push("-t", topic);
  const { stdout } = await runProgram(KCAT, args);
  return JSON.parse(stdout) as KcatMetadata;
}

/** `kcat -Q`: the offset ListOffsets gives for a timestamp (or -1 latest, -2 earliest). */
export async function kcatOffsetForTime(
  bootstrap: string,
  topic: string,
  partition: number,
  timestamp: number,
): Promise<number> {
  const { stdout } = await runProgram(KCAT, ["-b", bootstrap, "-Q", "-t", `${topic}:${partition}:${timestamp}`]);
  const match = /\[(\d+)\]\s+offset\s+(-?\d+)/.exec(stdout);
  if (!match || Number(match[1]) !== partition) throw new Error(`unexpected kcat -Q output: ${stdout}`);
  return Number(match[2]);
}

export interface KcatProducer {
  /** Queues messages on kcat's stdin, keyed lines as kcatProduce writes them. */
  write(messages: readonly Message[]): void;
  /** Closes stdin and resolves once kcat has delivered everything and exited with status 0. */
  finish(): Promise<void>;
  /** Kills kcat if it still runs (SIGKILL: kcat answers SIGTERM by waiting for its deliveries). */
  kill(): void;
}

/**
 * A kcat producer that keeps running while the test feeds it, e.g. across a broker restart.
 * -E keeps it alive while the broker is down: librdkafka retries until message.timeout.ms.
 */
export function startKcatProducer(bootstrap: string, topic: string, config: Record<string, string> = {}): KcatProducer {
  const args = ["-b", bootstrap, "-P", "-E", "-t", topic, "-K", "\t", ...configArgs({ acks: "all", ...config })];
  const child = spawn(KCAT, args, { stdio: ["pipe", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk) => {
    stderr += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)));
  // Writes to a kcat that died fail with EPIPE; its exit status is what finish() reports.
  child.stdin.on("error", () => {});
  return {
    write(messages) {
      child.stdin.write(asLines(messages));
    },
    async finish() {
      child.stdin.end();
      const code = await exited;
      if (code !== 0) throw new Error(`kcat producer exited with ${code}: ${stderr}`);
    },
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    },
  };
}
