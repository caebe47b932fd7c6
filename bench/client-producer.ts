// Producer benchmark: brook's Producer against kafkajs's, each producing the same messages to
// the same `brook start` process (memory storage, so the broker's disk is not what is measured).
// Each client runs in a child process of its own, so its peak RSS is its own.
//
//   npx tsc -p . && node dist/bench/client-producer.js
//   BENCH_MESSAGES=200000 BENCH_SIZE=100 BENCH_PARTITIONS=3 BENCH_BATCH=1000 BENCH_CONCURRENCY=100
//
// Both produce with acks=-1 (both clients' default) and no compression; brook with its
// defaults otherwise (idempotence on, lingerMs 5), kafkajs with its Java-compatible partitioner.
// A send() call carries BENCH_BATCH messages and BENCH_CONCURRENCY calls are outstanding at once.
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { Admin } from "../src/client/admin.js";
import { Producer } from "../src/client/producer.js";
import { startBrokerProcess } from "../test/helpers/broker-process.js";
import { runChild } from "./child-run.js";
import { type Column, formatBytes, printTable, significant } from "./table.js";

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 1_000_000);
const SIZE = Number(process.env.BENCH_SIZE ?? 100);
const PARTITIONS = Number(process.env.BENCH_PARTITIONS ?? 3);
const PER_SEND = Number(process.env.BENCH_BATCH ?? 1000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 100);
const CLIENTS = ["brook", "kafkajs"] as const;
type Client = (typeof CLIENTS)[number];

interface ChildResult {
  client: Client;
  ms: number;
  /** Peak resident set size of the child, in bytes. */
  maxRss: number;
}

/** The same messages for both clients: a fresh array per send, one shared 100-byte value. */
function messagesOf(value: Buffer): { value: Buffer }[] {
  return Array.from({ length: PER_SEND }, () => ({ value }));
}

/** Keeps CONCURRENCY sends outstanding until MESSAGES are sent. */
async function produceAll(send: (messages: { value: Buffer }[]) => Promise<unknown>): Promise<void> {
  const value = Buffer.alloc(SIZE, "x");
  const outstanding = new Set<Promise<unknown>>();
  for (let sent = 0; sent < MESSAGES; sent += PER_SEND) {
    const call = send(messagesOf(value)).finally(() => outstanding.delete(call));
    outstanding.add(call);
    if (outstanding.size >= CONCURRENCY) await Promise.race(outstanding);
  }
  await Promise.all(outstanding);
}

async function runBrook(bootstrap: string, topic: string): Promise<number> {
  const producer = new Producer({ brokers: [bootstrap] });
  await producer.send({ topic, messages: [{ value: "warm-up" }] });
  const started = performance.now();
  await produceAll((messages) => producer.send({ topic, messages }));
  const ms = performance.now() - started;
  await producer.close();
  return ms;
}

async function runKafkajs(bootstrap: string, topic: string): Promise<number> {
  const require = createRequire(import.meta.url);
  const { Kafka, Partitioners, logLevel } = require("kafkajs") as typeof import("kafkajs");
  const kafka = new Kafka({ brokers: [bootstrap], logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  await producer.send({ topic, messages: [{ value: "warm-up" }] });
  const started = performance.now();
  await produceAll((messages) => producer.send({ topic, acks: -1, messages }));
  const ms = performance.now() - started;
  await producer.disconnect();
  return ms;
}

async function child(client: Client, bootstrap: string, topic: string): Promise<void> {
  const ms = client === "brook" ? await runBrook(bootstrap, topic) : await runKafkajs(bootstrap, topic);
  const result: ChildResult = { client, ms, maxRss: process.resourceUsage().maxRSS * 1024 };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

async function main(): Promise<void> {
  const broker = await startBrokerProcess({ args: ["--memory"] });
  const admin = new Admin({ brokers: [broker.bootstrap] });
  const results: ChildResult[] = [];
  try {
    for (const client of CLIENTS) {
      const topic = `bench-${client}`;
      await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }] });
      results.push(runChild<ChildResult>(fileURLToPath(import.meta.url), [client, broker.bootstrap, topic]));
      const stored = await admin.listOffsets({ topic, at: "latest" });
      const count = stored.reduce((sum, p) => sum + p.offset, 0);
      if (count !== MESSAGES + 1) throw new Error(`${client}: ${count} messages stored, expected ${MESSAGES + 1}`);
    }
  } finally {
    await admin.close();
    await broker.destroy();
  }
  const kafkajs = results.find((r) => r.client === "kafkajs") as ChildResult;
  const columns: Column[] = [
    { title: "client" },
    { title: "msgs/s", align: "right" },
    { title: "MB/s", align: "right" },
    { title: "peak RSS", align: "right" },
    { title: "vs kafkajs", align: "right" },
  ];
  process.stdout.write(
    `${significant(MESSAGES)} messages of ${SIZE} B, ${PARTITIONS} partitions, acks=-1, ${PER_SEND} per send, ${CONCURRENCY} sends outstanding; Node ${process.version}\n\n`,
  );
  printTable(
    columns,
    results.map((r) => [
      r.client,
      significant((MESSAGES / r.ms) * 1000),
      significant(((MESSAGES * SIZE) / r.ms / 1e6) * 1000),
      formatBytes(r.maxRss),
      `${significant(kafkajs.ms / r.ms)}×`,
    ]),
  );
}

const [role, bootstrap, topic] = process.argv.slice(2);
if (role === "brook" || role === "kafkajs") await child(role, bootstrap as string, topic as string);
else await main();
