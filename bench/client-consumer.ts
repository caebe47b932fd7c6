// Consumer benchmark: brook's Consumer against kafkajs's and @platformatic/kafka's, each reading
// the same 1,000,000 messages of 100 B as the only member of a new consumer group, from the same
// `brook start` process (memory storage). Each client runs in a child process of its own, so its
// peak RSS is its own; @platformatic/kafka's child runs on Node ≥ 22.22 (see child-run.ts), the
// others on this Node. brook is measured twice: through poll() (batches) and through the async
// iterator (one message per next()); kafkajs through eachBatch, its fastest path;
// @platformatic/kafka through its message stream's 'data' events, its fastest path.
//
//   npx tsc -p . && node dist/bench/client-consumer.js
//   BENCH_MESSAGES=200000 BENCH_SIZE=100 BENCH_PARTITIONS=3
//
// The rate is timed from the first message to the last, so group joins (reported apart) and
// process start-up do not count. All clients fetch up to 1 MiB per partition (kafkajs's and
// brook's default; @platformatic/kafka's would be 50 MB) and read committed; kafkajs auto-commits
// after every batch (its default), brook and @platformatic/kafka every 5 s.
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { Admin } from "../src/client/admin.js";
import { Consumer } from "../src/client/consumer.js";
import { Producer } from "../src/client/producer.js";
import { startBrokerProcess } from "../test/helpers/broker-process.js";
import {
  type Elapsed,
  nodeVersion,
  PLATFORMATIC_SKIPPED,
  platformaticNode,
  runChild,
  selectedClients,
  stopwatch,
} from "./child-run.js";
import { type ClientRow, type Library, printClientReport } from "./client-table.js";
import { significant } from "./table.js";

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 1_000_000);
const SIZE = Number(process.env.BENCH_SIZE ?? 100);
const PARTITIONS = Number(process.env.BENCH_PARTITIONS ?? 3);
const TOPIC = "bench-consume";
const CLIENTS = ["brook poll()", "brook iterator", "kafkajs eachBatch", "platformatic stream"] as const;
type Client = (typeof CLIENTS)[number];
const LIBRARY: Record<Client, Library> = {
  "brook poll()": "brook",
  "brook iterator": "brook",
  "kafkajs eachBatch": "kafkajs",
  "platformatic stream": "platformatic",
};
/** One fetch's bytes per partition for every client. */
const PARTITION_FETCH_BYTES = 1024 * 1024;

interface Timing extends Elapsed {
  /** From subscribing to the first message: the group join and the first fetch. */
  firstMessageMs: number;
  /** Bytes of values read, to check every message arrived whole. */
  valueBytes: number;
}

interface ChildResult extends Timing {
  client: Client;
  /** Peak resident set size of the child, in bytes. */
  maxRss: number;
}

/** Counts what a client reads; times it from the first message to the last (`ms`, `cpuMs`). */
class Reading {
  private readonly subscribedAt = performance.now();
  private firstMessageMs = 0;
  private sinceFirst: (() => Elapsed) | undefined;
  private elapsed: Elapsed | undefined;
  private count = 0;
  private valueBytes = 0;

  /** Counts `count` more messages of `valueBytes` value bytes in all; true once MESSAGES have arrived. */
  read(count: number, valueBytes: number): boolean {
    if (this.sinceFirst === undefined) {
      this.firstMessageMs = performance.now() - this.subscribedAt;
      this.sinceFirst = stopwatch();
    }
    this.count += count;
    this.valueBytes += valueBytes;
    if (this.count < MESSAGES) return false;
    this.elapsed ??= this.sinceFirst();
    return true;
  }

  get timing(): Timing {
    if (!this.elapsed) throw new Error(`only ${this.count} of ${MESSAGES} messages were read`);
    return { ...this.elapsed, firstMessageMs: this.firstMessageMs, valueBytes: this.valueBytes };
  }
}

function brookConsumer(bootstrap: string): Consumer {
  return new Consumer({
    brokers: [bootstrap],
    groupId: `bench-${process.pid}`,
    autoOffsetReset: "earliest",
    partitionMaxBytes: PARTITION_FETCH_BYTES,
  });
}

async function runBrookPoll(bootstrap: string): Promise<Timing> {
  const consumer = brookConsumer(bootstrap);
  const reading = new Reading();
  await consumer.subscribe({ topics: [TOPIC] });
  for (;;) {
    const batch = await consumer.poll({ maxMessages: 10_000 });
    let valueBytes = 0;
    for (const message of batch) valueBytes += message.value?.length ?? 0;
    if (reading.read(batch.length, valueBytes)) break;
  }
  await consumer.close();
  return reading.timing;
}

async function runBrookIterator(bootstrap: string): Promise<Timing> {
  const consumer = brookConsumer(bootstrap);
  const reading = new Reading();
  await consumer.subscribe({ topics: [TOPIC] });
  for await (const message of consumer) {
    if (reading.read(1, message.value?.length ?? 0)) break;
  }
  await consumer.close();
  return reading.timing;
}

async function runKafkajs(bootstrap: string): Promise<Timing> {
  const require = createRequire(import.meta.url);
  const { Kafka, logLevel } = require("kafkajs") as typeof import("kafkajs");
  const kafka = new Kafka({ brokers: [bootstrap], logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `bench-${process.pid}`, maxBytesPerPartition: PARTITION_FETCH_BYTES });
  await consumer.connect();
  const reading = new Reading();
  await consumer.subscribe({ topics: [TOPIC], fromBeginning: true });
  await new Promise<void>((resolve) => {
    void consumer.run({
      eachBatch: async ({ batch }) => {
        let valueBytes = 0;
        for (const message of batch.messages) valueBytes += message.value?.length ?? 0;
        if (reading.read(batch.messages.length, valueBytes)) resolve();
      },
    });
  });
  await consumer.disconnect();
  return reading.timing;
}

async function runPlatformatic(bootstrap: string): Promise<Timing> {
  const { Consumer } = await import("@platformatic/kafka");
  const consumer = new Consumer({
    bootstrapBrokers: [bootstrap],
    clientId: "bench-consumer",
    groupId: `bench-${process.pid}`,
    maxBytesPerPartition: PARTITION_FETCH_BYTES,
  });
  const reading = new Reading();
  // A new group has no committed offsets: it starts at the earliest, as the other clients do.
  const stream = await consumer.consume({
    topics: [TOPIC],
    mode: "committed",
    fallbackMode: "earliest",
    autocommit: 5000,
  });
  await new Promise<void>((resolve, reject) => {
    stream.once("error", reject);
    stream.on("data", (message) => {
      if (reading.read(1, message.value?.length ?? 0)) resolve();
    });
  });
  await stream.close();
  await consumer.close();
  return reading.timing;
}

async function child(client: Client, bootstrap: string): Promise<void> {
  const run = {
    "brook poll()": runBrookPoll,
    "brook iterator": runBrookIterator,
    "kafkajs eachBatch": runKafkajs,
    "platformatic stream": runPlatformatic,
  }[client];
  const timing = await run(bootstrap);
  const result: ChildResult = { client, ...timing, maxRss: process.resourceUsage().maxRSS * 1024 };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/** Fills the topic with MESSAGES values of SIZE bytes, spread over its partitions. */
async function fill(bootstrap: string): Promise<void> {
  const producer = new Producer({ brokers: [bootstrap], lingerMs: 20 });
  const value = Buffer.alloc(SIZE, "x");
  const perSend = 10_000;
  const sends: Promise<unknown>[] = [];
  for (let sent = 0; sent < MESSAGES; sent += perSend) {
    const count = Math.min(perSend, MESSAGES - sent);
    sends.push(producer.send({ topic: TOPIC, messages: Array.from({ length: count }, () => ({ value })) }));
  }
  await Promise.all(sends);
  await producer.close();
}

async function main(): Promise<void> {
  const broker = await startBrokerProcess({ args: ["--memory"] });
  const admin = new Admin({ brokers: [broker.bootstrap] });
  const modernNode = platformaticNode();
  const rows: ClientRow[] = [];
  try {
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS }] });
    await fill(broker.bootstrap);
    for (const client of selectedClients(CLIENTS)) {
      const library = LIBRARY[client];
      if (library === "platformatic" && modernNode === undefined) {
        rows.push({ name: client, library, skipped: PLATFORMATIC_SKIPPED });
        continue;
      }
      const node = library === "platformatic" ? modernNode : undefined;
      const result = runChild<ChildResult>(fileURLToPath(import.meta.url), [client, broker.bootstrap], { node });
      if (result.valueBytes !== MESSAGES * SIZE) {
        throw new Error(`${client} read ${result.valueBytes} bytes of values, expected ${MESSAGES * SIZE}`);
      }
      const extra = [`${significant(result.firstMessageMs)} ms`];
      rows.push({ name: client, library, ms: result.ms, cpuMs: result.cpuMs, maxRss: result.maxRss, extra });
    }
  } finally {
    await admin.close();
    await broker.destroy();
  }
  const platformaticOn = modernNode ? `, platformatic on Node ${nodeVersion(modernNode)}` : "";
  process.stdout.write(
    `Consume: ${MESSAGES.toLocaleString("en-US")} messages of ${SIZE} B on ${PARTITIONS} partitions, read by a one-member group; Node ${process.version}${platformaticOn}\n\n`,
  );
  printClientReport(MESSAGES, SIZE, rows, [{ title: "first message after", align: "right" }]);
}

const [role, bootstrap] = process.argv.slice(2);
if ((CLIENTS as readonly string[]).includes(role as string)) await child(role as Client, bootstrap as string);
else await main();
