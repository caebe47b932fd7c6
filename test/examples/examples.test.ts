// Runs each example as its users do — compiled programs in child processes, pointed at a broker
// by BROOK_BROKERS — and checks what its consumers received and printed.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { afterEach, beforeEach, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { startBroker, type TestBroker } from "../../src/testing/index.js";
import { eventually } from "../client/consumer/helpers.js";

const EXAMPLES = fileURLToPath(new URL("../../examples/", import.meta.url));
// `npm run example` runs this script from the repository (it is not compiled).
const RUNNER = fileURLToPath(new URL("../../../examples/run.mjs", import.meta.url));
// Generous: two shared cores, and every consumer joins a group first.
const TIMEOUT_MS = 30_000;

/** A running example program and everything it printed so far. */
class ExampleProcess {
  readonly child: ChildProcess;
  output = "";
  readonly exited: Promise<number | null>;

  /** `program`: a compiled example's path under dist/examples without ".js", or any script given as an absolute path. */
  constructor(program: string, args: string[], brokers: string) {
    const script = program.startsWith("/") ? program : `${EXAMPLES}${program}.js`;
    this.child = spawn(process.execPath, [script, ...args], {
      env: { ...process.env, BROOK_BROKERS: brokers },
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      this.output += chunk;
    });
    this.child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
      this.output += chunk;
    });
    this.exited = new Promise((resolve) => this.child.once("exit", (code) => resolve(code)));
  }

  lines(pattern: RegExp): RegExpExecArray[] {
    return this.output.split("\n").flatMap((line) => {
      const match = pattern.exec(line);
      return match ? [match] : [];
    });
  }

  /** Sends a signal and resolves with the exit code. */
  async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<number | null> {
    if (this.child.exitCode === null) this.child.kill(signal);
    return this.exited;
  }
}

const running: ExampleProcess[] = [];

function start(program: string, args: string[], broker: TestBroker): ExampleProcess {
  const example = new ExampleProcess(program, args, broker.bootstrap);
  running.push(example);
  return example;
}

/** Runs a program that finishes by itself; its exit code must be 0. */
async function run(program: string, args: string[], broker: TestBroker): Promise<string> {
  const example = start(program, args, broker);
  const timer = setTimeout(() => example.child.kill("SIGKILL"), TIMEOUT_MS);
  const code = await example.exited;
  clearTimeout(timer);
  assert.equal(code, 0, `${program} failed:\n${example.output}`);
  return example.output;
}

/** Waits for a condition on the programs' output; on timeout, the error shows what they printed. */
async function waitFor(condition: () => boolean, what: string, examples: ExampleProcess[]): Promise<void> {
  try {
    await eventually(condition, what, TIMEOUT_MS);
  } catch (error) {
    const outputs = examples.map((e) => `--- ${e.child.spawnargs[1]}:\n${e.output}`).join("\n");
    throw new Error(`${(error as Error).message}\n${outputs}`);
  }
}

/** The partitions a notifications instance last said it owns. */
function ownedPartitions(instance: ExampleProcess): number[] | undefined {
  const last = instance.lines(/partitions now mine: (.*)$/).at(-1)?.[1];
  if (last === undefined) return undefined;
  return last === "none" ? [] : last.split(", ").map(Number);
}

/** True when the instances' last printed assignments split the 3 partitions between them, each owning one at least. */
function shareAllPartitions(instances: ExampleProcess[]): boolean {
  const owned = instances.map(ownedPartitions);
  if (owned.some((partitions) => partitions === undefined || partitions.length === 0)) return false;
  const all = owned.flatMap((partitions) => partitions ?? []).sort();
  return all.join() === "0,1,2";
}

function emailedOrders(instances: ExampleProcess[]): string[] {
  return instances.flatMap((instance) => instance.lines(/sending email for order (\S+)/).map((m) => m[1] as string));
}

// A broker per test: consumer groups and topics start empty.
let broker: TestBroker;
beforeEach(async () => {
  broker = await startBroker();
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((example) => example.stop("SIGKILL")));
  await broker.stop();
});

describe("web-shop, analytics and notifications", () => {
  test("each consumer group sees every event: analytics counts every order and its revenue, notifications emails every payment", async () => {
    const analytics = start("analytics/analytics", ["--every", "40"], broker);
    const notifications = start("notifications/notifications", [], broker);
    const shop = await run("web-shop/web-shop", ["--orders", "20", "--rate", "100"], broker);

    const [, revenue] = /placed 20 orders, revenue (\$[\d.]+)/.exec(shop) ?? assert.fail(shop);
    // Keyed by order id: both events of an order go to one partition, payment after placement.
    const partitionOfOrder = new Map<string, string>();
    for (const [, orderId, partition, placed, paid] of shop.matchAll(
      /(order-\d+) .* partition (\d), offsets (\d+) and (\d+)/g,
    )) {
      partitionOfOrder.set(orderId as string, partition as string);
      assert.ok(Number(paid) > Number(placed));
    }
    assert.equal(partitionOfOrder.size, 20);
    assert.ok(new Set(partitionOfOrder.values()).size > 1, "20 orders spread over the partitions");

    const totals = `analytics: 40 events, 20 orders, 20 payments, revenue ${revenue}`;
    await waitFor(() => analytics.output.includes(totals), totals, [analytics]);
    await waitFor(() => emailedOrders([notifications]).length >= 20, "20 emails", [notifications]);
    const emails = notifications.lines(/sending email for order (\S+) \(partition (\d)\)/);
    assert.deepEqual(emails.map((m) => m[1]).sort(), [...partitionOfOrder.keys()].sort());
    for (const [, orderId, partition] of emails) assert.equal(partition, partitionOfOrder.get(orderId as string));

    // Stopping leaves the groups cleanly.
    assert.equal(await analytics.stop("SIGINT"), 0);
    assert.match(analytics.output, /analytics: 40 events, .* \(stopped, left the group\)/);
    assert.equal(await notifications.stop("SIGTERM"), 0);
    assert.match(notifications.output, /stopped, left the group/);
  });
});

describe("notifications scaled out", () => {
  test("three instances share the 3 partitions one each; when one stops, the other two take over its partition", async () => {
    const instances = [1, 2, 3].map(() => start("notifications/notifications", [], broker));
    await waitFor(
      () => shareAllPartitions(instances) && instances.every((i) => ownedPartitions(i)?.length === 1),
      "one partition per instance",
      instances,
    );

    const [stopped, ...survivors] = instances as [ExampleProcess, ...ExampleProcess[]];
    const handedOver = ownedPartitions(stopped);
    assert.equal(await stopped.stop("SIGTERM"), 0);
    assert.match(stopped.output, new RegExp(`handing over partitions: ${handedOver?.[0]}`));
    await waitFor(() => shareAllPartitions(survivors), "the survivors owning all 3 partitions", survivors);

    // The survivors now read all of the topic: every payment of new orders gets its email.
    await run("web-shop/web-shop", ["--orders", "12", "--rate", "100"], broker);
    const orders = Array.from({ length: 12 }, (_, i) => `order-${i + 1}`);
    await waitFor(
      () => orders.every((order) => emailedOrders(survivors).includes(order)),
      "an email for each of the 12 orders",
      survivors,
    );
  });
});

describe("log-shipper and monitor", () => {
  test("the monitor counts every shipped line per service and level, and alerts on the failing service only", async () => {
    const shipped = await run(
      "log-monitoring/log-shipper",
      ["--lines", "300", "--rate", "1000", "--failing", "payments"],
      broker,
    );
    const [, counts] = /shipped 300 lines: (.*)$/m.exec(shipped) ?? assert.fail(shipped);
    assert.match(counts as string, /payments info=0 warn=0 error=\d+/);

    // A window longer than the test: every error of a service falls in it.
    const monitor = start("log-monitoring/monitor", ["--every", "300", "--threshold", "20", "--window", "600"], broker);
    const report = `monitor: 300 lines: ${counts}`;
    await waitFor(() => monitor.output.includes(report), report, [monitor]);
    assert.deepEqual(
      monitor.lines(/ALERT (\S+)/).map((m) => m[1]),
      ["payments"],
    );
    assert.equal(await monitor.stop("SIGINT"), 0);
    assert.match(monitor.output, /monitor: stopped after 300 lines/);
  });
});

describe("npm run example", () => {
  test("runs an example by name with its options; --brokers wins over BROOK_BROKERS", async () => {
    // BROOK_BROKERS names a port nothing listens on: only --brokers can make this work.
    const shop = new ExampleProcess(
      RUNNER,
      ["web-shop", "--orders", "3", "--rate", "100", "--brokers", broker.bootstrap],
      "127.0.0.1:1",
    );
    running.push(shop);
    assert.equal(await shop.exited, 0, shop.output);
    assert.match(shop.output, /web-shop: placed 3 orders/);
  });

  test("an unknown name lists the examples", async () => {
    const runner = new ExampleProcess(RUNNER, ["no-such-example"], broker.bootstrap);
    running.push(runner);
    assert.equal(await runner.exited, 2);
    assert.match(runner.output, /examples: analytics, log-shipper, monitor, notifications, web-shop/);
  });

  test("an option an example does not know is one line and exit 2", async () => {
    const runner = new ExampleProcess(RUNNER, ["web-shop", "--colour"], broker.bootstrap);
    running.push(runner);
    assert.equal(await runner.exited, 2);
    assert.equal(runner.output.trim(), "web-shop: Unknown option '--colour'");
  });
});
