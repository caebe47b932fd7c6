import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { it } from "node:test";
import { Producer } from "../../src/client/producer.js";
import { startBroker } from "../../src/testing/index.js";

// docs/testing.md's fault control example is run as written, so the page cannot drift from the API.

const doc = readFileSync(new URL("../../../docs/testing.md", import.meta.url), "utf8");

function firstCodeBlock(section: string): string {
  const start = doc.indexOf(`\n## ${section}\n`);
  assert.notEqual(start, -1, `docs/testing.md has a "${section}" section`);
  const block = /^```ts\n([\s\S]*?)^```$/m.exec(doc.slice(start));
  assert.ok(block?.[1], `the "${section}" section has a code block`);
  return block[1];
}

const AsyncFunction = Object.getPrototypeOf(async () => undefined).constructor as new (
  ...args: string[]
) => (...values: unknown[]) => Promise<void>;

it("the fault controls example of docs/testing.md runs against a real broker", async (t) => {
  const broker = await startBroker();
  t.after(() => broker.stop());
  const producer = new Producer({ brokers: broker.bootstrap, retry: { initialDelayMs: 10, maxDelayMs: 100 } });
  t.after(() => producer.close());
  const example = new AsyncFunction("broker", "producer", "assert", firstCodeBlock("Fault controls"));

  await example(broker, producer, assert);

  assert.deepEqual(
    broker.faults.injected.map((f) => [f.api, f.kind, f.error]),
    [
      ["Produce", "error", "NOT_LEADER_OR_FOLLOWER"],
      ["Produce", "error", "NOT_LEADER_OR_FOLLOWER"],
      ["Produce", "error", "TOPIC_AUTHORIZATION_FAILED"],
    ],
  );
});
