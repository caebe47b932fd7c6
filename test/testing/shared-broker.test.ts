import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

// The shared-broker patterns of docs/testing.md for node:test, run for real: a node:test run in a
// child process whose test files find the broker only through BROOK_BROKERS.

const run = promisify(execFile);
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const TEST_FILES = [fixture("produces-to-shared-broker.js"), fixture("produces-to-shared-broker-too.js")];

async function nodeRun(args: string[]): Promise<string> {
  // NODE_TEST_CONTEXT would make the inner `node --test` report to this runner instead of printing.
  const { NODE_TEST_CONTEXT: _inherited, ...env } = process.env;
  const { stdout } = await run(process.execPath, args, { env, timeout: 60_000 });
  return stdout;
}

function brokersUsed(output: string): string[] {
  return [...output.matchAll(/# used broker (\S+)/g)].map((match) => match[1] as string);
}

describe("a shared broker for node:test", () => {
  it("a runner script starts one broker for every test file of the run and stops it at the end", async () => {
    const output = await nodeRun([fixture("run-with-shared-broker.js"), ...TEST_FILES]);

    const runnerBroker = /# runner broker (\S+)/.exec(output)?.[1];
    assert.ok(runnerBroker, output);
    assert.match(output, /# pass 2\n/);
    assert.deepEqual(brokersUsed(output), [runnerBroker, runnerBroker]);
  });

  it("an --import setup module gives each test file's process a broker, stopped after its last test", async () => {
    // The run ending at all proves the brokers were stopped: a listening one keeps its process alive.
    const output = await nodeRun(["--import", fixture("node-test-setup.js"), "--test", ...TEST_FILES]);

    assert.match(output, /# pass 2\n/);
    const used = brokersUsed(output);
    assert.equal(used.length, 2, output);
    for (const address of used) assert.match(address, /^127\.0\.0\.1:\d+$/);
  });
});
