import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setImmediate as nextTurn } from "node:timers/promises";
import { turnClock } from "../../../src/client/consumer/turn-clock.js";

describe("turnClock", () => {
  it("reads the clock once per event-loop turn", async () => {
    await nextTurn();
    const first = turnClock();
    assert.ok(Math.abs(first - Date.now()) <= 5, "it is the current time when first read in a turn");
    const busyUntil = Date.now() + 20;
    while (Date.now() < busyUntil) await Promise.resolve(); // microtasks: still the same turn
    assert.equal(turnClock(), first);
    await nextTurn();
    assert.ok(turnClock() >= first + 20, "a later turn reads the clock again");
  });
});
