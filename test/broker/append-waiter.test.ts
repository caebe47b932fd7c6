import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { waitForAppend } from "../../src/broker/append-waiter.js";
import { startBroker } from "../../src/testing/index.js";

describe("waiting for appends", () => {
  it("many long polls wait on one broker without a listener-leak warning, and all end when it closes", async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on("warning", onWarning);
    const test = await startBroker();
    try {
      await test.broker.topics.create("polled", { partitions: 1 });
      const log = test.broker.storage.partition("polled", 0);
      assert.ok(log);
      const waits = Array.from({ length: 50 }, () => waitForAppend([log], 60_000, test.broker.shutdown));
      await test.stop();
      await Promise.all(waits); // a shutdown wakes every waiter long before their 60 s
      await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
      assert.deepEqual(
        warnings.map((w) => w.name),
        [],
      );
    } finally {
      process.off("warning", onWarning);
      await test.stop();
    }
  });
});
