// `brook produce` as a user runs it: the real binary against a real broker process, whose
// topics are read back with brook's Consumer. The broker creates no topics on first use, so
// each test creates its own and the unknown-topic answer can be checked too.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Admin } from "../../src/client/admin.js";
import { Consumer, type ConsumerMessage } from "../../src/client/consumer.js";
import { consume } from "../client/consumer/helpers.js";
import { type BrokerProcess, startBrokerProcess } from "../helpers/broker-process.js";
import { spawnCli } from "./helpers/cli-process.js";
import { runCli } from "./helpers/run-cli.js";

type Message = ConsumerMessage<string | null, string | null>;

describe("brook produce", () => {
  let broker: BrokerProcess;
  let admin: Admin;
  let topics = 0;

  before(async () => {
    broker = await startBrokerProcess({ args: ["--memory", "--no-auto-create-topics"] });
    admin = new Admin({ brokers: broker.bootstrap });
  });
  after(async () => {
    await admin?.close();
    await broker?.destroy();
  });

  async function newTopic(partitions = 3): Promise<string> {
    const topic = `produce-${++topics}`;
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions }] });
    return topic;
  }

  const produce = (args: string[], input?: string) =>
    runCli(["produce", "--brokers", broker.bootstrap, ...args], { input });

  /** Every message of the topic, read from the start of each partition, by partition then offset. */
  async function readBack(topic: string, count: number): Promise<Message[]> {
    const [info] = await admin.describeTopics([topic]);
    const consumer = new Consumer<string | null, string | null>({
      brokers: broker.bootstrap,
      autoOffsetReset: "earliest",
      keyDeserializer: "string",
      valueDeserializer: "string",
    });
    try {
      await consumer.assign((info?.partitions ?? []).map(({ partition }) => ({ topic, partition })));
      const messages = await consume(consumer, count, 20_000);
      return messages.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
    } finally {
      await consumer.close();
    }
  }

  const byValue = (messages: Message[]) =>
    [...messages].sort((a, b) => (String(a.value) < String(b.value) ? -1 : String(a.value) > String(b.value) ? 1 : 0));

  it("splits lines at the key separator, sends lines without it with a null key, and keeps empty lines", async () => {
    const topic = await newTopic();
    const result = await produce(
      [topic, "-k", ":", "-H", "source=cli", "--header", "run=a=b"],
      "k1:v1\nk2:v:2\nno key\n\n",
    );
    assert.equal(result.code, 0, result.stderr);
    const read = await readBack(topic, 4);
    assert.deepEqual(
      byValue(read).map((m) => [m.key, m.value]),
      [
        [null, ""],
        [null, "no key"],
        ["k1", "v1"],
        ["k2", "v:2"],
      ],
    );
    for (const message of read) {
      assert.deepEqual(
        message.headers.map((h) => [h.key, h.value?.toString()]),
        [
          ["source", "cli"],
          ["run", "a=b"],
        ],
      );
    }
  });

  it("puts messages with the same key in the same partition", async () => {
    const topic = await newTopic(4);
    const lines = Array.from({ length: 40 }, (_, i) => `key-${i % 4}\t${i}`).join("\n");
    const result = await produce([topic, "--key-separator", "\\t"], lines);
    assert.equal(result.code, 0, result.stderr);
    const partitionOf = new Map<string, number>();
    for (const message of await readBack(topic, 40)) {
      const key = message.key as string;
      assert.equal(partitionOf.get(key) ?? message.partition, message.partition, `${key} in one partition`);
      partitionOf.set(key, message.partition);
    }
    assert.equal(partitionOf.size, 4);
  });

  it("sends every message to --partition and summarises as JSON", async () => {
    const topic = await newTopic(3);
    const result = await produce([topic, "-p", "2", "--json"], "a\nbb\nccc\n");
    assert.equal(result.code, 0, result.stderr);
    const summary = JSON.parse(result.stdout);
    assert.equal(summary.topic, topic);
    assert.equal(summary.messages, 3);
    assert.equal(summary.bytes, 6);
    assert.equal(typeof summary.seconds, "number");
    assert.deepEqual(summary.partitions, { "2": 3 });
    assert.deepEqual(
      (await readBack(topic, 3)).map((m) => [m.partition, m.offset, m.value]),
      [
        [2, 0, "a"],
        [2, 1, "bb"],
        [2, 2, "ccc"],
      ],
    );
  });

  it("prints a one-line summary (and no progress line when stdout is not a terminal)", async () => {
    const topic = await newTopic(1);
    const result = await produce([topic, "-k", "="], "a=1\nb=22\nno-key\n");
    assert.equal(result.code, 0, result.stderr);
    // Keys and values count, separators do not: 1+1 + 1+2 + 6.
    assert.match(
      result.stdout,
      new RegExp(`^produced 3 messages \\(11 B\\) to ${topic} in \\d+\\.\\d{2} s \\([\\d,-]+ msg/s\\)\\n$`),
    );
    assert.equal(result.stderr, "");
  });

  it("skips empty lines with --skip-empty, and reads CRLF lines and a last line without a newline", async () => {
    const topic = await newTopic(1);
    const result = await produce([topic, "--skip-empty", "--json"], "one\r\n\r\n\ntwo\r\nthree");
    assert.equal(result.code, 0, result.stderr);
    assert.equal(JSON.parse(result.stdout).messages, 3);
    assert.deepEqual(
      (await readBack(topic, 3)).map((m) => m.value),
      ["one", "two", "three"],
    );
  });

  it("reads a file given with --file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "brook-produce-"));
    try {
      const topic = await newTopic(2);
      const path = join(dir, "lines.txt");
      const lines = Array.from({ length: 5_000 }, (_, i) => `line ${i} ${"x".repeat(i % 100)}`);
      writeFileSync(path, `${lines.join("\n")}\n`);
      const result = await produce([topic, "-f", path, "--json"]);
      assert.equal(result.code, 0, result.stderr);
      const summary = JSON.parse(result.stdout);
      assert.equal(summary.messages, 5_000);
      assert.equal(
        Object.values(summary.partitions as Record<string, number>).reduce((sum, n) => sum + n, 0),
        5_000,
      );
      const read = await readBack(topic, 5_000);
      assert.deepEqual(new Set(read.map((m) => m.value)), new Set(lines));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  for (const codec of ["none", "gzip", "snappy", "lz4", "zstd"]) {
    it(`round-trips messages compressed with ${codec}`, async () => {
      const topic = await newTopic(1);
      const lines = Array.from({ length: 200 }, (_, i) => `${i}|${codec} ${"payload ".repeat(i % 20)}`);
      const result = await produce([topic, "-z", codec, "-k", "|"], lines.join("\n"));
      assert.equal(result.code, 0, result.stderr);
      const read = await readBack(topic, 200);
      assert.deepEqual(
        read.map((m) => `${m.key}|${m.value}`),
        lines,
      );
    });
  }

  it("sends with --acks 0 and --acks 1", async () => {
    for (const acks of ["0", "1"]) {
      const topic = await newTopic(1);
      const result = await produce([topic, "--acks", acks], "fire\nand\nforget\n");
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /^produced 3 messages/);
      assert.deepEqual(
        (await readBack(topic, 3)).map((m) => m.value),
        ["fire", "and", "forget"],
      );
    }
  });

  it("delivers and summarises what it read when Ctrl-C ends the input", async () => {
    const topic = await newTopic(1);
    const producer = spawnCli(["produce", "--brokers", broker.bootstrap, topic]);
    producer.child.stdin?.write("typed\nby hand\n");
    // Both lines were read and sent while the input stays open.
    assert.deepEqual(
      (await readBack(topic, 2)).map((m) => m.value),
      ["typed", "by hand"],
    );
    const result = await producer.stop("SIGINT");
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`^produced 2 messages \\(12 B\\) to ${topic} in `));
  });

  it("answers an unknown topic (no auto-creation) with one sentence and exit code 1", async () => {
    const result = await produce(["no-such-topic"], "lost\n");
    assert.equal(result.code, 1);
    assert.equal(result.stdout, "");
    assert.match(result.stderr, /^brook: topic 'no-such-topic' does not exist[^\n]*\n$/);
  });

  it("answers a partition the topic lacks, a missing file and an unreachable broker with one sentence", async () => {
    const topic = await newTopic(2);
    const cases = [
      { args: ["produce", "--brokers", broker.bootstrap, topic, "-p", "5"], error: /there is no partition 5/ },
      { args: ["produce", "--brokers", broker.bootstrap, topic, "-f", "/no/such/file"], error: /no such file/ },
      { args: ["produce", "--brokers", "127.0.0.1:1", "--timeout", "2000", topic], error: /cannot reach the cluster/ },
      { args: ["produce", "--brokers", broker.bootstrap, topic, "-H", "no-equals"], error: /name=value/ },
    ];
    for (const { args, error } of cases) {
      const result = await runCli(args, { input: "x\n" });
      assert.equal(result.code, 1, args.join(" "));
      assert.equal(result.stdout, "");
      assert.match(result.stderr, error);
      assert.doesNotMatch(result.stderr, /\n\s+at /, "no stack trace");
    }
  });
});
