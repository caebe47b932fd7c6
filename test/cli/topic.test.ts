import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Producer } from "../../src/client/producer.js";
import { type BrokerProcess, startBrokerProcess } from "../helpers/broker-process.js";
import { assertOneSentence, runCli, tableRows } from "./helpers/run-cli.js";

/** A failure as scripts and people should see it: exit 1 and one sentence, no stack trace. */
describe("brook topic", () => {
  let broker: BrokerProcess;
  const brook = (...args: string[]) => runCli([...args, "--brokers", broker.bootstrap]);

  before(async () => {
    broker = await startBrokerProcess({ args: ["--no-auto-create-topics"] });
  });
  after(async () => {
    await broker.destroy();
  });

  it("create prints a TOPIC / STATUS table, or JSON, and list shows the topics with their partitions", async () => {
    const created = await brook("topic", "create", "orders", "payments", "-p", "3", "-c", "retention.ms=3600000");
    assert.equal(created.code, 0, created.stderr);
    assert.equal(created.stderr, "");
    assert.equal(created.stdout, "TOPIC     STATUS\norders    OK\npayments  OK\n");

    const json = await brook("topic", "create", "audit", "--json");
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual(JSON.parse(json.stdout), { topics: [{ name: "audit", status: "OK", error: null }] });

    const listed = await brook("topic", "list");
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual(tableRows(listed.stdout), [
      ["audit", "1", "1"],
      ["orders", "3", "1"],
      ["payments", "3", "1"],
    ]);
    assert.match(listed.stdout, /^NAME\s+PARTITIONS\s+REPLICAS\n/);
    const listedJson = await brook("topic", "list", "--json");
    assert.deepEqual(
      JSON.parse(listedJson.stdout).topics.map((t: { name: string; partitions: number }) => [t.name, t.partitions]),
      [
        ["audit", 1],
        ["orders", 3],
        ["payments", 3],
      ],
    );
  });

  it("create --dry-run validates without creating", async () => {
    const result = await brook("topic", "create", "dry", "--dry-run");
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^dry\s+OK \(dry run/m);
    assertOneSentence(await brook("topic", "describe", "dry"), "topic 'dry' does not exist.");
  });

  it("create of an existing topic fails with one sentence; with several topics the table says which", async () => {
    await brook("topic", "create", "taken");
    assertOneSentence(await brook("topic", "create", "taken"), "topic 'taken' already exists.");

    const mixed = await brook("topic", "create", "taken", "fresh");
    assertOneSentence(mixed, "topic 'taken' already exists.");
    assert.deepEqual(tableRows(mixed.stdout), [
      ["taken", "topic 'taken' already exists"],
      ["fresh", "OK"],
    ]);
  });

  it("describe shows the partitions' earliest and latest offsets, and the configs set on the topic", async () => {
    await brook("topic", "create", "described", "-p", "2", "-c", "retention.ms=7200000");
    const producer = new Producer({ brokers: [broker.bootstrap], lingerMs: 0 });
    try {
      await producer.send({
        topic: "described",
        messages: [
          ...Array.from({ length: 5 }, (_, i) => ({ value: `zero-${i}`, partition: 0 })),
          ...Array.from({ length: 2 }, (_, i) => ({ value: `one-${i}`, partition: 1 })),
        ],
      });
    } finally {
      await producer.close();
    }

    const table = await brook("topic", "describe", "described");
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^NAME\s+described$/m);
    assert.match(table.stdout, /^PARTITIONS\s+2$/m);
    assert.match(table.stdout, /^retention\.ms\s+7200000\s+DYNAMIC_TOPIC_CONFIG$/m);
    assert.doesNotMatch(table.stdout, /segment\.bytes/, "defaults only with --all-configs");
    const partitionTable = table.stdout.slice(table.stdout.lastIndexOf("PARTITION "));
    assert.match(partitionTable, /^PARTITION\s+LEADER\s+REPLICAS\s+EARLIEST\s+LATEST\s+MESSAGES\s+SIZE\n/);
    const rows = tableRows(partitionTable);
    assert.deepEqual(
      rows.map((row) => row.slice(0, 6)),
      [
        ["0", "1", "1", "0", "5", "5"],
        ["1", "1", "1", "0", "2", "2"],
      ],
    );
    for (const row of rows) assert.match(row[6] as string, /^\d+ B$/, "each partition's size on disk");

    const json = await brook("topic", "describe", "described", "--json");
    assert.equal(json.code, 0, json.stderr);
    const doc = JSON.parse(json.stdout);
    assert.equal(doc.name, "described");
    assert.equal(doc.partitionCount, 2);
    assert.deepEqual(
      doc.partitions.map((p: { partition: number; earliestOffset: number; latestOffset: number }) => [
        p.partition,
        p.earliestOffset,
        p.latestOffset,
      ]),
      [
        [0, 0, 5],
        [1, 0, 2],
      ],
    );
    // One batch each (a 61-byte header and its records): five records take more room than two.
    const [zero, one] = doc.partitions.map((p: { sizeBytes: number }) => p.sizeBytes);
    assert.ok(one > 61 && zero > one, `sizes ${zero} and ${one}`);
    assert.deepEqual(
      doc.configs.map((c: { name: string; value: string }) => [c.name, c.value]),
      [["retention.ms", "7200000"]],
    );

    const all = await brook("topic", "describe", "described", "--all-configs", "--json");
    const names = JSON.parse(all.stdout).configs.map((c: { name: string }) => c.name);
    assert.ok(names.includes("segment.bytes") && names.includes("retention.ms"), `all configs: ${names}`);
  });

  it("describe of an unknown topic fails with one sentence", async () => {
    assertOneSentence(await brook("topic", "describe", "nowhere"), "topic 'nowhere' does not exist.");
  });

  it("alter-config sets and removes configs, and describe shows the result", async () => {
    await brook("topic", "create", "tuned", "-c", "retention.ms=1000000");
    const altered = await brook("topic", "alter-config", "tuned", "--set", "segment.bytes=1048576", "--json");
    assert.equal(altered.code, 0, altered.stderr);
    assert.deepEqual(JSON.parse(altered.stdout), {
      topic: "tuned",
      changes: [{ name: "segment.bytes", operation: "set", value: "1048576" }],
    });
    const configs = async () => {
      const described = await brook("topic", "describe", "tuned", "--json");
      return JSON.parse(described.stdout).configs.map((c: { name: string; value: string }) => [c.name, c.value]);
    };
    assert.deepEqual(await configs(), [
      ["retention.ms", "1000000"],
      ["segment.bytes", "1048576"],
    ]);

    const removed = await brook("topic", "alter-config", "tuned", "--delete", "retention.ms");
    assert.equal(removed.code, 0, removed.stderr);
    assert.deepEqual(tableRows(removed.stdout), [["retention.ms", "delete", "(default)"]]);
    assert.deepEqual(await configs(), [["segment.bytes", "1048576"]]);

    assertOneSentence(
      await brook("topic", "alter-config", "nowhere", "--set", "retention.ms=1"),
      "topic 'nowhere' does not exist.",
    );
    assertOneSentence(
      await brook("topic", "alter-config", "tuned", "--set", "retention.ms=1", "--delete", "retention.ms"),
      "'retention.ms' cannot be both set and deleted.",
    );
    assertOneSentence(
      await brook("topic", "alter-config", "tuned"),
      "alter-config needs at least one --set key=value or --delete key.",
    );
  });

  it("delete removes topics; describing one afterwards fails, deleting it again too", async () => {
    await brook("topic", "create", "doomed");
    const deleted = await brook("topic", "delete", "doomed");
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.deepEqual(tableRows(deleted.stdout), [["doomed", "OK"]]);
    assertOneSentence(await brook("topic", "describe", "doomed"), "topic 'doomed' does not exist.");
    assertOneSentence(await brook("topic", "delete", "doomed"), "topic 'doomed' does not exist.");
    const several = await brook("topic", "delete", "doomed", "never");
    assertOneSentence(several, "2 of 2 topics failed: 'doomed', 'never'.");
    assert.deepEqual(tableRows(several.stdout), [
      ["doomed", "topic 'doomed' does not exist"],
      ["never", "topic 'never' does not exist"],
    ]);
  });

  it("an unreachable cluster is one sentence and exit 1", async () => {
    const result = await runCli(["topic", "list", "--brokers", "127.0.0.1:1", "--timeout", "2000"]);
    assertOneSentence(result, /^brook: cannot reach the cluster: .*127\.0\.0\.1:1/);
    assert.equal(result.stdout, "");
  });
});
