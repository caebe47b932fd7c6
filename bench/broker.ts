// Broker benchmark: a real brook process (`brook start`, with --fsync never and --fsync always)
// driven by a librdkafka-based load generator, next to librdkafka's in-memory mock cluster as the
// reference, in the same run. What each part measures and the goals are in bench/README.md.
//
//   npm run bench:broker [-- --quick] [-- --help]
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import {
  type BrookProcess,
  type FsyncMode,
  killAll,
  residentBytes,
  startBrook,
  startMockCluster,
} from "./broker-process.js";
import { findKcat, findSharedTool, KAFKA_BENCH, MOCK_CLUSTER } from "./broker-tools.js";
import { brookClientFirstMessageMs } from "./join-brook-client.js";
import {
  type Acks,
  KafkaBench,
  type LatencyOptions,
  type LoadGenerator,
  type Target,
  THROUGHPUT_WORKLOADS,
  topicName,
  type Workload,
} from "./load-generator.js";
import { Kcat } from "./load-generator-kcat.js";
import { type Column, formatBytes, printTable, significant } from "./table.js";

const HELP = `usage: node dist/bench/broker.js [options]
  --quick                 workloads at 1/5 size, one run each: a smoke test of 2 minutes (full: ~12)
  --runs N                runs of each throughput and latency measurement (default 3, quick 1)
  --only LIST             sections to run, comma-separated: startup,throughput,latency,log (default all)
  --kafka-bench PATH      the kafka-bench binary (else $KAFKA_BENCH, else built from ../shared/tools)
  --mock-cluster PATH     the mock-cluster binary (else $MOCK_CLUSTER, else built from ../shared/tools)
  --kcat                  use kcat as the load generator even when kafka-bench is available
  --no-mock               skip the mock cluster reference
  --cpu-prof DIR          brook processes write V8 CPU profiles into DIR`;

type Section = "startup" | "throughput" | "latency" | "log";
const SECTIONS: readonly Section[] = ["startup", "throughput", "latency", "log"];

/**
 * Where a workload runs: brook with one fsync policy on the reference's topic layout, the mock
 * cluster, or brook (--fsync never) on the one-partition topics users get by default.
 */
type TargetKind = FsyncMode | "mock" | "one-partition";
const BROOK_MODES: readonly FsyncMode[] = ["never", "always"];
const ACKS: readonly Acks[] = ["1", "all"];

/**
 * The mock cluster keeps only the last 5 MB of a partition, so the throughput workloads are
 * spread over this many partitions, each taking a contiguous range of the messages. brook is
 * judged on the same layout, so that the load generator does the same work against both (which
 * partition each message goes to, how many batches share a request): on these shared cores its
 * work is most of what is measured.
 */
const THROUGHPUT_PARTITIONS = 64;
/** What users get by default; brook is also measured on it, for information. */
const DEFAULT_PARTITIONS = 1;

const MB = 1e6;
const MiB = 1024 * 1024;

interface Scale {
  runs: number;
  /** Fraction of each throughput workload's message count. */
  workloadFraction: number;
  latencySeconds: number;
  startups: number;
  /** The large-log section writes (and reads back) this much, in LOG_STEPS equal steps. */
  logBytes: number;
}

const FULL: Scale = { runs: 3, workloadFraction: 1, latencySeconds: 10, startups: 7, logBytes: 2048 * MiB };
const QUICK: Scale = { runs: 1, workloadFraction: 0.2, latencySeconds: 5, startups: 3, logBytes: 256 * MiB };

const LOG_STEPS = 4;
/** Segments of the large log: small enough that the log spans many of them, as a long-lived one does. */
const LOG_SEGMENT_BYTES = 128 * MiB;
const LOG_WORKLOAD: Workload = THROUGHPUT_WORKLOADS.find((w) => w.name === "20k-10k")!;
/** RSS is read after this much idle time, once start-up work and the last requests have settled. */
const SETTLE_MS = 1000;

/** Every broker process, brook or mock, first takes this much unmeasured traffic (see warmUp). */
const WARM_UP_WORKLOAD: Workload = THROUGHPUT_WORKLOADS.find((w) => w.name === "1m-100b")!;
const WARM_UP_MESSAGES = 200_000;

/** brook's client joins a new group on this workload's acks=1 topic, once per run and target. */
const BROOK_CLIENT_JOIN_WORKLOAD: Workload = THROUGHPUT_WORKLOADS.find((w) => w.name === "20k-10k")!;
/** The mock holds a new group's first join for 3 s (its initial rebalance delay). */
const JOIN_TIMEOUT_MS = 30_000;

const LATENCY_RATE = 10_000;
/** librdkafka's defaults: what "the clients' default fetch wait" means in the goal. */
const DEFAULT_FETCH_WAIT_MS = 500;
const DEFAULT_LINGER_MS = 5;
/**
 * The mock answers an empty Fetch only at fetch.wait.max.ms, never sooner when data arrives, so
 * it is measured with the smallest wait instead (it would be ~500 ms otherwise).
 */
const MOCK_FETCH_WAIT_MS = 1;

/**
 * The latency runs: as the goal states it, and without producer linger, which shows the broker's
 * own share (linger alone delays a message by up to 5 ms). The mock is left out of the second:
 * polling every millisecond with a request per message overwhelms it (p50 ~600 ms).
 */
const LATENCY_VARIANTS = [
  { key: "default", lingerMs: DEFAULT_LINGER_MS, title: "linger.ms 5", withMock: true },
  { key: "linger0", lingerMs: 0, title: "linger.ms 0", withMock: false },
] as const;

/** What the table cannot say by itself: the limits the clients put on two of the goals. */
const FOOTNOTES: [Section, string][] = [
  [
    "throughput",
    "join to first message: from creating the consumer of a new group to its first message (kafka-bench's " +
      "join_seconds; with kcat, from starting kcat to its first output). " +
      "librdkafka 2.0.2 waits 100 ms before it looks up the offset to start from when the group has no committed " +
      "offset (its offset-reset backoff), so about 100 ms of every figure is the client's; the mock adds its 3 s " +
      "initial rebalance delay. brook's own client, timed the same way (from creating the consumer, in a fresh " +
      "process), has no such backoff: its rows come closer to the broker's share, plus what a new Node process " +
      "takes to compile the client and receive its first fetch.",
  ],
  [
    "latency",
    "e2e latency p50 / p99 / max: linger.ms 5 (librdkafka's default, kafka-bench's latency workload) holds each " +
      "message up to 5 ms in the producer, so p99 <= 5 ms is out of reach for any broker at those settings; the " +
      "linger.ms 0 rows show the broker's own share. The mock is measured with a 1 ms fetch wait (it does not answer " +
      "a waiting fetch when data arrives).",
  ],
];

const GOALS = {
  produceNever: 1.0,
  produceAlways: 0.8,
  consume: 1.5,
  latencyP99Ms: 5,
  joinMs: 100,
  startupMs: 300,
  idleRssBytes: 100 * MB,
};

interface Options {
  scale: Scale;
  quick: boolean;
  sections: Set<Section>;
  kafkaBench: string | undefined;
  mockCluster: string | undefined;
  forceKcat: boolean;
  mock: boolean;
  cpuProfileDirectory: string | undefined;
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      quick: { type: "boolean", default: false },
      runs: { type: "string" },
      only: { type: "string" },
      "kafka-bench": { type: "string" },
      "mock-cluster": { type: "string" },
      kcat: { type: "boolean", default: false },
      "no-mock": { type: "boolean", default: false },
      "cpu-prof": { type: "string" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    process.exit(0);
  }
  const scale = { ...(values.quick ? QUICK : FULL) };
  if (values.runs !== undefined) {
    scale.runs = Number(values.runs);
    if (!Number.isInteger(scale.runs) || scale.runs < 1) throw new Error("--runs takes a positive integer");
  }
  const sections = new Set((values.only?.split(",") ?? SECTIONS) as Section[]);
  for (const section of sections) {
    if (!SECTIONS.includes(section)) throw new Error(`--only: unknown section ${section} (${SECTIONS.join(", ")})`);
  }
  return {
    scale,
    quick: values.quick,
    sections,
    kafkaBench: values["kafka-bench"],
    mockCluster: values["mock-cluster"],
    forceKcat: values.kcat,
    mock: !values["no-mock"],
    cpuProfileDirectory: values["cpu-prof"],
  };
}

/** Measurements by name, several runs each; the report uses their medians. */
class Samples {
  private readonly values = new Map<string, number[]>();
  private readonly failures = new Map<string, number>();

  add(key: string, value: number): void {
    const list = this.values.get(key) ?? [];
    list.push(value);
    this.values.set(key, list);
  }

  fail(key: string): void {
    this.failures.set(key, (this.failures.get(key) ?? 0) + 1);
  }

  median(key: string): number | undefined {
    const sorted = [...(this.values.get(key) ?? [])].sort((a, b) => a - b);
    if (sorted.length === 0) return undefined;
    const middle = Math.floor(sorted.length / 2);
    return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1]! + sorted[middle]!) / 2;
  }

  failed(key: string): number {
    return this.failures.get(key) ?? 0;
  }
}

const log = (line: string) => process.stderr.write(`${line}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
function describeTarget(kind: TargetKind): string {
  if (kind === "mock") return "mock cluster";
  if (kind === "one-partition") return "brook, 1 partition";
  return `brook --fsync ${kind}`;
}

function scaled(workload: Workload, scale: Scale): number {
  return Math.round(workload.messages * scale.workloadFraction);
}

function workloadTitle(messages: number, size: number): string {
  const sizeText = size >= 1024 ? `${size / 1024} KiB` : `${size} B`;
  return `${messages.toLocaleString("en-US")} × ${sizeText}`;
}

/** kafka-bench when it can be found or built, else kcat. */
function chooseLoadGenerator(options: Options): LoadGenerator {
  const notes: string[] = [];
  if (!options.forceKcat) {
    const kafkaBench = findSharedTool(KAFKA_BENCH, options.kafkaBench);
    if (kafkaBench.found) return new KafkaBench(kafkaBench.path, `kafka-bench ${kafkaBench.path} (${kafkaBench.how})`);
    notes.push(`kafka-bench unavailable: ${kafkaBench.why}`);
  }
  const kcat = findKcat();
  if (!kcat.found) throw new Error(`no load generator: ${[...notes, kcat.why].join("; ")}`);
  return new Kcat(kcat.path, `kcat ${kcat.path}${notes.length > 0 ? ` (${notes.join("; ")})` : ""}`);
}

/**
 * Writes back what the page cache holds (sync(1)) before a measured run, so that the disk writes
 * one broker left behind do not land in the next one's measurement. brook with --fsync never
 * leaves hundreds of MB dirty per workload; the kernel would write them back at some later run.
 */
function flushDirtyPages(): void {
  spawnSync("sync");
}

function temporaryDirectory(purpose: string): string {
  return mkdtempSync(join(tmpdir(), `brook-bench-${purpose}-`));
}

function directoryBytes(path: string): number {
  let total = 0;
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    const child = join(path, entry.name);
    total += entry.isDirectory() ? directoryBytes(child) : statSync(child).size;
  }
  return total;
}

class BrokerBenchmark {
  private readonly samples = new Samples();
  private readonly notes: string[] = [];
  private logRows: string[][] = [];
  /** The throughput workloads' topic layout: the mock's when it is measured, else the default. */
  private throughputPartitions = DEFAULT_PARTITIONS;
  /** One-minute load averages, to show how busy the machine was beside the benchmark. */
  private loadAtStart = 0;

  constructor(
    private readonly options: Options,
    private readonly generator: LoadGenerator,
    /** The mock-cluster binary, or why there is none. */
    private readonly mock: { binary: string } | { missing: string },
  ) {}

  private get mockBinary(): string | undefined {
    return "binary" in this.mock ? this.mock.binary : undefined;
  }

  async run(): Promise<void> {
    const { sections } = this.options;
    this.loadAtStart = loadavg()[0]!;
    if (sections.has("startup")) await this.measureStartup();
    if (sections.has("throughput")) await this.measureThroughput();
    if (sections.has("latency")) await this.measureLatency();
    if (sections.has("log")) await this.measureLargeLog();
    this.printReport();
  }

  private brook(fsync: FsyncMode, dataDir: string, args: string[] = []): Promise<BrookProcess> {
    return startBrook({ dataDir, fsync, args, cpuProfileDirectory: this.options.cpuProfileDirectory });
  }

  /** Process start to first accepted connection, on an empty data directory; RSS once idle. */
  private async measureStartup(): Promise<void> {
    log(`start-up: ${this.options.scale.startups} starts of brook on an empty data directory`);
    for (let i = 0; i < this.options.scale.startups; i++) {
      const dataDir = temporaryDirectory("startup");
      const brook = await this.brook("always", dataDir);
      await sleep(SETTLE_MS);
      const rss = residentBytes(brook.pid);
      await brook.stop();
      rmSync(dataDir, { recursive: true, force: true });
      this.samples.add("startup", brook.startupMs);
      if (rss !== undefined) this.samples.add("idleRss", rss);
      log(`  start ${i + 1}: ${brook.startupMs.toFixed(0)} ms, idle RSS ${formatRss(rss)}`);
    }
  }

  /**
   * The brokers (one per fsync policy, on empty data directories) run through the whole section,
   * as a broker runs for days; the mock restarts every run, for it keeps every message in memory.
   * Each run alternates between them workload by workload, so that whatever else the machine
   * does at a moment touches all of them alike.
   */
  private async measureThroughput(): Promise<void> {
    const { scale } = this.options;
    const mockUsable = this.mockBinary !== undefined && this.generator.spreadsOverPartitions;
    if (this.mockBinary !== undefined && !mockUsable) {
      this.notes.push(
        "The mock cluster is not measured on the throughput workloads: kcat cannot spread a produce over the " +
          `${THROUGHPUT_PARTITIONS} partitions the mock needs (it keeps 5 MB per partition). Use kafka-bench for the ratios.`,
      );
    }
    // Without the mock there is no layout to match: brook runs on the default one only.
    const partitions = mockUsable ? THROUGHPUT_PARTITIONS : DEFAULT_PARTITIONS;
    this.throughputPartitions = partitions;
    await this.withBrooks(async (brooks) => {
      for (let run = 1; run <= scale.runs; run++) {
        log(`throughput run ${run}/${scale.runs}`);
        const runId = `r${run}`;
        const mockTopics = THROUGHPUT_WORKLOADS.flatMap((w) =>
          ACKS.map((acks) => ({ name: topicName(w.name, acks, `mock-${runId}`), partitions: THROUGHPUT_PARTITIONS })),
        );
        await this.withMock(mockUsable, mockTopics, async (mock) => {
          const targets = this.targets(brooks, mock, runId, partitions);
          if (partitions !== DEFAULT_PARTITIONS) {
            const bootstrap = brooks.get("never")!;
            targets.push(["one-partition", { bootstrap, partitions: DEFAULT_PARTITIONS, runId: `one-${runId}` }]);
          }
          for (const workload of THROUGHPUT_WORKLOADS) {
            for (const acks of ACKS) {
              for (const [kind, target] of targets) await this.runWorkload(kind, target, workload, acks);
            }
          }
          for (const [kind, target] of targets) this.measureBrookClientJoin(kind, target, runId);
        });
      }
    });
  }

  private async runWorkload(kind: TargetKind, target: Target, workload: Workload, acks: Acks): Promise<void> {
    const messages = scaled(workload, this.options.scale);
    const produceKey = `produce/${kind}/${workload.name}/${acks}`;
    const consumeKey = `consume/${kind}/${workload.name}`;
    flushDirtyPages();
    try {
      const result = await this.generator.produceConsume(target, workload, acks, messages);
      this.samples.add(`${produceKey}/msgs`, result.produce.msgsPerSec);
      this.samples.add(`${produceKey}/mb`, result.produce.mbPerSec);
      this.samples.add(`${consumeKey}/msgs`, result.consume.msgsPerSec);
      this.samples.add(`${consumeKey}/mb`, result.consume.mbPerSec);
      this.samples.add(`join/${kind}`, result.joinMs);
      log(
        `  ${workload.name} acks=${acks.padEnd(3)} ${describeTarget(kind).padEnd(20)} ` +
          `produce ${significant(result.produce.msgsPerSec)} msg/s ${significant(result.produce.mbPerSec)} MB/s, ` +
          `consume ${significant(result.consume.msgsPerSec)} msg/s ${significant(result.consume.mbPerSec)} MB/s, ` +
          `first message ${result.joinMs.toFixed(0)} ms after joining`,
      );
    } catch (error) {
      this.samples.fail(`${produceKey}/msgs`);
      this.samples.fail(`${consumeKey}/msgs`);
      log(`  ${workload.name} acks=${acks} ${describeTarget(kind)}: FAILED: ${(error as Error).message}`);
    }
  }

  /** A new group of brook's own client, in a process of its own, on a topic the run filled: see join-brook-client.ts. */
  private measureBrookClientJoin(kind: TargetKind, target: Target, runId: string): void {
    const topic = topicName(BROOK_CLIENT_JOIN_WORKLOAD.name, "1", target.runId);
    try {
      const ms = brookClientFirstMessageMs(target.bootstrap, topic, `brook-client-join-${runId}`, JOIN_TIMEOUT_MS);
      this.samples.add(`join-brook-client/${kind}`, ms);
      log(`  brook's client, new group, ${describeTarget(kind)}: first message ${ms.toFixed(0)} ms after joining`);
    } catch (error) {
      this.samples.fail(`join-brook-client/${kind}`);
      log(`  brook's client, new group, ${describeTarget(kind)}: FAILED: ${(error as Error).message}`);
    }
  }

  /** Runs `work` with brook started under each fsync policy, then stops them and removes their data. */
  private async withBrooks(work: (bootstraps: Map<FsyncMode, string>) => Promise<void>): Promise<void> {
    const running: { brook: BrookProcess; dataDir: string }[] = [];
    try {
      const bootstraps = new Map<FsyncMode, string>();
      for (const fsync of BROOK_MODES) {
        const dataDir = temporaryDirectory(`fsync-${fsync}`);
        const brook = await this.brook(fsync, dataDir);
        running.push({ brook, dataDir });
        bootstraps.set(fsync, brook.bootstrap);
        await this.warmUp(fsync, { bootstrap: brook.bootstrap, partitions: DEFAULT_PARTITIONS, runId: "warm-up" });
      }
      await work(bootstraps);
    } finally {
      for (const { brook, dataDir } of running) {
        await brook.stop();
        rmSync(dataDir, { recursive: true, force: true });
      }
    }
  }

  /** Runs `work` with a mock cluster holding `topics`, or with none when it is not `wanted`. */
  private async withMock(
    wanted: boolean,
    topics: { name: string; partitions: number }[],
    work: (bootstrap: string | undefined) => Promise<void>,
  ): Promise<void> {
    if (!wanted) return work(undefined);
    const warmUpRunId = "mock-warm-up";
    const warmUpTopic = { name: topicName(WARM_UP_WORKLOAD.name, "1", warmUpRunId), partitions: THROUGHPUT_PARTITIONS };
    const mock = await startMockCluster(this.mockBinary!, [...topics, warmUpTopic]);
    try {
      await this.warmUp("mock", { bootstrap: mock.bootstrap, partitions: THROUGHPUT_PARTITIONS, runId: warmUpRunId });
      await work(mock.bootstrap);
    } finally {
      await mock.stop();
    }
  }

  /**
   * An unmeasured produce and consume on a fresh process, so that the runs measure a broker in
   * its steady state rather than one compiling its code and touching its memory for the first
   * time (which costs brook a fresh start's first workload up to half its speed).
   */
  private async warmUp(kind: TargetKind, target: Target): Promise<void> {
    const startedAt = performance.now();
    try {
      await this.generator.produceConsume(target, WARM_UP_WORKLOAD, "1", WARM_UP_MESSAGES);
      log(`  warm-up of ${describeTarget(kind)}: ${((performance.now() - startedAt) / 1000).toFixed(1)} s`);
    } catch (error) {
      log(`  warm-up of ${describeTarget(kind)} FAILED: ${(error as Error).message}`);
    }
  }

  /**
   * Where a run goes: each brook with the run's own topics, then the mock (topics named
   * `mock-<runId>`), all with topics of `partitions` partitions.
   */
  private targets(
    brooks: Map<FsyncMode, string>,
    mock: string | undefined,
    runId: string,
    partitions: number,
  ): [TargetKind, Target][] {
    const targets: [TargetKind, Target][] = [...brooks].map(([fsync, bootstrap]) => [
      fsync,
      { bootstrap, partitions, runId: `${fsync}-${runId}` },
    ]);
    if (mock !== undefined) targets.push(["mock", { bootstrap: mock, partitions, runId: `mock-${runId}` }]);
    return targets;
  }

  /** 10,000 msg/s of 100 B for a while, producer and group consumer running together. */
  private async measureLatency(): Promise<void> {
    const { scale } = this.options;
    await this.withBrooks(async (brooks) => {
      for (let run = 1; run <= scale.runs; run++) {
        log(`latency run ${run}/${scale.runs}: ${LATENCY_RATE} msg/s of 100 B for ${scale.latencySeconds} s`);
        for (const variant of LATENCY_VARIANTS) {
          const runId = `${variant.key}-r${run}`;
          const withMock = variant.withMock && this.mockBinary !== undefined;
          const mockTopics = [{ name: topicName("latency", "1", `mock-${runId}`), partitions: DEFAULT_PARTITIONS }];
          await this.withMock(withMock, mockTopics, async (mock) => {
            for (const [kind, target] of this.targets(brooks, mock, runId, DEFAULT_PARTITIONS)) {
              await this.runLatency(kind, target, variant);
            }
          });
        }
      }
    });
  }

  private async runLatency(
    kind: TargetKind,
    target: Target,
    variant: (typeof LATENCY_VARIANTS)[number],
  ): Promise<void> {
    const options: LatencyOptions = {
      rate: LATENCY_RATE,
      durationSeconds: this.options.scale.latencySeconds,
      fetchWaitMs: kind === "mock" ? MOCK_FETCH_WAIT_MS : DEFAULT_FETCH_WAIT_MS,
      lingerMs: variant.lingerMs,
    };
    const key = `latency/${variant.key}/${kind}`;
    try {
      const result = await this.generator.latency(target, options);
      this.samples.add(`${key}/p50`, result.p50Ms);
      this.samples.add(`${key}/p99`, result.p99Ms);
      this.samples.add(`${key}/max`, result.maxMs);
      log(
        `  ${variant.title}, fetch wait ${options.fetchWaitMs} ms, ${describeTarget(kind).padEnd(20)} ` +
          `p50 ${result.p50Ms.toFixed(2)} ms, p99 ${result.p99Ms.toFixed(2)} ms, max ${result.maxMs.toFixed(2)} ms`,
      );
    } catch (error) {
      this.samples.fail(`${key}/p99`);
      log(`  ${variant.title} ${describeTarget(kind)}: FAILED: ${(error as Error).message}`);
    }
  }

  /**
   * Writes a log several times larger than the broker's memory goal, in steps, reading each
   * step back; RSS after each step must stay flat. Then the broker restarts on that log.
   */
  private async measureLargeLog(): Promise<void> {
    const { scale } = this.options;
    const stepMessages = Math.round(scale.logBytes / LOG_STEPS / LOG_WORKLOAD.size);
    const dataDir = temporaryDirectory("large-log");
    const segmentArgs = ["--segment-bytes", String(LOG_SEGMENT_BYTES)];
    log(
      `large log: ${LOG_STEPS} steps of ${workloadTitle(stepMessages, LOG_WORKLOAD.size)} into one partition ` +
        `(brook --fsync never, segments of ${formatBytes(LOG_SEGMENT_BYTES)}), each read back by the group`,
    );
    const rows: string[][] = [];
    let brook: BrookProcess | undefined;
    try {
      brook = await this.brook("never", dataDir, segmentArgs);
      await sleep(SETTLE_MS);
      rows.push(["empty", "0", formatRss(residentBytes(brook.pid)), ""]);
      const target: Target = { bootstrap: brook.bootstrap, partitions: 1, runId: "large-log" };
      const rssAfterSteps: number[] = [];
      for (let step = 1; step <= LOG_STEPS; step++) {
        const peak = new PeakRss(brook.pid);
        try {
          await this.generator.produceConsume(target, LOG_WORKLOAD, "1", stepMessages);
        } finally {
          peak.stop();
        }
        await sleep(SETTLE_MS);
        const rss = residentBytes(brook.pid);
        if (rss !== undefined) rssAfterSteps.push(rss);
        const logBytes = directoryBytes(dataDir);
        rows.push([`after step ${step}`, formatBytes(logBytes), formatRss(rss), formatRss(peak.bytes)]);
        log(`  step ${step}: log ${formatBytes(logBytes)}, RSS ${formatRss(rss)} (peak ${formatRss(peak.bytes)})`);
      }
      if (rssAfterSteps.length === LOG_STEPS) {
        this.samples.add("logRssHalf", rssAfterSteps[LOG_STEPS / 2 - 1]!);
        this.samples.add("logRssFull", rssAfterSteps[LOG_STEPS - 1]!);
      }
      await brook.stop();

      brook = await this.brook("never", dataDir, segmentArgs);
      await sleep(SETTLE_MS);
      const restartRss = residentBytes(brook.pid);
      this.samples.add("restartStartup", brook.startupMs);
      if (restartRss !== undefined) this.samples.add("restartRss", restartRss);
      rows.push(["restarted on it", formatBytes(directoryBytes(dataDir)), formatRss(restartRss), ""]);
      log(`  restart on the log: ${brook.startupMs.toFixed(0)} ms, idle RSS ${formatRss(restartRss)}`);
    } catch (error) {
      this.samples.fail("logRssFull");
      log(`  large log: FAILED: ${(error as Error).message}`);
    } finally {
      await brook?.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
    this.logRows = rows;
  }

  private printReport(): void {
    const { scale } = this.options;
    const out = (line = "") => process.stdout.write(`${line}\n`);
    const cpuList = cpus();
    out();
    out(`brook broker benchmark${this.options.quick ? " (--quick: workloads at 1/5 size)" : ""}`);
    out(`machine: ${cpuList.length} × ${cpuList[0]?.model.trim() ?? "unknown CPU"}, Node ${process.version}`);
    out(
      `The broker and the load generator share these ${cpuList.length} cores: ` +
        "every figure includes the load generator's own CPU use.",
    );
    out(
      `load average (1 min) ${this.loadAtStart.toFixed(2)} at the start, ${loadavg()[0]!.toFixed(2)} at the end: ` +
        "anything above what the benchmark itself adds means other processes took CPU too",
    );
    out(`load generator: ${this.generator.description}`);
    out(
      "missing" in this.mock
        ? `reference: MISSING (${this.mock.missing}); absolute figures only, no ratios`
        : `reference: librdkafka's mock cluster ${this.mock.binary}, same run, alternating with brook`,
    );
    out(
      `medians of ${scale.runs} run(s); producer linger.ms 5, batch.size 1 MB; ` +
        (this.throughputPartitions === DEFAULT_PARTITIONS
          ? `brook's topics have ${DEFAULT_PARTITIONS} partition`
          : `throughput: brook and the mock on topics of ${THROUGHPUT_PARTITIONS} partitions, each taking a contiguous ` +
            `range of the messages (the mock keeps only 5 MB per partition), and brook also on ${DEFAULT_PARTITIONS} ` +
            `partition, the default, for information; latency and the large log: ${DEFAULT_PARTITIONS} partition`),
    );
    for (const note of this.notes) out(note);
    out();
    if (this.logRows.length > 0) {
      out(`large log (one partition, segments of ${formatBytes(LOG_SEGMENT_BYTES)}, brook --fsync never):`);
      const columns: Column[] = [
        { title: "when" },
        { title: "log on disk", align: "right" },
        { title: "RSS", align: "right" },
        { title: "peak RSS during the step", align: "right" },
      ];
      printTable(columns, this.logRows);
      out();
    }
    printTable(
      [
        { title: "workload" },
        { title: "brook", align: "right" },
        { title: "MB/s", align: "right" },
        { title: "mock", align: "right" },
        { title: "brook/mock", align: "right" },
        { title: "goal" },
        { title: "result" },
      ],
      this.tableRows(),
    );
    out();
    for (const [section, note] of FOOTNOTES) if (this.options.sections.has(section)) out(`- ${note}`);
  }

  private tableRows(): string[][] {
    const { sections, scale } = this.options;
    const rows: string[][] = [];
    const s = this.samples;
    if (sections.has("throughput")) {
      // The one-partition rows exist when the judged rows use the mock's layout instead.
      const kinds: (FsyncMode | "one-partition")[] =
        this.throughputPartitions === DEFAULT_PARTITIONS ? [...BROOK_MODES] : [...BROOK_MODES, "one-partition"];
      const describe = (kind: FsyncMode | "one-partition") =>
        kind === "one-partition" ? `fsync never, ${DEFAULT_PARTITIONS} partition` : `fsync ${kind}`;
      const produceGoal = (kind: FsyncMode | "one-partition") =>
        kind === "never" ? GOALS.produceNever : kind === "always" ? GOALS.produceAlways : undefined;
      for (const kind of kinds) {
        for (const workload of THROUGHPUT_WORKLOADS) {
          const title = workloadTitle(scaled(workload, scale), workload.size);
          for (const acks of ACKS) {
            const key = (target: TargetKind) => `produce/${target}/${workload.name}/${acks}`;
            const row = `produce ${title} acks=${acks}, ${describe(kind)}`;
            rows.push(this.ratioRow(row, key(kind), key("mock"), produceGoal(kind)));
          }
        }
      }
      for (const kind of kinds) {
        for (const workload of THROUGHPUT_WORKLOADS) {
          const title = workloadTitle(scaled(workload, scale), workload.size);
          const key = (target: TargetKind) => `consume/${target}/${workload.name}`;
          const goal = kind === "one-partition" ? undefined : GOALS.consume;
          rows.push(this.ratioRow(`consume ${title} by a group, ${describe(kind)}`, key(kind), key("mock"), goal));
        }
      }
      // Every layout is judged: a group's first fetch is no throughput comparison, and assigning
      // 64 partitions costs the client more requests than 1.
      for (const kind of kinds) {
        rows.push(this.joinRow(`new group's first member: join to first message, ${describe(kind)}`, kind, "join"));
      }
      for (const kind of kinds) {
        rows.push(
          this.joinRow(
            `the same with brook's client (no offset-reset backoff), ${describe(kind)}`,
            kind,
            "join-brook-client",
          ),
        );
      }
    }
    if (sections.has("latency")) {
      for (const variant of LATENCY_VARIANTS) {
        for (const fsync of BROOK_MODES) {
          const key = (kind: TargetKind) => `latency/${variant.key}/${kind}`;
          const brookP99 = s.median(`${key(fsync)}/p99`);
          const mockP99 = s.median(`${key("mock")}/p99`);
          const isGoal = variant.lingerMs === DEFAULT_LINGER_MS;
          rows.push([
            `e2e latency ${LATENCY_RATE / 1000}k msg/s × 100 B, ${variant.title}, fetch wait ${DEFAULT_FETCH_WAIT_MS} ms, fsync ${fsync}`,
            this.latencyCell(key(fsync)),
            "",
            this.latencyCell(key("mock")),
            brookP99 !== undefined && mockP99 !== undefined ? `p99 ${ratio(brookP99 / mockP99)}` : "",
            isGoal ? `p99 ≤ ${GOALS.latencyP99Ms} ms` : "(the broker's share)",
            !isGoal ? "" : brookP99 === undefined ? "FAIL" : passFail(brookP99 <= GOALS.latencyP99Ms),
          ]);
        }
      }
    }
    if (sections.has("startup")) {
      const startup = s.median("startup");
      const rss = s.median("idleRss");
      rows.push(
        absoluteRow("start-up: process start to accepting connections", startup, msText, GOALS.startupMs, "ms"),
      );
      rows.push(absoluteRow("idle RSS after start-up", rss, formatRss, GOALS.idleRssBytes, "bytes"));
    }
    if (sections.has("log")) {
      const half = s.median("logRssHalf");
      const full = s.median("logRssFull");
      if (half === undefined || full === undefined) {
        rows.push(["RSS with a growing log", "failed", "", "", "", "flat", "FAIL"]);
      } else {
        const growth = full - half;
        rows.push([
          `RSS with ${formatBytes(scale.logBytes)} of log vs half that`,
          `${formatRss(full)} vs ${formatRss(half)}`,
          "",
          "",
          "",
          `growth ≤ ${formatBytes(RSS_GROWTH_ALLOWANCE)}`,
          passFail(growth <= RSS_GROWTH_ALLOWANCE),
        ]);
      }
      const restart = s.median("restartStartup");
      rows.push(
        absoluteRow(`start-up on the ${formatBytes(scale.logBytes)} log`, restart, msText, GOALS.startupMs, "ms"),
      );
      rows.push(
        absoluteRow("idle RSS after that start-up", s.median("restartRss"), formatRss, GOALS.idleRssBytes, "bytes"),
      );
    }
    return rows;
  }

  /** A brook figure against the mock's; judged against `goal` (a ratio), or shown for information without one. */
  private ratioRow(title: string, brookKey: string, mockKey: string, goal: number | undefined): string[] {
    const s = this.samples;
    const brook = s.median(`${brookKey}/msgs`);
    const mock = s.median(`${mockKey}/msgs`);
    const goalText = goal === undefined ? "(information)" : `≥ ${goal.toFixed(1)}× mock`;
    const judged = (ok: boolean) => (goal === undefined ? "" : passFail(ok));
    if (brook === undefined) {
      return [title, `failed (${s.failed(`${brookKey}/msgs`)})`, "", "", "", goalText, judged(false)];
    }
    const brookCells = [title, `${significant(brook)} msg/s`, significant(s.median(`${brookKey}/mb`)!)];
    if (mock === undefined) {
      const why = s.failed(`${mockKey}/msgs`) > 0 ? "failed" : "n/a";
      return [...brookCells, why, "", goalText, goal === undefined ? "" : "no reference"];
    }
    const relative = brook / mock;
    return [...brookCells, `${significant(mock)} msg/s`, ratio(relative), goalText, judged(relative >= (goal ?? 0))];
  }

  /** A new group's join to first message (samples under `${prefix}/${kind}`), judged against the goal; the mock's beside it. */
  private joinRow(title: string, kind: TargetKind, prefix: string): string[] {
    const brook = this.samples.median(`${prefix}/${kind}`);
    const mock = this.samples.median(`${prefix}/mock`);
    return [
      title,
      brook === undefined ? "failed" : `${brook.toFixed(0)} ms`,
      "",
      mock === undefined ? "" : `${mock.toFixed(0)} ms`,
      brook !== undefined && mock !== undefined ? ratio(brook / mock) : "",
      `≤ ${GOALS.joinMs} ms`,
      brook === undefined ? "FAIL" : passFail(brook <= GOALS.joinMs),
    ];
  }

  private latencyCell(key: string): string {
    const p50 = this.samples.median(`${key}/p50`);
    const p99 = this.samples.median(`${key}/p99`);
    const max = this.samples.median(`${key}/max`);
    if (p50 === undefined || p99 === undefined || max === undefined) {
      return this.samples.failed(`${key}/p99`) > 0 ? "failed" : "n/a";
    }
    return `${p50.toFixed(1)} / ${p99.toFixed(1)} / ${max.toFixed(0)} ms`;
  }
}

/**
 * How much RSS may grow while the large log doubles (from the middle step to the last): about
 * what one step's buffers and heap growth can leave behind, far below anything that scales with
 * the log (the full run adds 1 GiB to it meanwhile). The first steps are not compared: RSS climbs
 * to a plateau while the allocator and the heap size themselves to the traffic.
 */
const RSS_GROWTH_ALLOWANCE = 32 * MiB;

function absoluteRow(
  title: string,
  value: number | undefined,
  format: (value: number) => string,
  limit: number,
  unit: "ms" | "bytes",
): string[] {
  const goal = unit === "ms" ? `< ${limit} ms` : `< ${significant(limit / MB)} MB`;
  if (value === undefined) return [title, "failed", "", "", "", goal, "FAIL"];
  return [title, format(value), "", "", "", goal, passFail(value < limit)];
}

const msText = (ms: number) => `${ms.toFixed(0)} ms`;
const ratio = (value: number) => `${value.toFixed(2)}×`;
const passFail = (ok: boolean) => (ok ? "pass" : "FAIL");

function formatRss(bytes: number | undefined): string {
  return bytes === undefined ? "n/a" : `${(bytes / MB).toFixed(0)} MB`;
}

/** The highest RSS of a process, sampled every 100 ms until stopped. */
class PeakRss {
  bytes: number | undefined;
  private readonly timer: NodeJS.Timeout;

  constructor(pid: number) {
    this.timer = setInterval(() => {
      const rss = residentBytes(pid);
      if (rss !== undefined && (this.bytes === undefined || rss > this.bytes)) this.bytes = rss;
    }, 100);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

async function main(): Promise<void> {
  const options = parseOptions();
  const generator = chooseLoadGenerator(options);
  let mock: { binary: string } | { missing: string } = { missing: "--no-mock" };
  if (options.mock) {
    const lookup = findSharedTool(MOCK_CLUSTER, options.mockCluster);
    mock = lookup.found ? { binary: lookup.path } : { missing: lookup.why };
  }
  log(`load generator: ${generator.description}`);
  log("missing" in mock ? `mock cluster: missing (${mock.missing})` : `mock cluster: ${mock.binary}`);
  await new BrokerBenchmark(options, generator, mock).run();
}

main().catch((error: unknown) => {
  process.stderr.write(`bench/broker: ${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
  killAll();
});
