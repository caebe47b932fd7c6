// The fallback load generator: kcat (librdkafka's command-line client, a Debian package), so
// that the broker benchmark runs where ../shared/tools is not checked out. Its figures are
// coarser than kafka-bench's: a produce is timed from starting kcat to its exit, a consume from
// kcat's first output to its exit, and latency through two pipes into this process.
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, renameSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type Acks,
  type LatencyOptions,
  type LatencyResult,
  type LoadGenerator,
  type ProduceConsumeResult,
  type Target,
  type Throughput,
  topicName,
  type Workload,
} from "./load-generator.js";

/** kafka-bench's producer settings, so that both generators send the same batches. */
const PRODUCER_SETTINGS = [
  "linger.ms=5",
  "batch.size=1000000",
  "compression.codec=none",
  "queue.buffering.max.messages=2000000",
  "queue.buffering.max.kbytes=2097152",
  "socket.nagle.disable=true",
];
const PAYLOAD_DIRECTORY = join(tmpdir(), "brook-bench-payloads");
const RUN_TIMEOUT_MS = 300_000;
/** How long the latency run waits for its consumer to join, and then for the last messages. */
const JOIN_TIMEOUT_MS = 60_000;
const DRAIN_TIMEOUT_MS = 10_000;
const LATENCY_MESSAGE_SIZE = 100;

export class Kcat implements LoadGenerator {
  readonly spreadsOverPartitions = false;

  constructor(
    private readonly binary: string,
    readonly description: string,
  ) {}

  async produceConsume(
    target: Target,
    workload: Workload,
    acks: Acks,
    messages: number,
  ): Promise<ProduceConsumeResult> {
    const topic = topicName(workload.name, acks, target.runId);
    const payloads = payloadFile(messages, workload.size);
    const settings = [...PRODUCER_SETTINGS, `acks=${acks}`];
    const producer = this.spawn(["-P", "-b", target.bootstrap, "-t", topic, "-l", payloads, ...configArgs(settings)]);
    const produceStart = performance.now();
    await exitOf(producer, "kcat -P");
    const produce = throughput(messages, workload.size, (performance.now() - produceStart) / 1000);

    // Each message prints as its length: few bytes through the pipe, and a check of every payload.
    const consumer = this.spawn([
      ...groupConsumerArgs(target.bootstrap, topic, ["auto.offset.reset=earliest"]),
      "-c",
      String(messages),
      "-f",
      "%S\n",
    ]);
    const consumeStart = performance.now();
    let firstOutputAt: number | undefined;
    let received = 0;
    let wrongSizes = 0;
    let partialLine = "";
    consumer.stdout.on("data", (chunk: Buffer) => {
      firstOutputAt ??= performance.now();
      const lines = (partialLine + chunk.toString("latin1")).split("\n");
      partialLine = lines.pop()!;
      for (const line of lines) {
        received++;
        if (Number(line) !== workload.size) wrongSizes++;
      }
    });
    await exitOf(consumer, "kcat -G");
    const end = performance.now();
    if (received !== messages || wrongSizes > 0) {
      throw new Error(`kcat consumed ${received} of ${messages} messages, ${wrongSizes} of the wrong size`);
    }
    const firstAt = firstOutputAt ?? end;
    return {
      produce,
      consume: throughput(messages, workload.size, (end - firstAt) / 1000),
      joinMs: firstAt - consumeStart,
    };
  }

  /**
   * Writes timestamped lines into a kcat producer's stdin at the rate, and reads them back from
   * a kcat group consumer's stdout; the delay is taken with this process's clock at both ends.
   * Warm-up messages are sent until the consumer has joined and received one.
   */
  async latency(target: Target, options: LatencyOptions): Promise<LatencyResult> {
    const topic = topicName("latency", "1", target.runId);
    const settings = [...PRODUCER_SETTINGS, "acks=1", `linger.ms=${options.lingerMs}`];
    const producerArgs = ["-P", "-b", target.bootstrap, "-t", topic, ...configArgs(settings)];
    const timestampedLine = (kind: "W" | "T") =>
      `${`${kind}${process.hrtime.bigint()}`.padEnd(LATENCY_MESSAGE_SIZE, ".")}\n`;
    // kcat -G gives up on a topic that does not exist yet: a first warm-up message creates it.
    const creator = this.spawn(producerArgs);
    creator.stdin.end(timestampedLine("W"));
    await exitOf(creator, "kcat -P");

    const producer = this.spawn(producerArgs);
    const producerExit = exitOf(producer, "kcat -P");
    const send = (kind: "W" | "T") => producer.stdin.write(timestampedLine(kind));
    const consumer = this.spawn([
      ...groupConsumerArgs(target.bootstrap, topic, [`fetch.wait.max.ms=${options.fetchWaitMs}`]),
      "-u",
      "-f",
      "%s\n",
    ]);
    const consumerExit = exitOf(consumer, "kcat -G").catch(() => undefined);
    const delaysNs: bigint[] = [];
    let joined = false;
    let partialLine = "";
    consumer.stdout.on("data", (chunk: Buffer) => {
      const now = process.hrtime.bigint();
      const lines = (partialLine + chunk.toString("latin1")).split("\n");
      partialLine = lines.pop()!;
      for (const line of lines) {
        if (line.startsWith("W")) joined = true;
        else if (line.startsWith("T")) delaysNs.push(now - BigInt(line.slice(1, line.indexOf("."))));
      }
    });

    try {
      await until(
        () => joined,
        JOIN_TIMEOUT_MS,
        () => send("W"),
      );
      const total = Math.round(options.rate * options.durationSeconds);
      const startedAt = performance.now();
      let sent = 0;
      await until(
        () => sent >= total,
        options.durationSeconds * 1000 + JOIN_TIMEOUT_MS,
        () => {
          const due = Math.min(total, Math.floor(((performance.now() - startedAt) * options.rate) / 1000));
          for (; sent < due; sent++) send("T");
        },
      );
      // kcat sends the last lines it has read when its input ends.
      producer.stdin.end();
      await until(
        () => delaysNs.length >= total,
        DRAIN_TIMEOUT_MS,
        () => undefined,
      );
    } finally {
      producer.stdin.end();
      await producerExit.catch(() => undefined);
      consumer.kill("SIGTERM");
      await consumerExit;
    }
    const sorted = delaysNs.map((ns) => Number(ns) / 1e6).sort((a, b) => a - b);
    const at = (p: number) => sorted[Math.round(p * (sorted.length - 1))] ?? Number.NaN;
    return { p50Ms: at(0.5), p99Ms: at(0.99), maxMs: at(1), received: sorted.length };
  }

  private spawn(args: string[]): ChildProcessWithoutNullStreams {
    return spawn(this.binary, ["-q", ...args], { stdio: "pipe" });
  }
}

function configArgs(settings: readonly string[]): string[] {
  return settings.flatMap((setting) => ["-X", setting]);
}

/** A new group (kafka-bench's naming) consuming `topic`. */
function groupConsumerArgs(bootstrap: string, topic: string, settings: readonly string[]): string[] {
  return ["-b", bootstrap, "-G", `group-${topic}`, ...configArgs(["socket.nagle.disable=true", ...settings]), topic];
}

function throughput(messages: number, size: number, seconds: number): Throughput {
  return { messages, seconds, msgsPerSec: messages / seconds, mbPerSec: (messages * size) / seconds / 1e6 };
}

/** Resolves when the process exits with status 0; rejects otherwise or after RUN_TIMEOUT_MS. */
function exitOf(child: ChildProcessWithoutNullStreams, what: string): Promise<void> {
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk;
  });
  return new Promise((resolve, reject) => {
    const guard = setTimeout(() => child.kill("SIGKILL"), RUN_TIMEOUT_MS);
    child.once("error", reject);
    child.once("exit", (code, signal) => {
      clearTimeout(guard);
      if (code === 0) resolve();
      else reject(new Error(`${what} failed (${code ?? signal}): ${stderr.trim().split("\n").slice(-3).join(" / ")}`));
    });
  });
}

/** Calls `step` every millisecond until `done()`; rejects after `timeoutMs`. */
function until(done: () => boolean, timeoutMs: number, step: () => void): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      step();
      if (done()) {
        clearInterval(timer);
        resolve();
      } else if (performance.now() > deadline) {
        clearInterval(timer);
        reject(new Error("kcat latency run timed out"));
      }
    }, 1);
  });
}

/**
 * A file of `messages` lines of `size` bytes each (kcat -l sends one message per line), made
 * once and kept in the temporary directory for later runs.
 */
function payloadFile(messages: number, size: number): string {
  const path = join(PAYLOAD_DIRECTORY, `${messages}x${size}.txt`);
  if (existsSync(path)) return path;
  mkdirSync(PAYLOAD_DIRECTORY, { recursive: true });
  const line = Buffer.alloc(size + 1);
  for (let i = 0; i < size; i++) line[i] = 0x61 + (i % 26);
  line[size] = 0x0a;
  const linesPerWrite = Math.max(1, Math.floor((4 << 20) / line.length));
  const block = Buffer.concat(Array.from({ length: linesPerWrite }, () => line));
  const partial = `${path}.${process.pid}.tmp`;
  const fd = openSync(partial, "w");
  try {
    for (let written = 0; written < messages; written += linesPerWrite) {
      const lines = Math.min(linesPerWrite, messages - written);
      writeSync(fd, block, 0, lines * line.length);
    }
  } finally {
    closeSync(fd);
  }
  renameSync(partial, path);
  return path;
}
