// `brook consume` as a user runs it: the real binary against a real broker process, reading
// messages brook's Producer wrote where the test chose (partition, key, headers, timestamp).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Admin } from "../../src/client/admin.js";
import type { ProducerMessage } from "../../src/client/producer.js";
import { produce } from "../client/consumer/helpers.js";
import { type BrokerProcess, startBrokerProcess } from "../helpers/broker-process.js";
import { spawnCli } from "./helpers/cli-process.js";
import { runCli } from "./helpers/run-cli.js";

const HOUR = 3_600_000;
/** Messages 0-5 are an hour old, 6-9 new; message i is in partition i % 2. */
const NOW = Date.now();
const timestampOf = (i: number) => (i < 6 ? NOW - HOUR : NOW);
const EVENTS: ProducerMessage<string, string>[] = Array.from({ length: 10 }, (_, i) => ({
  key: `k${i}`,
  value: `v${i}`,
  partition: i % 2,
  headers: { n: String(i), kind: "test" },
  timestamp: timestampOf(i),
}));

const lines = (stdout: string) => stdout.split("\n").slice(0, -1);
const sorted = (values: string[]) => [...values].sort();

describe("brook consume", () => {
  let broker: BrokerProcess;
  let admin: Admin;
  let topics = 0;
  const events = "events";

  before(async () => {
    broker = await startBrokerProcess({ args: ["--memory"] });
    admin = new Admin({ brokers: broker.bootstrap });
    await admin.createTopics({ topics: [{ topic: events, numPartitions: 2 }] });
    await produce(broker.bootstrap, events, EVENTS);
  });
  after(async () => {
    await admin?.close();
    await broker?.destroy();
  });

  async function newTopic(partitions = 2): Promise<string> {
    const topic = `consume-${++topics}`;
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions }] });
    return topic;
  }

  const consume = (args: string[]) => runCli(["consume", "--brokers", broker.bootstrap, ...args]);

  async function consumeOk(args: string[]): Promise<string> {
    const result = await consume(args);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, "");
    return result.stdout;
  }

  it("prints every value from the earliest message and exits at the end without --follow", async () => {
    const stdout = await consumeOk([events]);
    assert.deepEqual(
      sorted(lines(stdout)),
      EVENTS.map((m) => m.value),
    );
  });

  it("starts at an offset of one partition with -p and --from <offset>", async () => {
    const stdout = await consumeOk([events, "-p", "1", "--from", "1"]);
    assert.deepEqual(lines(stdout), ["v3", "v5", "v7", "v9"]);
  });

  it("starts at the nearest offset a partition has when --from <offset> is before its first or past its end", async () => {
    const topic = await newTopic(1);
    await produce(broker.bootstrap, topic, [{ value: "a" }, { value: "b" }, { value: "c" }, { value: "d" }]);
    await admin.deleteRecords({ topic, partitions: [{ partition: 0, offset: 2 }] });
    assert.deepEqual(lines(await consumeOk([topic, "--from", "0"])), ["c", "d"]);
    assert.equal(await consumeOk([topic, "--from", "99"]), "");
  });

  it("starts at a time with --from <ISO time> or --from @<epoch ms>", async () => {
    const halfAnHourAgo = NOW - HOUR / 2;
    for (const from of [new Date(halfAnHourAgo).toISOString(), `@${halfAnHourAgo}`]) {
      const stdout = await consumeOk([events, "--from", from]);
      assert.deepEqual(sorted(lines(stdout)), ["v6", "v7", "v8", "v9"], from);
    }
  });

  it("prints nothing and exits with --from latest", async () => {
    assert.equal(await consumeOk([events, "--from", "latest"]), "");
  });

  it("exits after --count messages, with or without --follow", async () => {
    assert.deepEqual(lines(await consumeOk([events, "-p", "0", "-n", "3"])), ["v0", "v2", "v4"]);
    assert.deepEqual(lines(await consumeOk([events, "-p", "1", "--count", "2", "--follow"])), ["v1", "v3"]);
  });

  it("prints each message with a --format template", async () => {
    const stdout = await consumeOk([
      events,
      "-p",
      "0",
      "-n",
      "2",
      "--format",
      "{topic}/{partition}/{offset} {key}={value} [{headers}] {timestamp} {time}\\t{{x}}",
    ]);
    const old = timestampOf(0);
    const iso = new Date(old).toISOString();
    assert.deepEqual(lines(stdout), [
      `events/0/0 k0=v0 [n=0,kind=test] ${old} ${iso}\t{x}`,
      `events/0/1 k2=v2 [n=2,kind=test] ${old} ${iso}\t{x}`,
    ]);
  });

  it("prints one JSON object per line with --json", async () => {
    const stdout = await consumeOk([events, "-p", "1", "--json"]);
    assert.deepEqual(
      lines(stdout).map((line) => JSON.parse(line)),
      [1, 3, 5, 7, 9].map((i, offset) => ({
        topic: events,
        partition: 1,
        offset,
        timestamp: timestampOf(i),
        key: `k${i}`,
        value: `v${i}`,
        headers: [
          { key: "n", value: String(i) },
          { key: "kind", value: "test" },
        ],
      })),
    );
  });

  it("reads several topics at once", async () => {
    const other = await newTopic(1);
    await produce(broker.bootstrap, other, [{ value: "from-other" }]);
    const stdout = await consumeOk([events, other, "--format", "{topic} {value}"]);
    assert.equal(lines(stdout).length, 11);
    assert.ok(lines(stdout).includes(`${other} from-other`));
  });

  it("reads what brook produce wrote, keys and headers included", async () => {
    const topic = await newTopic(1);
    const produced = await runCli(["produce", "--brokers", broker.bootstrap, topic, "-k", "=", "-H", "via=cli"], {
      input: "a=1\nplain\n",
    });
    assert.equal(produced.code, 0, produced.stderr);
    const stdout = await consumeOk([topic, "--json"]);
    assert.deepEqual(
      lines(stdout).map((line) => {
        const { key, value, headers } = JSON.parse(line);
        return { key, value, headers };
      }),
      [
        { key: "a", value: "1", headers: [{ key: "via", value: "cli" }] },
        { key: null, value: "plain", headers: [{ key: "via", value: "cli" }] },
      ],
    );
  });

  it("commits with --group: a second run of the group reads only the new messages", async () => {
    const topic = await newTopic(2);
    await produce(broker.bootstrap, topic, [
      { value: "a", partition: 0 },
      { value: "b", partition: 0 },
      { value: "c", partition: 1 },
    ]);
    assert.deepEqual(sorted(lines(await consumeOk([topic, "--group", "readers"]))), ["a", "b", "c"]);
    await produce(broker.bootstrap, topic, [
      { value: "d", partition: 0 },
      { value: "e", partition: 1 },
    ]);
    assert.deepEqual(sorted(lines(await consumeOk([topic, "-g", "readers"]))), ["d", "e"]);
    assert.equal(await consumeOk([topic, "-g", "readers"]), "");
    // Another group has its own offsets; --from applies where it has committed nothing.
    assert.deepEqual(sorted(lines(await consumeOk([topic, "-g", "others", "--from", "1"]))), ["b", "d", "e"]);
  });

  it("commits exactly what --count printed in a group", async () => {
    const topic = await newTopic(1);
    await produce(
      broker.bootstrap,
      topic,
      ["1", "2", "3", "4", "5"].map((value) => ({ value })),
    );
    assert.deepEqual(lines(await consumeOk([topic, "-g", "counted", "-n", "2"])), ["1", "2"]);
    assert.deepEqual(lines(await consumeOk([topic, "-g", "counted", "-n", "2"])), ["3", "4"]);
    assert.deepEqual(lines(await consumeOk([topic, "-g", "counted"])), ["5"]);
  });

  it("--follow prints messages produced after it started; Ctrl-C exits 0 and commits what it printed", async () => {
    const topic = await newTopic(1);
    await produce(broker.bootstrap, topic, [{ value: "before" }]);
    const follower = spawnCli(["consume", "--brokers", broker.bootstrap, topic, "--group", "followers", "--follow"]);
    try {
      await follower.waitForOutput((out) => out === "before\n", "the message produced before it started");
      await produce(broker.bootstrap, topic, [{ value: "after" }]);
      await follower.waitForOutput((out) => out === "before\nafter\n", "the message produced after it started");
    } finally {
      const result = await follower.stop("SIGINT");
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stderr, "");
    }
    // The group left with its offsets committed: nothing is left to read.
    assert.equal(await consumeOk([topic, "--group", "followers"]), "");
  });

  it("answers a bad --from with one sentence and exit code 1", async () => {
    const result = await consume([events, "--from", "yesterday"]);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, "");
    assert.match(result.stderr, /^brook: --from takes [^\n]*"yesterday"[^\n]*\n$/);
  });

  it("answers other mistakes with one sentence and exit code 1", async () => {
    const cases = [
      {
        args: ["consume", "--brokers", broker.bootstrap, "no-such-topic"],
        error: /^brook: topic 'no-such-topic' does not exist/,
      },
      { args: ["consume", "--brokers", broker.bootstrap, events, "-p", "7"], error: /^brook: .*no partition 7/ },
      {
        args: ["consume", "--brokers", broker.bootstrap, events, "--format", "{nope}"],
        error: /^brook: --format: \{nope\}/,
      },
      { args: ["consume", "--brokers", broker.bootstrap, events, "--json", "--format", "{value}"], error: /^brook: / },
      { args: ["consume", "--brokers", broker.bootstrap, events, "-g", "g", "-p", "0"], error: /^brook: --partition/ },
      {
        args: ["consume", "--brokers", "127.0.0.1:1", "--timeout", "2000", events],
        error: /^brook: cannot reach the cluster/,
      },
    ];
    for (const { args, error } of cases) {
      const result = await runCli(args);
      assert.equal(result.code, 1, args.join(" "));
      assert.equal(result.stdout, "");
      assert.match(result.stderr, error);
      assert.equal(lines(result.stderr).length, 1, `one line: ${result.stderr}`);
    }
  });
});
