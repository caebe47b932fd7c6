// The load generators of the broker benchmark: what a workload run returns, and kafka-bench
// (a librdkafka program in ../shared/tools) driving it. load-generator-kcat.ts does the same
// with kcat, for machines without ../shared.
import { spawn } from "node:child_process";

export type Acks = "1" | "all";

export interface Workload {
  /** kafka-bench's name for it, also part of the topic names. */
  name: "1m-100b" | "200k-1k" | "20k-10k";
  messages: number;
  /** Payload bytes per message. */
  size: number;
}

export const THROUGHPUT_WORKLOADS: readonly Workload[] = [
  { name: "1m-100b", messages: 1_000_000, size: 100 },
  { name: "200k-1k", messages: 200_000, size: 1024 },
  { name: "20k-10k", messages: 20_000, size: 10 * 1024 },
];

/** A broker to drive, and how to name the topics of this run. */
export interface Target {
  bootstrap: string;
  /** Partitions of the topics the load generator creates (or finds created). */
  partitions: number;
  /** Makes topic names unique per run and predictable (see topicName). */
  runId: string;
}

export interface Throughput {
  messages: number;
  seconds: number;
  msgsPerSec: number;
  mbPerSec: number;
}

export interface ProduceConsumeResult {
  produce: Throughput;
  /** A one-member consumer group reading everything back, timed from its first message to its last. */
  consume: Throughput;
  /** From creating the consumer (a new group) to its first message: join, sync, offset lookups, first fetch. */
  joinMs: number;
}

export interface LatencyOptions {
  /** Messages per second, of 100 B each. */
  rate: number;
  durationSeconds: number;
  /** The consumer's fetch.wait.max.ms: the broker's long poll must answer sooner when data arrives. */
  fetchWaitMs: number;
  /** The producer's linger.ms. */
  lingerMs: number;
}

export interface LatencyResult {
  /** Produce-to-consume delay percentiles over every timed message, in milliseconds. */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  received: number;
}

export interface LoadGenerator {
  /** For the report: the program and how it was found. */
  readonly description: string;
  /**
   * Whether a produce can be spread evenly over many partitions (in contiguous ranges, so that
   * batches stay as large as with one). The mock cluster keeps only 5 MB per partition, so the
   * throughput workloads can be run against it only then.
   */
  readonly spreadsOverPartitions: boolean;
  /** Produces `messages` of `workload.size` with acks, then consumes them back as a new group. */
  produceConsume(target: Target, workload: Workload, acks: Acks, messages: number): Promise<ProduceConsumeResult>;
  /** A fixed-rate producer and a group consumer running together (acks=1, 100 B messages). */
  latency(target: Target, options: LatencyOptions): Promise<LatencyResult>;
}

/** The topic a run produces to: kafka-bench's naming, which the mock cluster's topics are created with. */
export function topicName(workload: string, acks: Acks, runId: string): string {
  return `kbench-${workload}-acks${acks}-${runId}`;
}

/** The slowest a phase may be before the run counts as failed (kafka-bench's --timeout). */
const PHASE_TIMEOUT_SECONDS = 120;

/** kafka-bench: produce/consume phases and latency runs, each reporting one JSON line. */
export class KafkaBench implements LoadGenerator {
  readonly spreadsOverPartitions = true;

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
    const lines = await this.run([
      ...this.targetArgs(target),
      "--workload",
      workload.name,
      "--acks",
      acks,
      "--messages",
      String(messages),
    ]);
    const produce = lines.find((line) => line.phase === "produce");
    const consume = lines.find((line) => line.phase === "consume");
    if (!produce || !consume) throw new Error("kafka-bench reported no consume phase");
    return {
      produce: throughputOf(produce, Number(produce.acked)),
      consume: throughputOf(consume, Number(consume.received)),
      joinMs: Number(consume.join_seconds) * 1000,
    };
  }

  async latency(target: Target, options: LatencyOptions): Promise<LatencyResult> {
    const lines = await this.run([
      ...this.targetArgs(target),
      "--workload",
      "latency",
      "--acks",
      "1",
      "--rate",
      String(options.rate),
      "--duration",
      String(options.durationSeconds),
      "--fetch-wait-ms",
      String(options.fetchWaitMs),
      "--linger-ms",
      String(options.lingerMs),
    ]);
    const latency = lines.find((line) => line.phase === "latency");
    if (!latency) throw new Error("kafka-bench reported no latency phase");
    return {
      p50Ms: Number(latency.p50_ms),
      p99Ms: Number(latency.p99_ms),
      maxMs: Number(latency.max_ms),
      received: Number(latency.received),
    };
  }

  private targetArgs(target: Target): string[] {
    return [
      "--bootstrap",
      target.bootstrap,
      "--partitions",
      String(target.partitions),
      "--run-id",
      target.runId,
      "--timeout",
      String(PHASE_TIMEOUT_SECONDS),
    ];
  }

  /** Runs kafka-bench and returns its JSON lines; rejects when it reports a lost, failed or late message. */
  private run(args: string[]): Promise<Record<string, unknown>[]> {
    return new Promise((resolve, reject) => {
      const child = spawn(this.binary, args, { stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (chunk: Buffer) => {
        stdout += chunk;
      });
      child.stderr.on("data", (chunk: Buffer) => {
        stderr += chunk;
      });
      // Every phase is bounded by --timeout; this only guards against a hung process.
      const guard = setTimeout(() => child.kill("SIGKILL"), (3 * PHASE_TIMEOUT_SECONDS + 60) * 1000);
      child.once("error", reject);
      child.once("exit", (code, signal) => {
        clearTimeout(guard);
        if (code === 0) {
          resolve(
            stdout
              .split("\n")
              .filter((line) => line.startsWith("{"))
              .map((line) => JSON.parse(line) as Record<string, unknown>),
          );
        } else {
          const tail = stderr.trim().split("\n").slice(-4).join(" / ");
          reject(new Error(`kafka-bench ${args.join(" ")} failed (${code ?? signal}): ${tail}`));
        }
      });
    });
  }
}

function throughputOf(line: Record<string, unknown>, messages: number): Throughput {
  return {
    messages,
    seconds: Number(line.seconds),
    msgsPerSec: Number(line.msgs_per_s),
    mbPerSec: Number(line.mb_per_s),
  };
}
