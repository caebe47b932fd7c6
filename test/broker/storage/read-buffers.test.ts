import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ReadBuffers } from "../../../src/broker/storage/read-buffers.js";

const KiB = 1024;

describe("ReadBuffers", () => {
  it("lends a buffer of the length asked for, and lends the same memory again once it is given back", () => {
    const pool = new ReadBuffers(256 * KiB, 64 * KiB, 4);
    const first = pool.lend(100 * KiB);
    assert.equal(first.length, 100 * KiB);
    first.fill(7);
    // What the server gives back is a view of it, as written inside a response.
    pool.giveBack(first.subarray(10, 20));
    assert.equal(pool.freeCount, 1);
    const second = pool.lend(200 * KiB);
    assert.equal(second.length, 200 * KiB);
    assert.equal(second.buffer, first.buffer, "the same memory");
    assert.equal(pool.freeCount, 0);
  });

  it("takes a buffer back once only, and ignores buffers it did not lend", () => {
    const pool = new ReadBuffers(256 * KiB, 64 * KiB, 4);
    const lent = pool.lend(128 * KiB);
    pool.giveBack(lent);
    pool.giveBack(lent.subarray(0, 1));
    assert.equal(pool.freeCount, 1, "a second give-back of the same memory is ignored");
    pool.giveBack(Buffer.allocUnsafeSlow(256 * KiB));
    assert.equal(pool.freeCount, 1, "memory it never lent is not taken");
    const a = pool.lend(128 * KiB);
    const b = pool.lend(128 * KiB);
    assert.notEqual(a.buffer, b.buffer, "two loans at once never share memory");
  });

  it("gives reads too small or too large buffers of their own, and keeps at most maxFree", () => {
    const pool = new ReadBuffers(256 * KiB, 64 * KiB, 2);
    for (const length of [1 * KiB, 63 * KiB, 257 * KiB]) {
      const own = pool.lend(length);
      assert.equal(own.length, length);
      pool.giveBack(own);
      assert.equal(pool.freeCount, 0, `${length} bytes: not pooled`);
    }
    const loans = [pool.lend(64 * KiB), pool.lend(64 * KiB), pool.lend(64 * KiB)];
    for (const loan of loans) pool.giveBack(loan);
    assert.equal(pool.freeCount, 2);
  });
});
