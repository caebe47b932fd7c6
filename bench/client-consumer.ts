// Consumer benchmark: brook's Consumer against kafkajs's, each reading the same 1,000,000
// messages of 100 B as the only member of a new consumer group, from the same `brook start`
// process (memory storage). Each client runs in a child process of its own, so its peak RSS is
// its own. brook is measured twice: through poll() (batches) and through the async iterator
// (one message per next()); kafkajs through eachBatch, its fastest path.
//
//   npx tsc -p . && node dist/bench/client-consumer.js
//   BENCH_MESSAGES=200000 BENCH_SIZE=100 BENCH_PARTITIONS=3
//
// The rate is timed from the first message to the last, so group joins (reported apart) and
// process start-up do not count. Both clients fetch up to 1 MiB per partition (kafkajs's
// default, brook's default) and read committed; kafkajs auto-commits as it goes, brook every 5 s.
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { Admin } from "../src/client/admin.js";
import { Consumer } from "../src/client/consumer.js";
import { Producer } from "../src/client/producer.js";
import { startBrokerProcess } from "../test/helpers/broker-process.js";
import { runChild } from "./child-run.js";
import { type Column, formatBytes, printTable, significant } from "./table.js";

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 1_000_000);
const SIZE = Number(process.env.BENCH_SIZE ?? 100);
const PARTITIONS = Number(process.env.BENCH_PARTITIONS ?? 3);
const TOPIC = "bench-consume";
const CLIENTS = ["brook poll()", "brook iterator", "kafkajs eachBatch"] as const;
type Client = (typeof CLIENTS)[number];

interface ChildResult {
  client: Client;
  /** From subscribing to the first message: the group join and the first fetch. */
  firstMessageMs: number;
  /** From the first message to the last. */
  ms: number;
  /** Bytes of values read, to check every message arrived whole. */
  valueBytes: number;
  /** Peak resident set size of the child, in bytes. */
  maxRss: number;
}

interface Timing {
  firstMessageMs: number;
  ms: number;
  valueBytes: number;
}

function brookConsumer(bootstrap: string): Consumer {
  return new Consumer({ brokers: [bootstrap], groupId: `bench-${process.pid}`, autoOffsetReset: "earliest" });
}

async function runBrookPoll(bootstrap: string): Promise<Timing> {
  const consumer = brookConsumer(bootstrap);
  const subscribed = performance.now();
  await consumer.subscribe({ topics: [TOPIC] });
  let count = 0;
  let valueBytes = 0;
  let firstAt = 0;
  while (count < MESSAGES) {
    const batch = await consumer.poll({ maxMessages: 10_000 });
    if (firstAt === 0) firstAt = performance.now();
    for (const message of batch) valueBytes += message.value?.length ?? 0;
    count += batch.length;
  }
  const doneAt = performance.now();
  await consumer.close();
  return { firstMessageMs: firstAt - subscribed, ms: doneAt - firstAt, valueBytes };
}

async function runBrookIterator(bootstrap: string): Promise<Timing> {
  const consumer = brookConsumer(bootstrap);
  const subscribed = performance.now();
  await consumer.subscribe({ topics: [TOPIC] });
  let count = 0;
  let valueBytes = 0;
  let firstAt = 0;
  for await (const message of consumer) {
    if (firstAt === 0) firstAt = performance.now();
    valueBytes += message.value?.length ?? 0;
    if (++count === MESSAGES) break;
  }
  const doneAt = performance.now();
  await consumer.close();
  return { firstMessageMs: firstAt - subscribed, ms: doneAt - firstAt, valueBytes };
}

async function runKafkajs(bootstrap: string): Promise<Timing> {
  const require = createRequire(import.meta.url);
  const { Kafka, logLevel } = require("kafkajs") as typeof import("kafkajs");
  const kafka = new Kafka({ brokers: [bootstrap], logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `bench-${process.pid}` });
  await consumer.connect();
  const subscribed = performance.now();
  await consumer.subscribe({ topics: [TOPIC], fromBeginning: true });
  let count = 0;
  let valueBytes = 0;
  let firstAt = 0;
  const timing = await new Promise<Timing>((resolve) => {
    void consumer.run({
      eachBatch: async ({ batch }) => {
        if (firstAt === 0) firstAt = performance.now();
        for (const message of batch.messages) valueBytes += message.value?.length ?? 0;
        count += batch.messages.length;
        if (count === MESSAGES)
          resolve({ firstMessageMs: firstAt - subscribed, ms: performance.now() - firstAt, valueBytes });
      },
    });
  });
  await consumer.disconnect();
  return timing;
}

async function child(client: Client, bootstrap: string): Promise<void> {
  const run = { "brook poll()": runBrookPoll, "brook iterator": runBrookIterator, "kafkajs eachBatch": runKafkajs }[
    client
  ];
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
  const results: ChildResult[] = [];
  try {
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS }] });
    await fill(broker.bootstrap);
    for (const client of CLIENTS) {
      const result = runChild<ChildResult>(fileURLToPath(import.meta.url), [client, broker.bootstrap]);
      if (result.valueBytes !== MESSAGES * SIZE) {
        throw new Error(`${client} read ${result.valueBytes} bytes of values, expected ${MESSAGES * SIZE}`);
      }
      results.push(result);
    }
  } finally {
    await admin.close();
    await broker.destroy();
  }
  const kafkajs = results.find((r) => r.client === "kafkajs eachBatch") as ChildResult;
  const columns: Column[] = [
    { title: "client" },
    { title: "msgs/s", align: "right" },
    { title: "MB/s", align: "right" },
    { title: "peak RSS", align: "right" },
    { title: "first message after", align: "right" },
    { title: "vs kafkajs", align: "right" },
  ];
  process.stdout.write(
    `${significant(MESSAGES)} messages of ${SIZE} B on ${PARTITIONS} partitions, read by a one-member group; Node ${process.version}\n\n`,
  );
  printTable(
    columns,
    results.map((r) => [
      r.client,
      significant((MESSAGES / r.ms) * 1000),
      significant(((MESSAGES * SIZE) / r.ms / 1e6) * 1000),
      formatBytes(r.maxRss),
      `${significant(r.firstMessageMs)} ms`,
      `${significant(kafkajs.ms / r.ms)}×`,
    ]),
  );
}

const [role, bootstrap] = process.argv.slice(2);
if ((CLIENTS as readonly string[]).includes(role as string)) await child(role as Client, bootstrap as string);
else await main();
