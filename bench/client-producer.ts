// Producer benchmark: brook's Producer against kafkajs's and @platformatic/kafka's, each producing
// the same messages to the same `brook start` process (memory storage, so the broker's disk is not
// what is measured). Each client runs in a child process of its own, so its peak RSS is its own;
// @platformatic/kafka's child runs on Node ≥ 22.22 (see child-run.ts), the others on this Node.
//
//   npx tsc -p . && node dist/bench/client-producer.js
//   BENCH_MESSAGES=200000 BENCH_SIZE=100 BENCH_PARTITIONS=3 BENCH_BATCH=1000 BENCH_CONCURRENCY=100
//
// All produce with acks=-1 and no compression, each through its own batching send(): a call
// carries BENCH_BATCH messages and BENCH_CONCURRENCY calls are outstanding at once, no await per
// message. brook with its defaults otherwise (idempotence on, lingerMs 5); kafkajs with its
// Java-compatible partitioner (keyless messages round-robin); @platformatic/kafka with its
// defaults (not idempotent: idempotence caps it at one request in flight) and each send() naming
// one partition in turn, since its default partitioner puts every keyless message in partition 0.
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { Admin } from "../src/client/admin.js";
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

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 1_000_000);
const SIZE = Number(process.env.BENCH_SIZE ?? 100);
const PARTITIONS = Number(process.env.BENCH_PARTITIONS ?? 3);
const PER_SEND = Number(process.env.BENCH_BATCH ?? 1000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 100);
const CLIENTS = ["brook", "kafkajs", "platformatic"] as const satisfies readonly Library[];
type Client = (typeof CLIENTS)[number];

interface ChildResult extends Elapsed {
  client: Client;
  /** Peak resident set size of the child, in bytes. */
  maxRss: number;
}

/** Keeps CONCURRENCY sends outstanding until MESSAGES are sent; `send` gets the send's index. */
async function produceAll(send: (index: number) => Promise<unknown>): Promise<void> {
  const outstanding = new Set<Promise<unknown>>();
  for (let index = 0; index * PER_SEND < MESSAGES; index++) {
    const call = send(index).finally(() => outstanding.delete(call));
    outstanding.add(call);
    if (outstanding.size >= CONCURRENCY) await Promise.race(outstanding);
  }
  await Promise.all(outstanding);
}

/** The same messages for every client: a fresh array per send, one shared SIZE-byte value. */
function messagesOf<T>(message: T): T[] {
  return Array.from({ length: PER_SEND }, () => ({ ...message }));
}

const VALUE = Buffer.alloc(SIZE, "x");

async function runBrook(bootstrap: string, topic: string): Promise<Elapsed> {
  const producer = new Producer({ brokers: [bootstrap] });
  await producer.send({ topic, messages: [{ value: "warm-up" }] });
  const elapsed = stopwatch();
  await produceAll(() => producer.send({ topic, messages: messagesOf({ value: VALUE }) }));
  const timing = elapsed();
  await producer.close();
  return timing;
}

async function runKafkajs(bootstrap: string, topic: string): Promise<Elapsed> {
  const require = createRequire(import.meta.url);
  const { Kafka, Partitioners, logLevel } = require("kafkajs") as typeof import("kafkajs");
  const kafka = new Kafka({ brokers: [bootstrap], logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  await producer.send({ topic, messages: [{ value: "warm-up" }] });
  const elapsed = stopwatch();
  await produceAll(() => producer.send({ topic, acks: -1, messages: messagesOf({ value: VALUE }) }));
  const timing = elapsed();
  await producer.disconnect();
  return timing;
}

async function runPlatformatic(bootstrap: string, topic: string): Promise<Elapsed> {
  const { Producer, ProduceAcks } = await import("@platformatic/kafka");
  const producer = new Producer({ bootstrapBrokers: [bootstrap], clientId: "bench-producer" });
  const acks = ProduceAcks.ALL;
  await producer.send({ acks, messages: [{ topic, value: Buffer.from("warm-up") }] });
  const elapsed = stopwatch();
  await produceAll((index) =>
    producer.send({ acks, messages: messagesOf({ topic, value: VALUE, partition: index % PARTITIONS }) }),
  );
  const timing = elapsed();
  await producer.close();
  return timing;
}

async function child(client: Client, bootstrap: string, topic: string): Promise<void> {
  const run = { brook: runBrook, kafkajs: runKafkajs, platformatic: runPlatformatic }[client];
  const timing = await run(bootstrap, topic);
  const result: ChildResult = { client, ...timing, maxRss: process.resourceUsage().maxRSS * 1024 };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

async function main(): Promise<void> {
  const broker = await startBrokerProcess({ args: ["--memory"] });
  const admin = new Admin({ brokers: [broker.bootstrap] });
  const modernNode = platformaticNode();
  const rows: ClientRow[] = [];
  try {
    for (const client of selectedClients(CLIENTS)) {
      if (client === "platformatic" && modernNode === undefined) {
        rows.push({ name: client, library: client, skipped: PLATFORMATIC_SKIPPED });
        continue;
      }
      const topic = `bench-${client}`;
      await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }] });
      const node = client === "platformatic" ? modernNode : undefined;
      const result = runChild<ChildResult>(fileURLToPath(import.meta.url), [client, broker.bootstrap, topic], {
        node,
      });
      const stored = await admin.listOffsets({ topic, at: "latest" });
      const count = stored.reduce((sum, p) => sum + p.offset, 0);
      if (count !== MESSAGES + 1) throw new Error(`${client}: ${count} messages stored, expected ${MESSAGES + 1}`);
      rows.push({ name: client, library: client, ms: result.ms, cpuMs: result.cpuMs, maxRss: result.maxRss });
    }
  } finally {
    await admin.close();
    await broker.destroy();
  }
  const platformaticOn = modernNode ? `, platformatic on Node ${nodeVersion(modernNode)}` : "";
  process.stdout.write(
    `Produce: ${MESSAGES.toLocaleString("en-US")} messages of ${SIZE} B, ${PARTITIONS} partitions, acks=-1, ` +
      `${PER_SEND} per send, ${CONCURRENCY} sends outstanding; Node ${process.version}${platformaticOn}\n\n`,
  );
  printClientReport(MESSAGES, SIZE, rows, []);
}

const [role, bootstrap, topic] = process.argv.slice(2);
if ((CLIENTS as readonly string[]).includes(role as string))
  await child(role as Client, bootstrap as string, topic as string);
else await main();
